// Helpers shared by the environment tests.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "rlpp/core/rng.h"
#include "rlpp/env/vec_env.h"

namespace rlpp::env::testing {

// Every batch buffer of a VecEnv, copied, for bitwise comparisons.
struct Buffers {
  std::vector<float> obs, reward, final_obs;
  std::vector<uint8_t> terminated, truncated;
  std::vector<double> episode_return;
  std::vector<int> episode_length;

  bool operator==(const Buffers& o) const {
    auto same = [](const auto& a, const auto& b) {
      return a.size() == b.size() &&
             std::memcmp(a.data(), b.data(), a.size() * sizeof(a[0])) == 0;
    };
    return same(obs, o.obs) && same(reward, o.reward) && same(final_obs, o.final_obs) &&
           same(terminated, o.terminated) && same(truncated, o.truncated) &&
           same(episode_return, o.episode_return) && same(episode_length, o.episode_length);
  }
};

inline Buffers snapshot(const VecEnv& env) {
  const size_t n = static_cast<size_t>(env.num_envs());
  const size_t d = static_cast<size_t>(env.obs_dim());
  Buffers b;
  b.obs.assign(env.obs(), env.obs() + n * d);
  b.reward.assign(env.reward(), env.reward() + n);
  b.final_obs.assign(env.final_obs(), env.final_obs() + n * d);
  b.terminated.assign(env.terminated(), env.terminated() + n);
  b.truncated.assign(env.truncated(), env.truncated() + n);
  b.episode_return.assign(env.episode_return(), env.episode_return() + n);
  b.episode_length.assign(env.episode_length(), env.episode_length() + n);
  return b;
}

// A batch of valid random actions for `env` (discrete indices, or box values drawn 50% beyond the
// box so that clipping happens).
inline std::vector<float> random_actions(const VecEnv& env, core::Rng& rng) {  // (N, act_dim)
  const Space& a = env.spec().action;
  std::vector<float> out(static_cast<size_t>(env.num_envs() * env.act_dim()));
  for (size_t k = 0; k < out.size(); ++k) {
    if (a.is_discrete()) {
      out[k] = static_cast<float>(rng.below(static_cast<uint64_t>(a.n)));
    } else {
      const size_t d = k % static_cast<size_t>(a.dim);
      const double lo = a.low[d], hi = a.high[d], pad = 0.5 * (hi - lo) / 2;
      out[k] = static_cast<float>(rng.uniform(lo - pad, hi + pad));
    }
  }
  return out;
}

// Steps `env` `steps` times with random actions from `rng`, returning the buffers after each step.
inline std::vector<Buffers> run(VecEnv& env, core::Rng& rng, int steps) {
  std::vector<Buffers> out;
  for (int t = 0; t < steps; ++t) {
    const std::vector<float> actions = random_actions(env, rng);
    env.step(actions.data());
    out.push_back(snapshot(env));
  }
  return out;
}

inline std::string save_to_string(const VecEnv& env) {
  std::ostringstream out(std::ios::binary);
  env.save(out);
  return out.str();
}

inline void load_from_string(VecEnv& env, const std::string& bytes) {
  std::istringstream in(bytes, std::ios::binary);
  env.load(in);
}

// Relative-or-absolute closeness for comparing double-precision states with a reference.
inline bool close(double a, double b, double tol = 1e-12) {
  const double scale = std::max(1.0, std::max(std::abs(a), std::abs(b)));
  return std::abs(a - b) <= tol * scale;
}

}  // namespace rlpp::env::testing
