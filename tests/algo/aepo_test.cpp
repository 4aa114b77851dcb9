// AEPO regulariser: temperature choice around the target, the token loss −α·R·log π and its
// gradient by hand (also through a softmax, against −α·R·(onehot − softmax) written out), masking.
#include "rlpp/algo/aepo.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <vector>

#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

// Double tensor copied from a vector (from_blob + clone: no per-element conversion path).
torch::Tensor from_vec(const std::vector<double>& v) {
  return torch::from_blob(const_cast<double*>(v.data()), {static_cast<int64_t>(v.size())}, torch::kDouble).clone();
}

TEST(Aepo, TemperatureFollowsEntropyAgainstTarget) {
  const AepoOptions o;
  EXPECT_EQ(o.target, 0.5);
  EXPECT_EQ(aepo_temperature(0.1, o), 1.2);
  EXPECT_EQ(aepo_temperature(0.4999999, o), 1.2);
  EXPECT_EQ(aepo_temperature(0.5, o), 1.2);  // at the target: the high one (the authors' `<=`)
  EXPECT_EQ(aepo_temperature(0.5000001, o), 0.8);
  EXPECT_EQ(aepo_temperature(3.0, o), 0.8);
  AepoOptions p;
  p.target = 1.0;
  p.t_high = 1.5;
  p.t_low = 0.7;
  EXPECT_EQ(aepo_temperature(0.9, p), 1.5);
  EXPECT_EQ(aepo_temperature(1.1, p), 0.7);
  EXPECT_THROW(aepo_temperature(std::nan(""), o), core::UserError);
}

// The authors' selection: advantage > 0.05 gets weight 1, at most 60 rows while raising entropy and
// 30 while lowering it, in row order.
TEST(Aepo, RolloutWeightsSelectPositiveAdvantagesUpToTheCap) {
  AepoOptions o;
  EXPECT_EQ(o.select_threshold, 0.05);
  EXPECT_EQ(o.max_samples, 60);
  o.max_samples = 4;  // 4 while raising, 2 while lowering
  const torch::Tensor a = torch::tensor({0.5, 0.05, -1.0, 0.06, 2.0, 0.0, 1.0, 0.3}, torch::kDouble);
  const torch::Tensor up = aepo_rollout_weights(a, /*mean_entropy=*/0.2, o);
  const std::vector<float> want_up = {1, 0, 0, 1, 1, 0, 1, 0};  // 0.05 is not above the threshold
  const torch::Tensor down = aepo_rollout_weights(a, /*mean_entropy=*/0.9, o);
  const std::vector<float> want_down = {1, 0, 0, 1, 0, 0, 0, 0};
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(up[i].item<float>(), want_up[static_cast<size_t>(i)]) << i;
    EXPECT_EQ(down[i].item<float>(), want_down[static_cast<size_t>(i)]) << i;
  }
  o.max_samples = 0;  // no cap: every row above the threshold
  EXPECT_EQ(aepo_rollout_weights(a, 0.9, o).sum().item<float>(), 5.0f);
  o.max_samples = 1;  // lowering: 1 / 2 = 0 rows
  EXPECT_EQ(aepo_rollout_weights(a, 0.9, o).sum().item<float>(), 0.0f);
  EXPECT_THROW(aepo_rollout_weights(a.reshape({2, 4}), 0.2, o), core::UserError);
  EXPECT_THROW(aepo_rollout_weights(a, std::nan(""), o), core::UserError);
}

// aepo_loss = the weights, then −α·w·log π: rows 0 and 2 have A > 0.05, row 1 does not.
TEST(Aepo, LossOfOneStepByHand) {
  const torch::Tensor logp = torch::tensor({{-0.2, -1.0}, {-0.5, -0.5}, {-3.0, -0.1}}, torch::kDouble).requires_grad_(true);
  const torch::Tensor mask = torch::tensor({{1.0, 1.0}, {1.0, 1.0}, {1.0, 0.0}}, torch::kDouble);
  AepoOptions o;
  o.alpha = 0.5;
  const AepoLoss out = aepo_loss(logp, torch::tensor({0.7, -0.7, 0.1}, torch::kDouble), mask, 0.3, o);
  const std::vector<double> want = {0.5 * 0.2, 0.5 * 1.0, 0.0, 0.0, 0.5 * 3.0, 0.0};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(out.token_loss.reshape({-1})[i].item<double>(), want[static_cast<size_t>(i)], 1e-15) << i;
  out.token_loss.sum().backward();
  const std::vector<double> grad = {-0.5, -0.5, 0.0, 0.0, -0.5, 0.0};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(logp.grad().reshape({-1})[i].item<double>(), grad[static_cast<size_t>(i)], 1e-15) << i;
  EXPECT_EQ(out.metrics.at("aepo/temperature").item<double>(), 1.2);
  EXPECT_EQ(out.metrics.at("aepo/reinforced").item<double>(), 2.0);
  EXPECT_NEAR(out.metrics.at("aepo/reinforced_frac").item<double>(), 2.0 / 3.0, 1e-15);
  EXPECT_THROW(aepo_loss(logp, torch::tensor({0.7, -0.7}, torch::kDouble), mask, 0.3, o), core::UserError);
}

TEST(Aepo, TokenLossValueAndGradientByHand) {
  const double inf = std::numeric_limits<double>::infinity();
  // Row 0: 3 valid tokens; row 1: 1 valid token, junk (−inf, NaN) at masked positions.
  const torch::Tensor logp =
      torch::tensor({-0.1, -2.0, -0.7, -1.5, -inf, std::nan("")}, torch::kDouble).reshape({2, 3}).requires_grad_(true);
  const torch::Tensor mask = torch::tensor({1., 1., 1., 1., 0., 0.}, torch::kDouble).reshape({2, 3});
  const torch::Tensor r = torch::tensor({2.0, -0.5}, torch::kDouble);
  AepoOptions o;
  o.alpha = 0.3;
  const torch::Tensor loss = aepo_token_loss(logp, r, mask, o);
  const std::vector<double> want = {0.3 * 2.0 * 0.1, 0.3 * 2.0 * 2.0, 0.3 * 2.0 * 0.7, -0.3 * 0.5 * 1.5, 0.0, 0.0};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(loss.reshape({-1})[i].item<double>(), want[i], 1e-15) << i;
  loss.sum().backward();
  // ∇ = −α·R·∇log π: −0.6 on row 0, +0.15 on row 1's valid token, 0 at masked ones.
  const std::vector<double> grad = {-0.6, -0.6, -0.6, 0.15, 0.0, 0.0};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(logp.grad().reshape({-1})[i].item<double>(), grad[i], 1e-15) << i;
  EXPECT_TRUE(torch::isfinite(logp.grad()).all().item<bool>());
  // Per-token R (B, L) gives the same as the broadcast (B) one.
  const torch::Tensor r2 = r.unsqueeze(1).expand({2, 3}).contiguous();
  EXPECT_TRUE(torch::equal(aepo_token_loss(logp.detach(), r2, mask, o), loss.detach()));
  // R carries no gradient.
  const torch::Tensor rg = r.clone().requires_grad_(true);
  EXPECT_FALSE(aepo_token_loss(logp.detach(), rg, mask, o).requires_grad());
}

TEST(Aepo, GradientThroughSoftmaxIsMinusAlphaRTimesScore) {
  // Logits (B=2, L=2, V=3); sampled tokens; ∂ℓ/∂z_v = −α·R·(1[v = o] − softmax(z)_v) at valid tokens.
  const std::vector<double> z = {0.2, -1.0, 0.5, 1.5, 0.0, -0.3, -0.4, 0.9, 0.1, 0.0, 0.0, 2.0};
  const std::vector<int64_t> tok = {2, 0, 1, 2};
  const std::vector<double> mk = {1.0, 1.0, 1.0, 0.0};
  const std::vector<double> rr = {0.8, -1.2};
  const torch::Tensor logits = from_vec(z).reshape({2, 2, 3}).requires_grad_(true);
  const torch::Tensor logp =
      torch::log_softmax(logits, -1).gather(-1, torch::tensor(tok).reshape({2, 2, 1})).squeeze(-1);  // (2, 2)
  AepoOptions o;
  o.alpha = 0.7;
  aepo_token_loss(logp, from_vec(rr), from_vec(mk).reshape({2, 2}), o)
      .sum()
      .backward();
  for (int p = 0; p < 4; ++p) {
    double norm = 0;
    for (int v = 0; v < 3; ++v) norm += std::exp(z[3 * p + v]);
    for (int v = 0; v < 3; ++v) {
      const double want = mk[p] > 0 ? -0.7 * rr[p / 2] * ((v == tok[p] ? 1.0 : 0.0) - std::exp(z[3 * p + v]) / norm) : 0.0;
      EXPECT_NEAR(logits.grad().reshape({-1})[3 * p + v].item<double>(), want, 1e-14) << p << "," << v;
    }
  }
}

TEST(Aepo, BadShapesAreUserErrors) {
  const AepoOptions o;
  EXPECT_THROW(aepo_token_loss(torch::zeros({2, 3}), torch::zeros({3}), {}, o), core::UserError);
  EXPECT_THROW(aepo_token_loss(torch::zeros({2, 3}), torch::zeros({2}), torch::ones({2, 2}), o), core::UserError);
  EXPECT_THROW(aepo_token_loss(torch::zeros({2, 3}), torch::zeros({2, 2}), {}, o), core::UserError);
  EXPECT_THROW(aepo_token_loss(torch::zeros({6}), torch::zeros({6}), {}, o), core::UserError);
}

}  // namespace
}  // namespace rlpp::algo
