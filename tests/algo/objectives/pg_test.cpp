// pg (REINFORCE): the score-function loss and gradient.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "algo/objective_test_util.h"
#include "rlpp/algo/aggregation.h"
#include "rlpp/algo/objectives/pg.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

using namespace test_util;

TEST(Pg, LossAndGradientAreScoreFunction) {
  PolicyLossInput in = random_input(6);
  const ObjectiveOutput out = pg_loss(in, PgOptions{});
  const torch::Tensor grad = grad_of(in, out);
  for (int64_t i = 0; i < kB; ++i) {
    for (int64_t t = 0; t < kL; ++t) {
      const bool valid = val(in.mask, i, t) > 0.5;
      const double a = val(in.advantages, i, t), lp = val(in.logp.detach(), i, t);
      EXPECT_NEAR(val(out.token_loss, i, t), valid ? -a * lp : 0.0, 1e-5);
      EXPECT_NEAR(val(grad, i, t), valid ? -a : 0.0, 1e-6);
    }
  }
  EXPECT_EQ(scalar(out.metrics.at("clipfrac")), 0.0);
  // Without logp_old (plain on-policy REINFORCE) the KL metrics are 0.
  in.logp_old = torch::Tensor();
  EXPECT_EQ(scalar(pg_loss(in, PgOptions{}).metrics.at("approx_kl")), 0.0);
}

}  // namespace
}  // namespace rlpp::algo
