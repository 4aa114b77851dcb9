// EPO: tracker arithmetic by hand, the token loss against a double re-implementation with loops,
// the penalty's autograd gradient (zero inside the band, ±λφ outside), phase weight, masking.
#include "rlpp/algo/epo.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

// Double tensor copied from a vector (from_blob + clone: no per-element conversion path).
torch::Tensor from_vec(const std::vector<double>& v) {
  return torch::from_blob(const_cast<double*>(v.data()), {static_cast<int64_t>(v.size())}, torch::kDouble).clone();
}

torch::Tensor dbl(const std::vector<double>& v, int64_t B, int64_t L) {
  return from_vec(v).reshape({B, L});
}
torch::Tensor lng(const std::vector<int64_t>& v, int64_t B, int64_t L) { return torch::tensor(v).reshape({B, L}); }

TEST(EpoTracker, RunningMeanOfPerStepTurnMeans) {
  EpoEntropyTracker t;
  // Step 1: turn 0 tokens {1, 3} → 2; turn 1 tokens {0.5} → 0.5; the masked 100 (turn 2) ignored.
  const torch::Tensor m1 = t.update(dbl({1.0, 3.0, 0.5, 100.0}, 1, 4), lng({0, 0, 1, 2}, 1, 4),
                                    (torch::arange(4) < 3).to(torch::kDouble).reshape({1, 4}));
  ASSERT_EQ(m1.size(0), 2);
  EXPECT_DOUBLE_EQ(m1[0].item<double>(), 2.0);
  EXPECT_DOUBLE_EQ(m1[1].item<double>(), 0.5);
  EXPECT_FALSE(t.known(2));
  EXPECT_EQ(t.count(2), 0);
  // Step 2: turn 0 → (4 + 4 + 1)/3 = 3; turn 2 → 6 (turn 1 absent).
  const torch::Tensor m2 = t.update(dbl({4.0, 4.0, 1.0, 6.0}, 2, 2), lng({0, 0, 0, 2}, 2, 2), {});
  EXPECT_TRUE(std::isnan(m2[1].item<double>()));
  EXPECT_DOUBLE_EQ(t.mean(0), (2.0 + 3.0) / 2);  // each step counts once, whatever its token count
  EXPECT_DOUBLE_EQ(t.mean(1), 0.5);
  EXPECT_DOUBLE_EQ(t.mean(2), 6.0);
  EXPECT_EQ(t.count(0), 2);
  EXPECT_EQ(t.count(1), 1);
  EXPECT_THROW(t.mean(5), core::UserError);
  const torch::Tensor mu = t.means(4);
  EXPECT_TRUE(torch::equal(mu, torch::tensor({2.5, 0.5, 6.0, 0.0}, torch::kDouble)));
  EXPECT_TRUE(torch::equal(t.known_mask(4), torch::tensor({true, true, true, false})));
  // Save/load round trip, then both continue identically.
  EpoEntropyTracker u;
  u.load(nlohmann::json::parse(t.save().dump()));
  t.observe(1, 0.25);
  u.observe(1, 0.25);
  EXPECT_EQ(t.save(), u.save());
  EXPECT_DOUBLE_EQ(u.mean(1), 0.375);
  nlohmann::json bad = u.save();
  bad["turns"][0][2] = 0;
  EXPECT_THROW(u.load(bad), core::UserError);
  EXPECT_EQ(t.save(), u.save());  // unchanged after a refused load
  EXPECT_THROW(t.update(dbl({1.0, 2.0}, 1, 2), lng({0, -1}, 1, 2), {}), core::UserError);
}

TEST(Epo, PhaseWeightSchedules) {
  EpoOptions o;  // the authors' decay: 1 − 0.2(1 − e^{−4p}) up to ½, then 0.8·e^{−3(2p − 1)}
  EXPECT_EQ(o.phase_schedule, "decay");
  EXPECT_DOUBLE_EQ(epo_phase_weight(0.0, o), 1.0);
  EXPECT_NEAR(epo_phase_weight(0.25, o), 0.87357588823428847, 1e-15);
  EXPECT_NEAR(epo_phase_weight(0.5, o), 0.82706705664732254, 1e-15);
  EXPECT_NEAR(epo_phase_weight(0.75, o), 0.17850412811874386, 1e-15);
  EXPECT_NEAR(epo_phase_weight(1.0, o), 0.03982965469429116, 1e-15);
  o.phase_schedule = "ramp";
  EXPECT_DOUBLE_EQ(epo_phase_weight(0.0, o), 0.0);
  EXPECT_DOUBLE_EQ(epo_phase_weight(0.05, o), 0.5);
  EXPECT_DOUBLE_EQ(epo_phase_weight(0.1, o), 1.0);
  EXPECT_DOUBLE_EQ(epo_phase_weight(0.9, o), 1.0);
  o.phase_ramp = 0;
  EXPECT_DOUBLE_EQ(epo_phase_weight(0.0, o), 1.0);
  o.phase_schedule = "constant";
  EXPECT_DOUBLE_EQ(epo_phase_weight(0.3, o), 1.0);
  EXPECT_THROW(epo_phase_weight(1.5, o), core::UserError);
  o.phase_schedule = "cosine";
  EXPECT_THROW(epo_phase_weight(0.5, o), core::UserError);
}

// The defaults: the two-sided corridor [0.5μ, 1.5μ] and the decaying weight. μ = 1, p = 0.25
// (β = 0.873575888…), c = 0.01, λ = 1; H = 0.3 (below), 1.0 (inside), 2.0 (above).
TEST(Epo, DefaultsBoundEntropyOnBothSides) {
  EpoEntropyTracker hist;
  hist.observe(0, 1.0);
  const EpoOptions o;
  EXPECT_EQ(o.kappa_low, 0.5);
  EXPECT_EQ(o.kappa_high, 1.5);
  const double beta = 1.0 - 0.2 * (1.0 - std::exp(-1.0));
  const torch::Tensor h = dbl({0.3, 1.0, 2.0}, 1, 3).requires_grad_(true);
  const EpoLoss out = epo_token_loss(h, lng({0, 0, 0}, 1, 3), {}, hist, o, 0.25);
  const std::vector<double> val = {-0.003 + beta * 0.2, -0.01, -0.02 + beta * 0.5};
  const std::vector<double> grad = {-0.01 - beta, -0.01, -0.01 + beta};
  out.token_loss.sum().backward();
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(out.token_loss[0][i].item<double>(), val[static_cast<size_t>(i)], 1e-15) << i;
    EXPECT_NEAR(h.grad()[0][i].item<double>(), grad[static_cast<size_t>(i)], 1e-15) << i;
  }
  EXPECT_NEAR(out.metrics.at("epo/out_of_band").item<double>(), 2.0 / 3.0, 1e-15);
  EXPECT_NEAR(out.metrics.at("epo/phase").item<double>(), beta, 1e-15);
}

// ℓ written out: −c·H + λφ·1[known]·(max(0, H − κ_h μ) + max(0, κ_l μ − H)) at valid tokens.
TEST(Epo, TokenLossMatchesDoubleReference) {
  std::mt19937_64 gen(3);
  std::uniform_real_distribution<double> u(0, 3);
  std::uniform_int_distribution<int64_t> tk(0, 3);
  const int64_t B = 4, L = 7;
  std::vector<double> h(B * L), mk(B * L);
  std::vector<int64_t> turn(B * L);
  for (int64_t i = 0; i < B * L; ++i) {
    h[i] = u(gen);
    turn[i] = tk(gen);
    mk[i] = (i % 5 == 2) ? 0.0 : 1.0;
  }
  EpoEntropyTracker hist;  // turns 0..2 known, turn 3 not
  hist.observe(0, 0.6);
  hist.observe(0, 1.0);
  hist.observe(1, 1.2);
  hist.observe(2, 0.3);
  const std::vector<double> mu = {0.8, 1.2, 0.3, 0.0};
  for (const double progress : {0.02, 0.5}) {
    EpoOptions o;
    o.entropy_coef = 0.03;
    o.penalty_coef = 0.7;
    o.kappa_low = 0.5;
    o.kappa_high = 2.0;
    o.phase_schedule = "ramp";
    const double phase = std::min(1.0, progress / 0.1);
    const EpoLoss out = epo_token_loss(dbl(h, B, L), lng(turn, B, L), dbl(mk, B, L), hist, o, progress);
    double pen_sum = 0, n = 0, outside = 0;
    for (int64_t i = 0; i < B * L; ++i) {
      double want = 0;
      if (mk[i] > 0) {
        n += 1;
        double pen = 0;
        if (turn[i] < 3) {
          pen = 0.7 * phase * (std::max(0.0, h[i] - 2.0 * mu[turn[i]]) + std::max(0.0, 0.5 * mu[turn[i]] - h[i]));
          if (h[i] > 2.0 * mu[turn[i]] || h[i] < 0.5 * mu[turn[i]]) outside += 1;
        }
        pen_sum += pen;
        want = -0.03 * h[i] + pen;
      }
      EXPECT_NEAR(out.token_loss.reshape({-1})[i].item<double>(), want, 1e-14) << i;
    }
    EXPECT_GT(outside, 0);
    EXPECT_NEAR(out.metrics.at("epo/penalty").item<double>(), pen_sum / n, 1e-14);
    EXPECT_NEAR(out.metrics.at("epo/out_of_band").item<double>(), outside / n, 1e-14);
    EXPECT_DOUBLE_EQ(out.metrics.at("epo/phase").item<double>(), phase);
  }
}

TEST(Epo, PenaltyGradientIsZeroInsideBandAndNonZeroOutside) {
  EpoEntropyTracker hist;
  hist.observe(0, 1.0);  // band for turn 0: [0.5, 2.0]
  hist.observe(1, 0.2);  // band for turn 1: [0.1, 0.4]
  EpoOptions o;
  o.entropy_coef = 0;  // penalty alone
  o.penalty_coef = 0.4;
  o.kappa_low = 0.5;
  o.kappa_high = 2.0;
  o.phase_schedule = "constant";
  // Turn 0: 0.3 (below), 1.0 (inside), 2.5 (above); turn 1: 0.05 (below), 0.2 (inside), 0.9 (above).
  const torch::Tensor h = dbl({0.3, 1.0, 2.5, 0.05, 0.2, 0.9}, 2, 3).requires_grad_(true);
  const torch::Tensor turn = lng({0, 0, 0, 1, 1, 1}, 2, 3);
  const EpoLoss out = epo_token_loss(h, turn, {}, hist, o, 0.7);
  out.token_loss.sum().backward();
  const std::vector<double> grad = {-0.4, 0.0, 0.4, -0.4, 0.0, 0.4};
  const std::vector<double> val = {0.4 * 0.2, 0.0, 0.4 * 0.5, 0.4 * 0.05, 0.0, 0.4 * 0.5};
  for (int i = 0; i < 6; ++i) {
    EXPECT_NEAR(h.grad().reshape({-1})[i].item<double>(), grad[i], 1e-15) << i;
    EXPECT_NEAR(out.token_loss.reshape({-1})[i].item<double>(), val[i], 1e-15) << i;
  }
  // With the bonus on: −c everywhere plus the penalty's slope outside.
  o.entropy_coef = 0.01;
  h.grad().zero_();
  epo_token_loss(h, turn, {}, hist, o, 0.7).token_loss.sum().backward();
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(h.grad().reshape({-1})[i].item<double>(), grad[i] - 0.01, 1e-15) << i;
}

TEST(Epo, UnknownTurnsAndMaskedPositions) {
  EpoEntropyTracker hist;
  hist.observe(0, 0.1);
  EpoOptions o;
  o.phase_schedule = "constant";
  // Turn 4 has no history → bonus only. Masked positions hold NaN and a negative turn.
  const torch::Tensor h = dbl({5.0, 5.0, std::nan(""), 7.0}, 1, 4).requires_grad_(true);
  const torch::Tensor turn = lng({0, 4, -1, 0}, 1, 4);
  const torch::Tensor mask = torch::tensor({1., 1., 0., 0.}, torch::kDouble).reshape({1, 4});
  ASSERT_EQ(mask.sum().item<double>(), 2.0);
  const EpoLoss out = epo_token_loss(h, turn, mask, hist, o, 1.0);
  EXPECT_NEAR(out.token_loss[0][0].item<double>(), -0.01 * 5 + 1.0 * (5 - 0.15), 1e-14);
  EXPECT_NEAR(out.token_loss[0][1].item<double>(), -0.01 * 5, 1e-14);
  EXPECT_EQ(out.token_loss[0][2].item<double>(), 0.0);
  EXPECT_EQ(out.token_loss[0][3].item<double>(), 0.0);
  out.token_loss.sum().backward();
  EXPECT_TRUE(torch::isfinite(h.grad()).all().item<bool>());
  EXPECT_EQ(h.grad()[0][2].item<double>(), 0.0);
  EXPECT_EQ(h.grad()[0][3].item<double>(), 0.0);
  // Changing masked values changes nothing.
  const EpoLoss other = epo_token_loss(dbl({5.0, 5.0, 1e9, -3.0}, 1, 4), lng({0, 4, 0, 4}, 1, 4), mask, hist, o, 1.0);
  EXPECT_TRUE(torch::equal(other.token_loss, out.token_loss.detach()));
  // Empty mask: all zeros, no NaN.
  const EpoLoss none = epo_token_loss(h.detach(), turn, torch::zeros({1, 4}, torch::kDouble), hist, o, 1.0);
  EXPECT_EQ(none.token_loss.abs().sum().item<double>(), 0.0);
  EXPECT_EQ(none.metrics.at("epo/out_of_band").item<double>(), 0.0);
  EXPECT_THROW(epo_token_loss(h, turn.to(torch::kDouble), mask, hist, o, 1.0), core::UserError);
  EXPECT_THROW(epo_token_loss(h, lng({0, 0}, 1, 2), {}, hist, o, 1.0), core::UserError);
}

}  // namespace
}  // namespace rlpp::algo
