// pg_is: the ratio-weighted score-function gradient.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "algo/objective_test_util.h"
#include "rlpp/algo/aggregation.h"
#include "rlpp/algo/objectives/pg_is.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

using namespace test_util;

TEST(PgIs, GradientIsRatioWeighted) {
  PolicyLossInput in = random_input(7);
  const ObjectiveOutput out = pg_is_loss(in, PgIsOptions{});
  const torch::Tensor grad = grad_of(in, out);
  for (int64_t i = 0; i < kB; ++i) {
    for (int64_t t = 0; t < kL; ++t) {
      const bool valid = val(in.mask, i, t) > 0.5;
      const double a = val(in.advantages, i, t), lp = val(in.logp.detach(), i, t);
      const double r = std::exp(lp - val(in.logp_old, i, t));
      EXPECT_NEAR(val(out.token_loss, i, t), valid ? -r * a * lp : 0.0, 1e-4);
      EXPECT_NEAR(val(grad, i, t), valid ? -r * a : 0.0, 1e-5);
    }
  }
  in.logp_old = torch::Tensor();
  EXPECT_THROW(pg_is_loss(in, PgIsOptions{}), core::UserError);
}

}  // namespace
}  // namespace rlpp::algo
