// PROPS's sampling-error measurement (train/sampling_error.h) on Hopper shapes: θ a 64-64 tanh
// Gaussian policy (obs 11, 3 actions), a B = 2,048-step buffer (CleanRL's batch), 100 Adam steps
// of the head (props.mle_steps):
//   BM_SamplingError/statistics  the Gaussian path (one pass for G, c, s; then O(A·F²) per step)
//   BM_SamplingError/autograd    LibTorch autograd over the B samples per step
//
//   build/bin/rlpp_bench --benchmark_filter=BM_SamplingError
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "rlpp/nn/actor_critic.h"
#include "rlpp/train/sampling_error.h"

namespace {

void BM_SamplingError(benchmark::State& state, bool statistics) {
  torch::manual_seed(1);
  rlpp::nn::MlpPolicyOptions opts;  // 64-64 tanh
  rlpp::nn::ActorCritic theta(11, 3, /*discrete=*/false, opts);
  const int64_t rows = 2048;
  const torch::Tensor obs = torch::randn({rows, 11});
  torch::Tensor actions;
  {
    torch::NoGradGuard no_grad;
    actions = theta->actor_out(obs) + 0.8 * torch::randn({rows, 3});
  }
  for (auto _ : state) {
    const double kl = statistics ? rlpp::train::measure_sampling_error(theta, obs, actions, 100, 1e-2)
                                 : rlpp::train::measure_sampling_error_autograd(theta, obs, actions, 100, 1e-2);
    benchmark::DoNotOptimize(kl);
  }
}

BENCHMARK_CAPTURE(BM_SamplingError, statistics, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_SamplingError, autograd, false)->Unit(benchmark::kMillisecond);

}  // namespace
