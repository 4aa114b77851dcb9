// The network side of PPO on CartPole shapes (CleanRL: 64-64 tanh actor and critic, 2 actions),
// for both ActorCriticLearner backends ("torch": LibTorch autograd + Adam; "fast": the fused CPU
// path):
//   BM_PpoUpdate  one minibatch update (M = 128): forward, loss, backward, clip, Adam
//   BM_Act        act() on n observations (n = 64 and 4): actor + critic forward and sampling
// One CleanRL CartPole iteration is 4 epochs x 4 minibatches = 16 updates and 128 act() calls on
// 4 envs per 512 environment steps.
//
//   build-X/bin/rlpp_bench --benchmark_filter='BM_PpoUpdate|BM_Act'
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "rlpp/core/rng.h"
#include "rlpp/train/actor_critic_learner.h"

namespace {

using rlpp::train::ActorCriticLearner;

constexpr int64_t kObsDim = 4;
constexpr int64_t kActions = 2;

std::unique_ptr<ActorCriticLearner> make_cartpole_learner(const std::string& backend) {
  rlpp::train::LearnerConfig cfg;
  cfg.obs_dim = kObsDim;
  cfg.act_dim = kActions;
  cfg.discrete = true;
  cfg.policy.backend = backend;
  torch::manual_seed(1);
  return rlpp::train::make_actor_critic_learner(cfg);
}

std::vector<float> normals(int64_t n, float scale, float shift, std::mt19937& gen) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = shift + scale * normal(gen);
  return v;
}

void BM_PpoUpdate(benchmark::State& state, const std::string& backend) {
  const int64_t m = 128;
  auto learner = make_cartpole_learner(backend);
  std::mt19937 gen(3);
  const std::vector<float> obs = normals(m * kObsDim, 1.0f, 0.0f, gen);           // (M, 4)
  std::vector<float> actions(static_cast<size_t>(m));                             // (M)
  for (int64_t i = 0; i < m; ++i) actions[i] = static_cast<float>(i % kActions);
  const std::vector<float> logp_old = normals(m, 0.2f, std::log(0.5f), gen);      // (M)
  const std::vector<float> advantages = normals(m, 1.0f, 0.0f, gen);              // (M)
  const std::vector<float> returns = normals(m, 1.0f, 0.0f, gen);                 // (M)
  const std::vector<float> values_old = normals(m, 0.3f, 0.0f, gen);              // (M)
  const rlpp::train::ControlMinibatch mb{m, obs.data(), actions.data(), logp_old.data(),
                                         advantages.data(), returns.data(), values_old.data()};
  const rlpp::train::PpoLossOptions opts;  // CleanRL defaults: clip 0.2, clipped value loss, norm_adv
  for (auto _ : state) {
    const rlpp::train::UpdateStats s = learner->update(mb, opts, 2.5e-4);
    benchmark::DoNotOptimize(s.policy_loss);
  }
  state.SetItemsProcessed(state.iterations());  // updates
}
BENCHMARK_CAPTURE(BM_PpoUpdate, fast, std::string("fast"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_PpoUpdate, torch, std::string("torch"))->Unit(benchmark::kMicrosecond);

void BM_Act(benchmark::State& state, const std::string& backend) {
  const int64_t n = state.range(0);
  auto learner = make_cartpole_learner(backend);
  std::mt19937 gen(4);
  const std::vector<float> obs = normals(n * kObsDim, 1.0f, 0.0f, gen);  // (n, 4)
  std::vector<float> actions(static_cast<size_t>(n)), logp(static_cast<size_t>(n)), value(static_cast<size_t>(n));
  rlpp::core::Rng rng(5);
  for (auto _ : state) {
    learner->act(obs.data(), n, rng, /*deterministic=*/false, actions.data(), logp.data(), value.data());
    benchmark::DoNotOptimize(actions.data());
  }
  state.SetItemsProcessed(state.iterations() * n);  // observations
}
BENCHMARK_CAPTURE(BM_Act, fast, std::string("fast"))->Arg(64)->Arg(4)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Act, torch, std::string("torch"))->Arg(64)->Arg(4)->Unit(benchmark::kMicrosecond);

}  // namespace
