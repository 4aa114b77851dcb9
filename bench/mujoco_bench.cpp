// Env-only throughput of the MuJoCo tasks: items_per_second = environment steps per second
// (batch size × batch steps, each env step being frame_skip mj_step calls), uniformly random
// actions in the box, batch stepped inline (threads 1) or on the pool's threads (threads 2).
//
//   build/bin/rlpp_bench --benchmark_filter=BM_MujocoStep
#ifdef RLPP_HAVE_MUJOCO
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "rlpp/core/rng.h"
#include "rlpp/env/registry.h"

namespace {

void BM_MujocoStep(benchmark::State& state, const std::string& id) {
  const int num_envs = static_cast<int>(state.range(0));
  const int threads = static_cast<int>(state.range(1));
  auto env = rlpp::env::make(id, {/*num_envs=*/num_envs, /*num_threads=*/threads});
  env->reset(/*seed=*/1);
  constexpr int kBatches = 16;
  const auto& box = env->spec().action;
  const int64_t per_batch = num_envs * env->act_dim();
  std::vector<float> actions(static_cast<size_t>(kBatches * per_batch));  // (kBatches, N, act_dim)
  rlpp::core::Rng rng(2);
  for (size_t k = 0; k < actions.size(); ++k) {
    const size_t d = k % static_cast<size_t>(box.dim);
    actions[k] = static_cast<float>(rng.uniform(box.low[d], box.high[d]));
  }
  int64_t k = 0;
  for (auto _ : state) {
    env->step(actions.data() + (k++ % kBatches) * per_batch);
    benchmark::DoNotOptimize(env->obs());
  }
  state.SetItemsProcessed(state.iterations() * num_envs);
}

#define RLPP_MUJOCO_BENCH(name, id) \
  BENCHMARK_CAPTURE(BM_MujocoStep, name, std::string(id))->Args({1, 1})->Args({16, 1})->Args({16, 2})

RLPP_MUJOCO_BENCH(Hopper, "Hopper-v4");
RLPP_MUJOCO_BENCH(HalfCheetah, "HalfCheetah-v4");
RLPP_MUJOCO_BENCH(Walker2d, "Walker2d-v4");
RLPP_MUJOCO_BENCH(Ant, "Ant-v4");
RLPP_MUJOCO_BENCH(Swimmer, "Swimmer-v4");
RLPP_MUJOCO_BENCH(InvertedPendulum, "InvertedPendulum-v4");
RLPP_MUJOCO_BENCH(InvertedDoublePendulum, "InvertedDoublePendulum-v4");
RLPP_MUJOCO_BENCH(Reacher, "Reacher-v4");

}  // namespace
#endif
