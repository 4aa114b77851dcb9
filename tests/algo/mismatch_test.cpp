// The train–inference mismatch meter against hand values and a double re-derivation: identical
// log-probs read 0, an injected perturbation of known size reads that size, masked positions and
// splitting the batch change nothing.
#include "rlpp/algo/mismatch.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

std::map<std::string, double> as_map(const MismatchSums& s) {
  std::map<std::string, double> m;
  for (const auto& [k, v] : mismatch_metrics(s)) m[k] = v;
  return m;
}

TEST(Mismatch, HandValues) {
  // Δ at the three measured tokens: +0.2, −0.05, −0.3 (the fourth token is masked out).
  const torch::Tensor rec = torch::tensor({{-1.0, -2.0}, {-0.5, -3.0}}, torch::kFloat32);
  const torch::Tensor lrn = torch::tensor({{-0.8, -2.05}, {-0.8, 7.0}}, torch::kFloat32);
  const torch::Tensor mask = torch::tensor({{1.0, 1.0}, {1.0, 0.0}}, torch::kFloat32);
  const auto m = as_map(mismatch_sums(rec, lrn, mask));
  // Δ from the float32 inputs, as the meter sees them.
  const double d[3] = {static_cast<double>(-0.8F) - static_cast<double>(-1.0F),
                       static_cast<double>(-2.05F) - static_cast<double>(-2.0F),
                       static_cast<double>(-0.8F) - static_cast<double>(-0.5F)};
  double k3 = 0;
  for (double x : d) k3 += std::exp(x) - 1.0 - x;
  EXPECT_NEAR(m.at("mismatch/mean_abs"), (0.2 + 0.05 + 0.3) / 3.0, 1e-7);
  EXPECT_NEAR(m.at("mismatch/max_abs"), 0.3, 1e-7);
  EXPECT_NEAR(m.at("mismatch/k3"), k3 / 3.0, 1e-12);
  // by hand: (e^0.2 − 1.2 + e^−0.05 − 0.95 + e^−0.3 − 0.7) / 3 = (0.0214028 + 0.0012294 + 0.0408182) / 3
  EXPECT_NEAR(m.at("mismatch/k3"), 0.0211501, 1e-6);
  EXPECT_DOUBLE_EQ(m.at("mismatch/frac_above_0.1"), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.at("mismatch/tokens"), 3.0);
}

TEST(Mismatch, IdenticalLogProbsReadZero) {
  const torch::Tensor rec = -torch::rand({4, 7}, torch::kFloat32) * 5;
  const auto m = as_map(mismatch_sums(rec, rec.clone(), torch::ones({4, 7})));
  EXPECT_EQ(m.at("mismatch/mean_abs"), 0.0);
  EXPECT_EQ(m.at("mismatch/max_abs"), 0.0);
  EXPECT_EQ(m.at("mismatch/k3"), 0.0);
  EXPECT_EQ(m.at("mismatch/frac_above_0.1"), 0.0);
}

TEST(Mismatch, ReadsAnInjectedPerturbation) {
  // Every measured token shifted by ±0.02 nats, every 5th by ±0.25: the meter must read exactly
  // these sizes (the k3 re-derived in double from the injected Δ).
  torch::manual_seed(3);
  const int64_t B = 6, N = 11;
  const torch::Tensor rec = -torch::rand({B, N}, torch::kFloat64) * 6;
  const torch::Tensor mask = (torch::rand({B, N}) > 0.3).to(torch::kFloat32);
  torch::Tensor delta = torch::zeros({B, N}, torch::kFloat64);
  double n = 0, abs_sum = 0, k3 = 0, above = 0, mx = 0;
  for (int64_t i = 0; i < B; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      const int64_t k = i * N + j;
      const double sign = k % 2 == 0 ? 1.0 : -1.0;
      const double x = sign * (k % 5 == 0 ? 0.25 : 0.02);
      delta[i][j] = x;
      if (mask[i][j].item<float>() == 0) continue;
      n += 1;
      abs_sum += std::abs(x);
      k3 += std::exp(x) - 1.0 - x;
      above += std::abs(x) > 0.1 ? 1 : 0;
      mx = std::max(mx, std::abs(x));
    }
  }
  ASSERT_GT(above, 0);
  const auto m = as_map(mismatch_sums(rec, rec + delta, mask));
  EXPECT_NEAR(m.at("mismatch/mean_abs"), abs_sum / n, 1e-12);
  EXPECT_NEAR(m.at("mismatch/max_abs"), 0.25, 1e-12);
  EXPECT_NEAR(m.at("mismatch/k3"), k3 / n, 1e-12);
  EXPECT_DOUBLE_EQ(m.at("mismatch/frac_above_0.1"), above / n);
  EXPECT_DOUBLE_EQ(m.at("mismatch/tokens"), n);
}

TEST(Mismatch, MaskedPositionsAndSplitsChangeNothing) {
  torch::manual_seed(4);
  const torch::Tensor rec = -torch::rand({5, 9}) * 4, lrn = rec + 0.3 * torch::randn({5, 9});
  const torch::Tensor mask = torch::rand({5, 9}) > 0.4;  // bool
  const MismatchSums whole = mismatch_sums(rec, lrn, mask);
  // Garbage (even −inf) where the mask is 0.
  const torch::Tensor junk = torch::where(mask, lrn, torch::full_like(lrn, -INFINITY));
  const MismatchSums masked = mismatch_sums(rec, junk, mask);
  EXPECT_DOUBLE_EQ(masked.abs_sum, whole.abs_sum);
  EXPECT_DOUBLE_EQ(masked.k3_sum, whole.k3_sum);
  EXPECT_DOUBLE_EQ(masked.abs_max, whole.abs_max);
  // Rows 0..1 and 2..4 (two data-parallel ranks) merged.
  const MismatchSums a = mismatch_sums(rec.slice(0, 0, 2), lrn.slice(0, 0, 2), mask.slice(0, 0, 2));
  const MismatchSums b = mismatch_sums(rec.slice(0, 2), lrn.slice(0, 2), mask.slice(0, 2));
  const MismatchSums ab = merge(a, b);
  EXPECT_DOUBLE_EQ(ab.tokens, whole.tokens);
  EXPECT_NEAR(ab.abs_sum, whole.abs_sum, 1e-12);
  EXPECT_NEAR(ab.k3_sum, whole.k3_sum, 1e-12);
  EXPECT_DOUBLE_EQ(ab.above, whole.above);
  EXPECT_DOUBLE_EQ(ab.abs_max, whole.abs_max);
}

TEST(Mismatch, NoTokensAndBadShapes) {
  const auto m = as_map(mismatch_sums(torch::zeros({2, 3}), torch::ones({2, 3}), torch::zeros({2, 3})));
  EXPECT_TRUE(std::isnan(m.at("mismatch/mean_abs")));
  EXPECT_TRUE(std::isnan(m.at("mismatch/max_abs")));
  EXPECT_EQ(m.at("mismatch/tokens"), 0.0);
  EXPECT_THROW(mismatch_sums(torch::zeros({2, 3}), torch::zeros({2, 4}), torch::ones({2, 3})), core::UserError);
}

}  // namespace
}  // namespace rlpp::algo
