// Env-only throughput of the classic-control batches: items_per_second = environment steps per
// second (batch size x batch steps), inline stepping on one thread, uniformly random actions
// (Box actions drawn 20% beyond the box, so clipping is exercised).
//
//   build-X/bin/rlpp_bench --benchmark_filter=BM_EnvStep
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "rlpp/core/rng.h"
#include "rlpp/env/registry.h"

namespace {

using rlpp::env::VecEnv;

// A few batches of random actions, cycled, so that drawing actions is not part of the timing.
std::vector<float> random_actions(const VecEnv& env, int batches, uint64_t seed) {  // (batches, N, act_dim)
  const auto& space = env.spec().action;
  const int64_t per_batch = env.num_envs() * env.act_dim();
  std::vector<float> actions(static_cast<size_t>(batches * per_batch));
  rlpp::core::Rng rng(seed);
  for (int64_t k = 0; k < batches * per_batch; ++k) {
    if (space.is_discrete()) {
      actions[k] = static_cast<float>(rng.below(static_cast<uint64_t>(space.n)));
    } else {
      const int64_t d = k % space.dim;
      const double lo = space.low[d], hi = space.high[d], pad = 0.2 * (hi - lo) / 2;
      actions[k] = static_cast<float>(rng.uniform(lo - pad, hi + pad));
    }
  }
  return actions;
}

void BM_EnvStep(benchmark::State& state, const std::string& id) {
  const int num_envs = static_cast<int>(state.range(0));
  auto env = rlpp::env::make(id, {/*num_envs=*/num_envs, /*num_threads=*/1});
  env->reset(/*seed=*/1);
  constexpr int kBatches = 16;
  const std::vector<float> actions = random_actions(*env, kBatches, /*seed=*/2);
  const int64_t per_batch = num_envs * env->act_dim();
  int64_t k = 0;
  for (auto _ : state) {
    env->step(actions.data() + (k++ % kBatches) * per_batch);
    benchmark::DoNotOptimize(env->obs());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * num_envs);
}

BENCHMARK_CAPTURE(BM_EnvStep, CartPole, std::string("CartPole-v1"))->Arg(64)->Arg(1024);
BENCHMARK_CAPTURE(BM_EnvStep, Acrobot, std::string("Acrobot-v1"))->Arg(64)->Arg(1024);
BENCHMARK_CAPTURE(BM_EnvStep, MountainCar, std::string("MountainCar-v0"))->Arg(64)->Arg(1024);
BENCHMARK_CAPTURE(BM_EnvStep, MountainCarContinuous, std::string("MountainCarContinuous-v0"))
    ->Arg(64)->Arg(1024);
BENCHMARK_CAPTURE(BM_EnvStep, Pendulum, std::string("Pendulum-v1"))->Arg(64)->Arg(1024);

}  // namespace
