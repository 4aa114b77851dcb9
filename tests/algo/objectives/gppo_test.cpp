// gppo against its formula per element in double precision and its analytic gradient.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "algo/objective_test_util.h"
#include "rlpp/algo/aggregation.h"
#include "rlpp/algo/objectives/gppo.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

using namespace test_util;

TEST(Gppo, PpoValueWithScaledGradientOnClippedTokens) {
  PolicyLossInput in = random_input(15);
  const GppoOptions opts{/*eps_low=*/0.2, /*eps_high=*/0.28, /*beta1=*/0.5, /*beta2=*/0.75};
  const ObjectiveOutput out = gppo_loss(in, opts);
  const torch::Tensor grad = grad_of(in, out);
  int n = 0, n_low = 0, n_high = 0;
  for (int64_t i = 0; i < kB; ++i) {
    for (int64_t t = 0; t < kL; ++t) {
      if (!valid(in, i, t)) continue;
      const double a = val(in.advantages, i, t);
      const double r = std::exp(val(in.logp.detach(), i, t) - val(in.logp_old, i, t));
      const ClipRef ref = clip_ref(r, a, 0.2, 0.28);
      EXPECT_NEAR(val(out.token_loss, i, t), ref.loss, 1e-5);
      const double want = ref.side == 1 ? -0.75 * 1.28 * a : ref.side == -1 ? -0.5 * 0.8 * a : -r * a;
      EXPECT_NEAR(val(grad, i, t), want, 1e-5);
      ++n;
      n_low += ref.side == -1;
      n_high += ref.side == 1;
    }
  }
  ASSERT_GT(n_low, 0);
  ASSERT_GT(n_high, 0);
  EXPECT_NEAR(scalar(out.metrics.at("clipfrac_low")), double(n_low) / n, 1e-6);
  EXPECT_NEAR(scalar(out.metrics.at("clipfrac_high")), double(n_high) / n, 1e-6);
}

}  // namespace
}  // namespace rlpp::algo
