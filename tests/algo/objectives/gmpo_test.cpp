// gmpo against its formula per element in double precision and its analytic gradient.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "algo/objective_test_util.h"
#include "rlpp/algo/aggregation.h"
#include "rlpp/algo/objectives/gmpo.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

using namespace test_util;

TEST(Gmpo, GeometricMeanOfLogClippedRatios) {
  PolicyLossInput in = random_input(18, 1.6);
  const GmpoOptions opts{0.4, 0.4};
  const ObjectiveOutput out = gmpo_loss(in, opts);
  const torch::Tensor g = grad_of(in, out, Aggregation::kSeqMeanTokenMean);
  int n_clipped = 0;
  for (int64_t i = 0; i < kB; ++i) {
    const RowRef ref = row_ref(in, i);
    double sum = 0;
    std::vector<bool> clipped(kL, false);
    for (int64_t t = 0; t < kL; ++t) {
      if (!valid(in, i, t)) continue;
      const double lr = val(in.logp.detach(), i, t) - val(in.logp_old, i, t);
      const double c = std::min(std::max(lr, -0.4), 0.4);
      // Pessimistic in the advantage's direction: the smaller of r·A and clip(r)·A.
      const double chosen = ref.mean_a >= 0 ? std::min(lr, c) : std::max(lr, c);
      clipped[t] = chosen != lr;
      n_clipped += clipped[t];
      sum += chosen;
    }
    const double rho = ref.n > 0 ? std::exp(sum / ref.n) : 1.0;
    for (int64_t t = 0; t < kL; ++t) {
      if (!valid(in, i, t)) {
        EXPECT_EQ(val(g, i, t), 0.0);
        continue;
      }
      EXPECT_NEAR(val(out.token_loss, i, t), -rho * ref.mean_a, 1e-5);
      const double want = clipped[t] ? 0.0 : -rho * ref.mean_a / ref.n / kSeqs;
      EXPECT_NEAR(val(g, i, t), want, 1e-6);
    }
  }
  ASSERT_GT(n_clipped, 0);
}

}  // namespace
}  // namespace rlpp::algo
