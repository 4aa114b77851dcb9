// Potential-based shaping: hand-computed rows and the telescoping identity that keeps the optimal
// policy unchanged.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "rlpp/algo/potential_shaping.h"
#include "rlpp/core/error.h"

using namespace rlpp;

TEST(PotentialShaping, HandComputedRows) {
  // Row 0: 3 valid steps, outcome reward 1 at the end; row 1: 2 valid steps, reward −1.
  const torch::Tensor r = torch::tensor({0.0, 0.0, 1.0, 0.0, -1.0, 0.0}, torch::kDouble).view({2, 3});
  const torch::Tensor v = torch::tensor({0.2, 0.5, 0.9, 7.0, 0.1, -0.3, 9.0, 9.0}, torch::kDouble).view({2, 4});
  const torch::Tensor m = torch::tensor({1.0, 1.0, 1.0, 1.0, 1.0, 0.0}, torch::kDouble).view({2, 3});
  const torch::Tensor s = algo::potential_shaping(r, v, 0.9, m);
  // r'_0 = 0 + 0.9·0.5 − 0.2, r'_1 = 0 + 0.9·0.9 − 0.5, r'_2 = 1 + 0 (terminal) − 0.9.
  EXPECT_NEAR(s[0][0].item<double>(), 0.45 - 0.2, 1e-12);
  EXPECT_NEAR(s[0][1].item<double>(), 0.81 - 0.5, 1e-12);
  EXPECT_NEAR(s[0][2].item<double>(), 1.0 - 0.9, 1e-12);
  // Row 1: r'_0 = 0 + 0.9·(−0.3) − 0.1, r'_1 = −1 + 0 − (−0.3), masked step 0.
  EXPECT_NEAR(s[1][0].item<double>(), -0.27 - 0.1, 1e-12);
  EXPECT_NEAR(s[1][1].item<double>(), -1.0 + 0.3, 1e-12);
  EXPECT_EQ(s[1][2].item<double>(), 0.0);
  // A truncated row keeps the value of its last state: r'_2 = 1 + 0.9·7 − 0.9.
  const torch::Tensor t = algo::potential_shaping(r, v, 0.9, m, /*terminal_after_last=*/false);
  EXPECT_NEAR(t[0][2].item<double>(), 1.0 + 6.3 - 0.9, 1e-12);
}

TEST(PotentialShaping, DiscountedReturnShiftsByTheStartPotential) {
  torch::manual_seed(0);
  const double gamma = 0.8;
  const torch::Tensor r = torch::randn({4, 6}, torch::kDouble), v = torch::randn({4, 7}, torch::kDouble);
  const torch::Tensor s = algo::potential_shaping(r, v, gamma);
  for (int64_t b = 0; b < 4; ++b) {
    double ret = 0, shaped = 0;
    for (int64_t t = 0; t < 6; ++t) {
      ret += std::pow(gamma, t) * r[b][t].item<double>();
      shaped += std::pow(gamma, t) * s[b][t].item<double>();
    }
    EXPECT_NEAR(shaped, ret - v[b][0].item<double>(), 1e-12);  // φ(terminal) = 0
  }
}

TEST(PotentialShaping, BadShapesAreUserErrors) {
  EXPECT_THROW(algo::potential_shaping(torch::zeros({2, 3}), torch::zeros({2, 3}), 1.0), core::UserError);
  EXPECT_THROW(algo::potential_shaping(torch::zeros({2, 3}), torch::zeros({2, 4}), 1.5), core::UserError);
}
