// Every registered policy objective on a language-model-sized batch, B = 256 responses of
// L = 4096 tokens: prepare() on the batch, token losses and metrics, token-mean aggregation and
// backward to log π — one optimizer step's loss work. Counters: tokens/s, peak_MB (CPU tensor
// memory allocated above the inputs during one step) and the time relative to ppo_clip is
// computed by scripts/bench.sh from the JSON output.
//   build/bin/rlpp_bench --benchmark_filter=Objective/
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <string>

#include "memory_tracking.h"
#include "rlpp/algo/aggregation.h"
#include "rlpp/algo/objective.h"

namespace {

using rlpp::algo::PolicyLossInput;

// On the GPU when LibTorch has CUDA (peak_MB then counts only CPU memory and stays ~0).
PolicyLossInput lm_batch(int64_t B, int64_t L) {
  torch::manual_seed(0);
  const torch::Device dev = torch::cuda::is_available() ? torch::kCUDA : torch::kCPU;
  PolicyLossInput in;
  in.logp_old = -torch::rand({B, L}) * 3;                                            // (B, L)
  in.logp = (in.logp_old + (torch::rand({B, L}) - 0.5) * 0.6).requires_grad_(true);  // (B, L)
  in.advantages = torch::randn({B, L});                                              // (B, L)
  in.mask = (torch::rand({B, L}) < 0.8).to(torch::kFloat);                           // (B, L)
  in.entropy = torch::rand({B, L}) * 2;                                              // (B, L)
  in.logp_proxy = in.logp.detach() + torch::rand({B, L}) * 0.5;                      // (B, L)
  if (dev.is_cuda()) {
    in.logp = in.logp.detach().to(dev).requires_grad_(true);
    for (torch::Tensor* t : {&in.logp_old, &in.advantages, &in.mask, &in.entropy, &in.logp_proxy}) *t = t->to(dev);
  }
  return in;
}

void BM_Objective(benchmark::State& state, const std::string& name) {
  auto& memory = rlpp::bench::TrackingCpuAllocator::install();
  const int64_t B = state.range(0), L = state.range(1);
  PolicyLossInput in = lm_batch(B, L);
  const rlpp::algo::AggregationCounts counts = rlpp::algo::aggregation_counts(in.mask);
  auto objective = rlpp::algo::build_default(rlpp::algo::objective_registry(), name);
  size_t peak = 0;
  for (auto _ : state) {
    memory.reset_peak();
    const size_t before = memory.live_bytes();
    objective->prepare(in);
    const rlpp::algo::ObjectiveOutput out = objective->compute(in);
    const torch::Tensor loss =
        rlpp::algo::aggregate_loss(out.token_loss, in.mask, rlpp::algo::Aggregation::kTokenMean, counts);
    loss.backward();
    benchmark::DoNotOptimize(out.metrics.at("clipfrac").item<float>());  // also waits for the GPU
    in.logp.mutable_grad() = torch::Tensor();
    peak = std::max(peak, memory.peak_bytes() - before);
  }
  state.SetItemsProcessed(state.iterations() * B * L);  // tokens
  state.counters["peak_MB"] = static_cast<double>(peak) / (1024.0 * 1024.0);
}

// One benchmark per registry name, so a new objective is measured by registering it.
const bool registered = [] {
  for (const auto& name : rlpp::algo::objective_registry().names()) {
    benchmark::RegisterBenchmark(("Objective/" + name).c_str(), BM_Objective, name)
        ->Args({256, 4096})
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  return true;
}();

}  // namespace
