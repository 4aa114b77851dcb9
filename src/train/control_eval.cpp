#include "rlpp/train/control_eval.h"

#include <cmath>
#include <numeric>
#include <vector>

#include "rlpp/core/error.h"

namespace rlpp::train {

EvalResult evaluate_control_policy(const EnvSection& env, ActorCriticLearner& learner, int episodes, uint64_t seed,
                                   const std::function<void(const float*, int64_t, float*)>& normalize) {
  core::require(episodes >= 1, "--episodes must be at least 1, got " + std::to_string(episodes));
  auto envs = env.make(std::min(episodes, 16));
  const int64_t n = envs->num_envs(), obs_dim = envs->obs_dim(), act_flat = envs->act_dim();
  envs->reset(seed);
  std::vector<float> obs(static_cast<size_t>(n * obs_dim)), act(static_cast<size_t>(n * act_flat)), logp(n), val(n);
  std::vector<double> returns, lengths;
  int begun = static_cast<int>(n);
  std::vector<uint8_t> counting(static_cast<size_t>(n), 1);
  core::Rng unused(0);  // deterministic actions draw nothing
  while (static_cast<int>(returns.size()) < episodes) {
    normalize(envs->obs(), n, obs.data());
    learner.act(obs.data(), n, unused, /*deterministic=*/true, act.data(), logp.data(), val.data());
    envs->step(act.data());
    for (int64_t i = 0; i < n; ++i) {
      if (!(envs->terminated()[i] || envs->truncated()[i])) continue;
      if (counting[i]) {
        returns.push_back(envs->episode_return()[i]);
        lengths.push_back(envs->episode_length()[i]);
      }
      counting[i] = begun < episodes;
      if (counting[i]) ++begun;
    }
  }
  returns.resize(static_cast<size_t>(episodes));
  lengths.resize(static_cast<size_t>(episodes));
  EvalResult r;
  r.episodes = episodes;
  r.mean_return = std::accumulate(returns.begin(), returns.end(), 0.0) / episodes;
  double ss = 0;
  for (double x : returns) ss += (x - r.mean_return) * (x - r.mean_return);
  r.std_return = std::sqrt(ss / episodes);
  r.mean_length = std::accumulate(lengths.begin(), lengths.end(), 0.0) / episodes;
  return r;
}

}  // namespace rlpp::train
