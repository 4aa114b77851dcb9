// sapo against its formula per element in double precision and its analytic gradient.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "algo/objective_test_util.h"
#include "rlpp/algo/aggregation.h"
#include "rlpp/algo/objectives/sapo.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

using namespace test_util;

TEST(Sapo, SoftGateValueAndGradientWeightOneAtRatioOne) {
  PolicyLossInput in = random_input(13);
  const SapoOptions opts{/*tau_pos=*/1.0, /*tau_neg=*/1.05};
  const ObjectiveOutput out = sapo_loss(in, opts);
  const torch::Tensor grad = grad_of(in, out);
  for (int64_t i = 0; i < kB; ++i) {
    for (int64_t t = 0; t < kL; ++t) {
      if (!valid(in, i, t)) continue;
      const double a = val(in.advantages, i, t);
      const double r = std::exp(val(in.logp.detach(), i, t) - val(in.logp_old, i, t));
      const double tau = a > 0 ? 1.0 : 1.05;
      const double sig = 1.0 / (1.0 + std::exp(-tau * (r - 1)));
      EXPECT_NEAR(val(out.token_loss, i, t), -(4 / tau) * sig * a, 1e-5);
      EXPECT_NEAR(val(grad, i, t), -4 * sig * (1 - sig) * r * a, 1e-5);
    }
  }
  // On-policy (r = 1) the gradient is exactly the policy gradient −A for either temperature.
  PolicyLossInput on = random_input(14);
  on.logp_old = on.logp.detach().clone();
  const torch::Tensor g = grad_of(on, sapo_loss(on, SapoOptions{0.5, 3.0}));
  const torch::Tensor want = torch::where(on.mask > 0.5, -on.advantages, torch::zeros_like(g));
  EXPECT_TRUE(torch::allclose(g, want, 1e-6, 1e-6));
}

}  // namespace
}  // namespace rlpp::algo
