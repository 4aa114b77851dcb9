// Value loss, advantage normalisation and diagnostics against hand values and formulas written
// out in double precision.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "rlpp/algo/normalize.h"
#include "rlpp/algo/stats.h"
#include "rlpp/algo/value_loss.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

double scalar(const torch::Tensor& x) { return x.item<double>(); }

// c = 0.2:
//   V = 1.5, V_old = 1, R = 2:  (V−R)² = 0.25, V_clip = 1.2 -> 0.64; ½·max = 0.32
//   V = 0.5, V_old = 1, R = 0:  0.25, V_clip = 0.8 -> 0.64; 0.32
//   V = 1.1, V_old = 1, R = 2:  0.81, V_clip = 1.1 -> 0.81; 0.405
TEST(ValueLoss, HandComputedClippedAndUnclipped) {
  const torch::Tensor v = torch::tensor({1.5f, 0.5f, 1.1f});
  const torch::Tensor v_old = torch::tensor({1.f, 1.f, 1.f});
  const torch::Tensor ret = torch::tensor({2.f, 0.f, 2.f});
  EXPECT_NEAR(scalar(value_loss(v, ret, v_old, ValueLossOptions{true, 0.2})), (0.32 + 0.32 + 0.405) / 3,
              1e-6);
  EXPECT_NEAR(scalar(value_loss(v, ret, v_old, ValueLossOptions{false, 0.2})), 0.5 * (0.25 + 0.25 + 0.81) / 3,
              1e-6);
  EXPECT_NEAR(scalar(value_loss(v, ret, {}, ValueLossOptions{false, 0.2})), 0.5 * (0.25 + 0.25 + 0.81) / 3,
              1e-6);
  EXPECT_THROW(value_loss(v, ret, {}, ValueLossOptions{true, 0.2}), core::UserError);
}

TEST(ValueLoss, ClippedMatchesFormulaAndGradient) {
  torch::manual_seed(11);
  const int64_t M = 200;
  const torch::Tensor v_old = torch::randn({M});
  const torch::Tensor v = (v_old + torch::randn({M}) * 0.4).requires_grad_(true);
  const torch::Tensor ret = torch::randn({M});
  const double c = 0.25;
  const torch::Tensor loss = value_loss(v, ret, v_old, ValueLossOptions{true, c});
  loss.backward();
  double want = 0;
  for (int64_t i = 0; i < M; ++i) {
    const double vi = v[i].item<double>(), oi = v_old[i].item<double>(), ri = ret[i].item<double>();
    const double vc = oi + std::min(c, std::max(-c, vi - oi));
    const double lu = (vi - ri) * (vi - ri), lc = (vc - ri) * (vc - ri);
    want += 0.5 * std::max(lu, lc) / M;
    // The clipped branch is flat in V when it wins with V outside the band; else d/dV = (V − R)/M.
    const bool clipped_wins = lc > lu && std::abs(vi - oi) > c;
    const double g = clipped_wins ? 0.0 : (lc > lu ? (vc - ri) : (vi - ri)) / M;
    EXPECT_NEAR(v.grad()[i].item<double>(), g, 1e-6) << i;
  }
  EXPECT_NEAR(scalar(loss), want, 1e-6);
}

TEST(ValueLoss, MaskedMean) {
  const torch::Tensor v = torch::tensor({1.f, 2.f, 100.f});
  const torch::Tensor ret = torch::tensor({0.f, 0.f, 0.f});
  const torch::Tensor mask = torch::tensor({1.f, 1.f, 0.f});
  EXPECT_NEAR(scalar(value_loss(v, ret, {}, ValueLossOptions{false, 0.2}, mask)), 0.5 * (1 + 4) / 2, 1e-6);
}

TEST(ExplainedVariance, HandValues) {
  const torch::Tensor y = torch::tensor({1.f, 2.f, 3.f, 4.f});
  EXPECT_NEAR(explained_variance(y, y), 1.0, 1e-12);
  EXPECT_NEAR(explained_variance(torch::full({4}, 2.5f), y), 0.0, 1e-12);
  // y − ŷ = (1, 0, 0, 0): Var = 0.1875; Var(y) = 1.25 -> 1 − 0.15.
  EXPECT_NEAR(explained_variance(torch::tensor({0.f, 2.f, 3.f, 4.f}), y), 0.85, 1e-12);
  // ŷ = −y: Var(2y) = 4·Var(y) -> −3.
  EXPECT_NEAR(explained_variance(-y, y), -3.0, 1e-12);
  EXPECT_TRUE(std::isnan(explained_variance(y, torch::full({4}, 7.f))));
}

TEST(NormalizeAdvantages, HandValuesWithUnbiasedStd) {
  // mean 2, unbiased std 1.
  const torch::Tensor a = normalize_advantages(torch::tensor({1.f, 2.f, 3.f}));
  const double s = 1.0 + kAdvantageNormEps;
  EXPECT_NEAR(a[0].item<double>(), -1 / s, 1e-7);
  EXPECT_NEAR(a[1].item<double>(), 0.0, 1e-7);
  EXPECT_NEAR(a[2].item<double>(), 1 / s, 1e-7);
  // Masked element ignored and returned as 0.
  const torch::Tensor m =
      normalize_advantages(torch::tensor({1.f, 2.f, 3.f, 1e6f}), torch::tensor({1.f, 1.f, 1.f, 0.f}));
  EXPECT_NEAR(m[0].item<double>(), -1 / s, 1e-7);
  EXPECT_EQ(m[3].item<double>(), 0.0);
  // One element: no spread, 0 rather than NaN.
  EXPECT_EQ(normalize_advantages(torch::tensor({5.f}))[0].item<double>(), 0.0);
}

TEST(NormalizeAdvantages, MatchesFormulaOnRandomData) {
  torch::manual_seed(12);
  const torch::Tensor x = torch::randn({64}) * 3 + 1;
  const torch::Tensor out = normalize_advantages(x);
  double mean = 0, var = 0;
  for (int64_t i = 0; i < 64; ++i) mean += x[i].item<double>() / 64;
  for (int64_t i = 0; i < 64; ++i) var += std::pow(x[i].item<double>() - mean, 2) / 63;
  for (int64_t i = 0; i < 64; ++i) {
    EXPECT_NEAR(out[i].item<double>(), (x[i].item<double>() - mean) / (std::sqrt(var) + 1e-8), 1e-5);
  }
}

TEST(Stats, MaskedMeanAndEntropy) {
  const torch::Tensor h = torch::tensor({0.5f, 1.5f, 1e9f, 2.f}).reshape({2, 2});
  const torch::Tensor mask = torch::tensor({1.f, 1.f, 0.f, 1.f}).reshape({2, 2});
  EXPECT_NEAR(scalar(entropy_mean(h, mask)), 4.0 / 3, 1e-6);
  EXPECT_EQ(scalar(masked_mean(h, torch::zeros({2, 2}))), 0.0);
  EXPECT_THROW(masked_mean(h, torch::ones({4})), core::UserError);
}

}  // namespace
}  // namespace rlpp::algo
