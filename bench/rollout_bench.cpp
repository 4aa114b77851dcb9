// Rollout throughput with policy inference: 64 CartPole copies, the actor-critic acting on every
// step (forward pass, sampling, env step), as the PPO trainer collects data. Reports env steps/s.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "rlpp/core/rng.h"
#include "rlpp/env/registry.h"
#include "rlpp/train/actor_critic_learner.h"

namespace {

void BM_RolloutWithPolicy(benchmark::State& state, const std::string& backend) {
  torch::set_num_threads(1);
  torch::manual_seed(1);
  rlpp::env::VecEnvOptions eo;
  eo.num_envs = static_cast<int>(state.range(0));
  auto envs = rlpp::env::make("CartPole-v1", eo);
  envs->reset(1);
  rlpp::train::LearnerConfig lc;
  lc.obs_dim = envs->obs_dim();
  lc.act_dim = envs->spec().action.n;
  lc.discrete = true;
  lc.policy.backend = backend;
  auto learner = rlpp::train::make_actor_critic_learner(lc);
  rlpp::core::Rng rng(1);
  const int64_t n = envs->num_envs();
  std::vector<float> obs(envs->obs(), envs->obs() + n * lc.obs_dim), act(n), logp(n), val(n);
  for (auto _ : state) {
    std::copy(envs->obs(), envs->obs() + n * lc.obs_dim, obs.begin());
    learner->act(obs.data(), n, rng, false, act.data(), logp.data(), val.data());
    envs->step(act.data());
    benchmark::DoNotOptimize(envs->reward());
  }
  state.SetItemsProcessed(state.iterations() * n);
}

BENCHMARK_CAPTURE(BM_RolloutWithPolicy, fast, std::string("fast"))->Arg(64)->Arg(4);
BENCHMARK_CAPTURE(BM_RolloutWithPolicy, torch, std::string("torch"))->Arg(64)->Arg(4);

}  // namespace
