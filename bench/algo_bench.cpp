// PPO-clip objective throughput on a language-model-sized batch: forward (token losses, metrics,
// token-mean aggregation) plus backward to log π.
//   build-X/bin/rlpp_bench --benchmark_filter=PpoClip
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "rlpp/algo/aggregation.h"
#include "rlpp/algo/objective.h"

namespace {

void BM_PpoClipForwardBackward(benchmark::State& state) {
  const int64_t B = state.range(0), L = state.range(1);
  torch::manual_seed(0);
  rlpp::algo::PolicyLossInput in;
  in.logp_old = -torch::rand({B, L}) * 3;                                            // (B, L)
  in.logp = (in.logp_old + (torch::rand({B, L}) - 0.5) * 0.6).requires_grad_(true);  // (B, L)
  in.advantages = torch::randn({B, L});                                              // (B, L)
  in.mask = (torch::rand({B, L}) < 0.8).to(torch::kFloat);                           // (B, L)
  const rlpp::algo::AggregationCounts counts = rlpp::algo::aggregation_counts(in.mask);
  const rlpp::algo::PpoClipOptions opts;
  for (auto _ : state) {
    const rlpp::algo::ObjectiveOutput out = rlpp::algo::ppo_clip_loss(in, opts);
    const torch::Tensor loss =
        rlpp::algo::aggregate_loss(out.token_loss, in.mask, rlpp::algo::Aggregation::kTokenMean, counts);
    loss.backward();
    in.logp.mutable_grad() = torch::Tensor();
    benchmark::DoNotOptimize(out.metrics.at("clipfrac").item<float>());
  }
  state.SetItemsProcessed(state.iterations() * B * L);  // tokens
}
BENCHMARK(BM_PpoClipForwardBackward)->Args({256, 4096})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
