// Entropy controls: the bonus against −c·agg(H) by hand, the adaptive coefficient's steps and
// bounds, and the top-entropy mask on hand-computed batches (quantile by hand, masked tokens
// ignored, about ρ of the valid tokens kept).
#include "rlpp/algo/entropy.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

// H = [[0.5, 1.0, 2.0], [3.0, 9.0, 9.0]], the two 9s masked.
TEST(Entropy, BonusIsMinusCoefTimesAggregatedEntropy) {
  const torch::Tensor h = torch::tensor({0.5, 1.0, 2.0, 3.0, 9.0, 9.0}, torch::kDouble).reshape({2, 3});
  const torch::Tensor hg = h.clone().requires_grad_(true);
  const torch::Tensor mask = torch::tensor({1., 1., 1., 1., 0., 0.}, torch::kDouble).reshape({2, 3});
  const torch::Tensor tok = entropy_bonus_token_loss(hg, mask, 0.01);
  const std::vector<double> want_tok = {-0.005, -0.01, -0.02, -0.03, 0.0, 0.0};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(tok.reshape({-1})[i].item<double>(), want_tok[i], 1e-15) << i;
  // token-mean: −0.01·6.5/4; seq-mean-token-mean: −0.01·(3.5/3 + 3/1)/2.
  const AggregationCounts counts = aggregation_counts(mask);
  const torch::Tensor tm = entropy_bonus_loss(hg, mask, 0.01, Aggregation::kTokenMean, counts);
  EXPECT_NEAR(tm.item<double>(), -0.01 * 6.5 / 4, 1e-15);
  EXPECT_NEAR(entropy_bonus_loss(hg, mask, 0.01, Aggregation::kSeqMeanTokenMean, counts).item<double>(),
              -0.01 * (3.5 / 3 + 3.0) / 2, 1e-15);
  tm.backward();
  const std::vector<double> want_grad = {-0.0025, -0.0025, -0.0025, -0.0025, 0.0, 0.0};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(hg.grad().reshape({-1})[i].item<double>(), want_grad[i], 1e-15) << i;
}

TEST(Entropy, AdaptiveCoefficientStepsTowardTargetWithinUnitInterval) {
  AdaptiveEntropyOptions o;
  EXPECT_EQ(o.step, 0.005);
  o.coef = 0.01;
  o.target = 0.3;
  AdaptiveEntropyCoef c(o);
  // Entropy below target: bonus rises by one step per update.
  EXPECT_NEAR(c.update(0.1), 0.015, 1e-15);
  EXPECT_NEAR(c.update(0.29), 0.020, 1e-15);
  // At target: unchanged. Above: falls by one step.
  EXPECT_NEAR(c.update(0.3), 0.020, 1e-15);
  EXPECT_NEAR(c.update(0.5), 0.015, 1e-15);
  // Long above target: stops at 0, never negative.
  for (int i = 0; i < 10; ++i) c.update(2.0);
  EXPECT_EQ(c.coef(), 0.0);
  // Long below target: reaches 1 after 200 steps and stays there.
  for (int i = 0; i < 250; ++i) {
    c.update(0.0);
    EXPECT_GE(c.coef(), 0.0);
    EXPECT_LE(c.coef(), 1.0);
  }
  EXPECT_DOUBLE_EQ(c.coef(), 1.0);
  c.set_coef(3.0);
  EXPECT_EQ(c.coef(), 1.0);
  EXPECT_THROW(c.update(std::nan("")), core::UserError);
  o.min_coef = 0.5;
  o.max_coef = 0.2;
  EXPECT_THROW(AdaptiveEntropyCoef{o}, core::UserError);
}

// Valid H = {1, 2, 3, 4, 5} (masked 100s must not count). Q_0.8 by hand: position 0.8·4 = 3.2,
// 4 + 0.2·(5 − 4) = 4.2, so only the 5 is kept: 1 of 5 = ρ.
TEST(Entropy, TopEntropyMaskHandComputed) {
  const torch::Tensor h = torch::tensor({3.f, 100.f, 1.f, 5.f, 100.f, 2.f, 4.f, 100.f}).reshape({2, 4});
  const torch::Tensor mask = torch::tensor({1.f, 0.f, 1.f, 1.f, 0.f, 1.f, 1.f, 0.f}).reshape({2, 4});
  EXPECT_NEAR(entropy_quantile(h, mask, 0.8), 4.2, 1e-12);
  const torch::Tensor keep = top_entropy_mask(h, mask, 0.2);
  EXPECT_EQ(keep.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::equal(keep, torch::tensor({0.f, 0.f, 0.f, 1.f, 0.f, 0.f, 0.f, 0.f}).reshape({2, 4})));
  // ρ = 0.5: Q_0.5 = 3, keeps {3, 4, 5} (H ≥ Q, ties included).
  EXPECT_TRUE(torch::equal(top_entropy_mask(h, mask, 0.5),
                           torch::tensor({1.f, 0.f, 0.f, 1.f, 0.f, 0.f, 1.f, 0.f}).reshape({2, 4})));
  // ρ = 1 keeps every valid token and only those.
  EXPECT_TRUE(torch::equal(top_entropy_mask(h, mask, 1.0), mask));
  // Without the mask the 100s would dominate: Q_0.8 of all 8 values is 100.
  EXPECT_NEAR(entropy_quantile(h, {}, 0.8), 100.0, 1e-12);
  EXPECT_THROW(top_entropy_mask(h, mask, 0.0), core::UserError);
  EXPECT_THROW(top_entropy_mask(h, mask, 1.5), core::UserError);
}

TEST(Entropy, TopEntropyMaskEmptyMaskKeepsNothing) {
  const torch::Tensor h = torch::rand({2, 3});
  const torch::Tensor keep = top_entropy_mask(h, torch::zeros({2, 3}), 0.2);
  EXPECT_EQ(keep.sum().item<float>(), 0.f);
  EXPECT_TRUE(std::isinf(entropy_quantile(h, torch::zeros({2, 3}), 0.8)));
}

// Random batch with distinct entropies and a ragged mask: the kept count is ρ·N within one token,
// every kept token is valid and has H at least that of every dropped valid token.
TEST(Entropy, TopEntropyMaskKeepsAboutRhoOfValidTokens) {
  std::mt19937 gen(7);
  std::uniform_real_distribution<double> u(0.0, 3.0);
  const int64_t b = 8, l = 50;
  std::vector<float> hv(b * l), mv(b * l, 0.f);
  for (auto& x : hv) x = static_cast<float>(u(gen));
  for (int64_t i = 0; i < b; ++i) {
    for (int64_t t = 0; t < 5 + 5 * i; ++t) mv[i * l + t] = 1.f;  // lengths 5..40
  }
  const torch::Tensor h = torch::tensor(hv).reshape({b, l});
  const torch::Tensor mask = torch::tensor(mv).reshape({b, l});
  const double n_valid = mask.sum().item<double>();
  for (double rho : {0.1, 0.2, 0.5}) {
    const torch::Tensor keep = top_entropy_mask(h, mask, rho);
    const double kept = keep.sum().item<double>();
    EXPECT_NEAR(kept, rho * n_valid, 1.0) << rho;
    EXPECT_EQ((keep * (1 - mask)).sum().item<float>(), 0.f) << rho;
    // min H over kept ≥ max H over dropped valid tokens.
    double min_kept = std::numeric_limits<double>::infinity(), max_dropped = -1;
    for (int64_t k = 0; k < b * l; ++k) {
      if (mv[k] < 0.5f) continue;
      if (keep.reshape({-1})[k].item<float>() > 0.5f) min_kept = std::min(min_kept, double(hv[k]));
      else max_dropped = std::max(max_dropped, double(hv[k]));
    }
    EXPECT_GE(min_kept, max_dropped) << rho;
  }
  // A threshold from the global batch applied to one micro-batch (rows 0..3) equals the
  // corresponding rows of the full-batch mask.
  const double thr = entropy_quantile(h, mask, 0.8);
  using torch::indexing::Slice;
  EXPECT_TRUE(torch::equal(entropy_threshold_mask(h.index({Slice(0, 4)}), mask.index({Slice(0, 4)}), thr),
                           top_entropy_mask(h, mask, 0.2).index({Slice(0, 4)})));
}

}  // namespace
}  // namespace rlpp::algo
