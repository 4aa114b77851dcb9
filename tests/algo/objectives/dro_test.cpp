// dro against its formula per element in double precision and its analytic gradient.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "algo/objective_test_util.h"
#include "rlpp/algo/aggregation.h"
#include "rlpp/algo/objectives/dro.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

using namespace test_util;

TEST(Dro, QuadraticLogRatioPenalty) {
  PolicyLossInput in = random_input(17);
  const ObjectiveOutput out = dro_loss(in, DroOptions{0.3});
  const torch::Tensor grad = grad_of(in, out);
  for (int64_t i = 0; i < kB; ++i) {
    for (int64_t t = 0; t < kL; ++t) {
      if (!valid(in, i, t)) continue;
      const double lp = val(in.logp.detach(), i, t), a = val(in.advantages, i, t);
      const double lr = lp - val(in.logp_old, i, t);
      EXPECT_NEAR(val(out.token_loss, i, t), -(a * lp - 0.15 * lr * lr), 1e-5);
      EXPECT_NEAR(val(grad, i, t), -a + 0.3 * lr, 1e-5);
    }
  }
}

}  // namespace
}  // namespace rlpp::algo
