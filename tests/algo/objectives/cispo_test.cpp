// cispo against its formula per element in double precision and its analytic gradient.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "algo/objective_test_util.h"
#include "rlpp/algo/aggregation.h"
#include "rlpp/algo/objectives/cispo.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

using namespace test_util;

TEST(Cispo, WeightIsCappedRatioAndClippedTokensKeepGradient) {
  PolicyLossInput in = random_input(12, 4.0);  // ratios up to e^2 so the cap at 5 binds... sometimes
  in.logp_old = (in.logp_old - 2.0 * (torch::rand({kB, kL}) < 0.2)).detach();
  const CispoOptions opts{/*eps_max=*/5.0, /*min_ratio=*/0.3};
  const ObjectiveOutput out = cispo_loss(in, opts);
  const torch::Tensor grad = grad_of(in, out);
  int n = 0, n_cap = 0, n_ppo_clipped = 0;
  for (int64_t i = 0; i < kB; ++i) {
    for (int64_t t = 0; t < kL; ++t) {
      if (!valid(in, i, t)) continue;
      const double lp = val(in.logp.detach(), i, t), a = val(in.advantages, i, t);
      const double r = std::exp(lp - val(in.logp_old, i, t));
      const double c = std::min(std::max(r, 0.3), 5.0);
      EXPECT_NEAR(val(out.token_loss, i, t), -c * a * lp, 1e-4 * (1 + std::abs(c * a * lp)));
      EXPECT_NEAR(val(grad, i, t), -c * a, 1e-4 * (1 + std::abs(c * a)));
      if (clip_ref(r, a, 0.2, 0.2).side != 0) {
        ++n_ppo_clipped;
        EXPECT_NE(val(grad, i, t), 0.0) << "token PPO would clip lost its gradient";
      }
      ++n;
      n_cap += (r > 5.0 || r < 0.3);
    }
  }
  ASSERT_GT(n_ppo_clipped, 0);
  ASSERT_GT(n_cap, 0);
  EXPECT_NEAR(scalar(out.metrics.at("cispo_capfrac")), double(n_cap) / n, 1e-6);
  EXPECT_EQ(scalar(out.metrics.at("clipfrac")), 0.0);
}

}  // namespace
}  // namespace rlpp::algo
