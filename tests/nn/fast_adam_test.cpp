// nn::FastAdam against LibTorch's own clip_grad_norm_ + optim::Adam on the same parameters and
// gradients, over several steps, with the clip active and inactive.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rlpp/nn/fast_adam.h"

namespace rlpp::nn {
namespace {

TEST(FastAdam, MatchesLibTorchClipAndAdam) {
  for (double max_norm : {0.05, 100.0}) {
    SCOPED_TRACE("max_norm " + std::to_string(max_norm));
    torch::manual_seed(3);
    const int64_t n = 37;  // not a multiple of the 8-lane sum
    torch::Tensor p = torch::randn({n}).set_requires_grad(true);
    torch::optim::Adam ref({p}, torch::optim::AdamOptions(3e-3).eps(1e-5));
    AlignedFloats mine(static_cast<size_t>(n));
    std::copy_n(p.data_ptr<float>(), n, mine.data());
    FastAdam adam(n, 1e-5);
    for (int step = 0; step < 6; ++step) {
      const torch::Tensor g = torch::randn({n}) * (step + 1);
      p.mutable_grad() = g.clone();
      const double want_norm = torch::nn::utils::clip_grad_norm_(std::vector<torch::Tensor>{p}, max_norm);
      ref.step();
      const double got_norm = adam.clip_and_step(mine.data(), g.data_ptr<float>(), max_norm, 3e-3);
      EXPECT_NEAR(got_norm, want_norm, 1e-5 * want_norm);
      for (int64_t k = 0; k < n; ++k) ASSERT_NEAR(mine[k], p[k].item<float>(), 1e-6) << "step " << step << " k " << k;
    }
    EXPECT_EQ(adam.step(), 6);
  }
}

}  // namespace
}  // namespace rlpp::nn
