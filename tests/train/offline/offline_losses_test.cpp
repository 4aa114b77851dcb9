// The offline losses (BC, TD3+BC, IQL, CQL) and the dataset preprocessing against the formulas
// written out again here in double precision with plain loops, on hand-built batches, and the
// gradients that the formulas say must (and must not) flow.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "rlpp/core/error.h"
#include "rlpp/train/offline/bc.h"
#include "rlpp/train/offline/cql.h"
#include "rlpp/train/offline/iql.h"
#include "rlpp/train/offline/offline_run.h"
#include "rlpp/train/offline/td3_bc.h"

namespace offline_losses_test {

namespace ol = rlpp::train::offline;
using Rows = std::vector<std::vector<double>>;

torch::Tensor t1(const std::vector<double>& v) { return torch::tensor(v, torch::kFloat64).to(torch::kFloat32); }
torch::Tensor t2(const Rows& m) {
  std::vector<torch::Tensor> rows;
  for (const auto& r : m) rows.push_back(t1(r));
  return torch::stack(rows);
}
double at(const torch::Tensor& t, int64_t i) { return t.to(torch::kFloat64)[i].item<double>(); }

const Rows kPi = {{0.3, -0.9}, {0.95, 0.1}, {-0.4, 0.0}, {0.2, 0.7}};
const Rows kAct = {{0.1, -1.0}, {1.0, -0.2}, {-0.5, 0.3}, {0.2, 0.7}};

TEST(OfflineLosses, BcIsTheMeanSquaredErrorOverRowsAndComponents) {
  double sum = 0;
  for (size_t b = 0; b < kPi.size(); ++b)
    for (size_t i = 0; i < 2; ++i) sum += (kPi[b][i] - kAct[b][i]) * (kPi[b][i] - kAct[b][i]);
  EXPECT_NEAR(ol::bc_loss(t2(kPi), t2(kAct)).item<double>(), sum / 8.0, 1e-7);
}

TEST(OfflineLosses, Td3BcLambdaIsAlphaOverMeanAbsQAndCarriesNoGradient) {
  const std::vector<double> q = {3.0, -5.0, 0.5, 12.0};
  const double alpha = 2.5;
  double mean_abs = 0, mean_q = 0, mse = 0;
  for (size_t b = 0; b < q.size(); ++b) {
    mean_abs += std::abs(q[b]) / 4.0;
    mean_q += q[b] / 4.0;
    for (size_t i = 0; i < 2; ++i) mse += (kPi[b][i] - kAct[b][i]) * (kPi[b][i] - kAct[b][i]) / 8.0;
  }
  const double lambda = alpha / mean_abs;  // 2.5 / 5.125
  torch::Tensor qt = t1(q).requires_grad_(true), pit = t2(kPi).requires_grad_(true);
  const ol::Td3BcActorLoss l = ol::td3_bc_actor_loss(qt, pit, t2(kAct), alpha);
  EXPECT_NEAR(l.lambda.item<double>(), lambda, 1e-6);
  EXPECT_FALSE(l.lambda.requires_grad());
  EXPECT_NEAR(l.loss.item<double>(), -lambda * mean_q + mse, 1e-6);
  l.loss.backward();
  // λ detached: ∂L/∂q_b = −λ / B exactly (a λ carrying gradient would add a sign(q_b) term).
  for (int b = 0; b < 4; ++b) EXPECT_NEAR(at(qt.grad(), b), -lambda / 4.0, 1e-7) << b;
  // ∂L/∂π_{b,i} = 2 (π − a) / (B A)
  for (int b = 0; b < 4; ++b)
    for (int i = 0; i < 2; ++i)
      EXPECT_NEAR(pit.grad()[b][i].item<double>(), 2.0 * (kPi[b][i] - kAct[b][i]) / 8.0, 1e-7);
}

TEST(OfflineLosses, ExpectileLossWeightsPositiveAndNegativeErrorsAsymmetrically) {
  const std::vector<double> u = {1.5, -2.0, 0.0, 0.3, -0.1};
  for (double tau : {0.7, 0.5, 0.9}) {
    double ref = 0;
    for (double x : u) ref += (x < 0 ? 1.0 - tau : tau) * x * x / 5.0;
    EXPECT_NEAR(ol::expectile_loss(t1(u), tau).item<double>(), ref, 1e-7) << tau;
  }
  // τ = 0.5 is half the mean squared error.
  double mse = 0;
  for (double x : u) mse += x * x / 5.0;
  EXPECT_NEAR(ol::expectile_loss(t1(u), 0.5).item<double>(), 0.5 * mse, 1e-7);
}

// The minimiser of the expectile loss over a constant v is the τ-expectile: at it, the gradient
// Σ |τ − 1(q < v)| (q − v) vanishes. Found here by bisection in double, then checked through autograd.
TEST(OfflineLosses, ExpectileLossIsMinimisedAtTheExpectile) {
  const std::vector<double> q = {-1.0, 0.0, 2.0, 5.0, 7.5};
  const double tau = 0.7;
  auto g = [&](double v) {
    double s = 0;
    for (double x : q) s += (x < v ? 1.0 - tau : tau) * (x - v);
    return s;
  };
  double lo = -1, hi = 7.5;
  for (int k = 0; k < 200; ++k) (g(0.5 * (lo + hi)) > 0 ? lo : hi) = 0.5 * (lo + hi);
  const double v_star = 0.5 * (lo + hi);
  EXPECT_GT(v_star, 2.7);  // above the mean (2.7): τ > 0.5 leans to the upper values
  torch::Tensor v = torch::full({1}, v_star, torch::kFloat32).requires_grad_(true);
  ol::expectile_loss(t1(q) - v, tau).backward();
  EXPECT_NEAR(v.grad().item<double>(), 0.0, 1e-5);
}

TEST(OfflineLosses, AwrWeightsAreExpOfBetaTimesAdvantageClippedAt100) {
  const std::vector<double> adv = {-1.0, 0.0, 0.5, 1.5, 2.0, 10.0};
  const double beta = 3.0;
  const torch::Tensor w = ol::awr_weights(t1(adv), beta, 100.0);
  for (size_t i = 0; i < adv.size(); ++i) {
    const double ref = std::min(std::exp(beta * adv[i]), 100.0);
    EXPECT_NEAR(at(w, static_cast<int64_t>(i)), ref, 1e-5 * ref) << adv[i];
  }
  EXPECT_EQ(at(w, 4), 100.0);  // exp(6) = 403 is clipped
  // L_π = −mean(w log π)
  const std::vector<double> logp = {-1.0, -2.0, 0.5, -0.3, -4.0, 1.0};
  double ref = 0;
  for (size_t i = 0; i < adv.size(); ++i) ref -= std::min(std::exp(beta * adv[i]), 100.0) * logp[i] / 6.0;
  EXPECT_NEAR(ol::awr_actor_loss(w, t1(logp)).item<double>(), ref, 1e-4 * std::abs(ref));
}

TEST(OfflineLosses, GaussianLogProbIsTheDiagonalNormalDensity) {
  const std::vector<double> log_std = {-0.5, 0.3};
  const torch::Tensor lp = ol::gaussian_log_prob(t2(kPi), t1(log_std), t2(kAct));
  for (size_t b = 0; b < kPi.size(); ++b) {
    double ref = 0;
    for (size_t i = 0; i < 2; ++i) {
      const double s = std::exp(log_std[i]), z = (kAct[b][i] - kPi[b][i]) / s;
      ref += std::log(std::exp(-0.5 * z * z) / (s * std::sqrt(2 * M_PI)));
    }
    EXPECT_NEAR(at(lp, static_cast<int64_t>(b)), ref, 1e-5) << b;
  }
}

TEST(OfflineLosses, CosineDecayFallsFromLrToZero) {
  EXPECT_DOUBLE_EQ(ol::cosine_decay(3e-4, 0, 100), 3e-4);
  EXPECT_NEAR(ol::cosine_decay(3e-4, 50, 100), 1.5e-4, 1e-15);
  EXPECT_NEAR(ol::cosine_decay(3e-4, 25, 100), 3e-4 * 0.5 * (1 + std::sqrt(0.5)), 1e-15);
  EXPECT_NEAR(ol::cosine_decay(3e-4, 100, 100), 0.0, 1e-18);
  EXPECT_NEAR(ol::cosine_decay(3e-4, 150, 100), 0.0, 1e-18);  // held at the end
}

// CQL's penalty on B = 2 states, n = 3 actions per proposal, every term written out.
struct CqlCase {
  std::vector<double> q_data = {1.0, -2.0};
  Rows q_rand = {{0.5, 2.0, -1.0}, {-3.0, -2.5, 0.0}};
  Rows q_curr = {{1.5, 1.2, 0.8}, {-1.0, -1.5, -2.2}};
  Rows logp_curr = {{-0.5, 0.3, -1.2}, {1.1, -0.4, 0.0}};
  Rows q_next = {{0.9, 3.0, 1.1}, {-2.0, 0.4, -0.8}};
  Rows logp_next = {{0.2, -2.0, -0.7}, {-1.5, 0.6, 0.9}};
  double log_mu = -3.0 * std::log(2.0);  // uniform on [−1, 1]^3
};

double lse(const std::vector<double>& x) {
  const double m = *std::max_element(x.begin(), x.end());
  double s = 0;
  for (double v : x) s += std::exp(v - m);
  return m + std::log(s);
}

TEST(OfflineLosses, CqlPenaltyIsTheImportanceCorrectedLogSumExpMinusTheDataQ) {
  const CqlCase c;
  for (double temp : {1.0, 0.5}) {
    double ref = 0, ref_plain = 0;
    for (int b = 0; b < 2; ++b) {
      std::vector<double> terms, plain;
      for (int k = 0; k < 3; ++k) terms.push_back((c.q_rand[b][k] - c.log_mu) / temp);
      for (int k = 0; k < 3; ++k) terms.push_back((c.q_next[b][k] - c.logp_next[b][k]) / temp);
      for (int k = 0; k < 3; ++k) terms.push_back((c.q_curr[b][k] - c.logp_curr[b][k]) / temp);
      ref += (temp * lse(terms) - c.q_data[b]) / 2.0;
      for (int k = 0; k < 3; ++k) plain.push_back(c.q_rand[b][k] / temp);
      plain.push_back(c.q_data[b] / temp);
      for (int k = 0; k < 3; ++k) plain.push_back(c.q_next[b][k] / temp);
      for (int k = 0; k < 3; ++k) plain.push_back(c.q_curr[b][k] / temp);
      ref_plain += (temp * lse(plain) - c.q_data[b]) / 2.0;
    }
    EXPECT_NEAR(ol::cql_penalty(t1(c.q_data), t2(c.q_rand), c.log_mu, t2(c.q_curr), t2(c.logp_curr), t2(c.q_next),
                                t2(c.logp_next), temp, /*importance_sample=*/true)
                    .item<double>(),
                ref, 1e-5)
        << temp;
    EXPECT_NEAR(ol::cql_penalty(t1(c.q_data), t2(c.q_rand), c.log_mu, t2(c.q_curr), t2(c.logp_curr), t2(c.q_next),
                                t2(c.logp_next), temp, /*importance_sample=*/false)
                    .item<double>(),
                ref_plain, 1e-5)
        << temp;
  }
}

// The penalty pushes the sampled actions' Q down with the softmax weights and the data's Q up
// with weight 1 (per state, over B): ∂/∂q_data_b = −1/B, ∂/∂q_rand_{b,k} = softmax_k / B.
TEST(OfflineLosses, CqlPenaltyGradientIsSoftmaxDownAndDataUp) {
  const CqlCase c;
  torch::Tensor qd = t1(c.q_data).requires_grad_(true), qr = t2(c.q_rand).requires_grad_(true);
  ol::cql_penalty(qd, qr, c.log_mu, t2(c.q_curr), t2(c.logp_curr), t2(c.q_next), t2(c.logp_next), 1.0, true).backward();
  for (int b = 0; b < 2; ++b) {
    EXPECT_NEAR(at(qd.grad(), b), -0.5, 1e-7);
    std::vector<double> terms;
    for (int k = 0; k < 3; ++k) terms.push_back(c.q_rand[b][k] - c.log_mu);
    for (int k = 0; k < 3; ++k) terms.push_back(c.q_next[b][k] - c.logp_next[b][k]);
    for (int k = 0; k < 3; ++k) terms.push_back(c.q_curr[b][k] - c.logp_curr[b][k]);
    const double z = lse(terms);
    for (int k = 0; k < 3; ++k)
      EXPECT_NEAR(qr.grad()[b][k].item<double>(), std::exp(terms[static_cast<size_t>(k)] - z) / 2.0, 1e-6);
  }
}

TEST(OfflineLosses, ObservationStatsAreMeanAndPopulationStdPlusEps) {
  const std::vector<float> obs = {1.f, 10.f, 3.f, 10.f, 8.f, 10.f};  // (3, 2)
  const ol::ObsStats s = ol::observation_stats(obs, 2, 1e-3);
  EXPECT_NEAR(s.mean[0], 4.0, 1e-12);
  EXPECT_NEAR(s.mean[1], 10.0, 1e-12);
  EXPECT_NEAR(s.std[0], std::sqrt((9.0 + 1.0 + 16.0) / 3.0) + 1e-3, 1e-12);
  EXPECT_NEAR(s.std[1], 1e-3, 1e-12);  // a constant component: eps keeps it finite
}

TEST(OfflineLosses, IqlRewardScaleIsThousandOverTheReturnRange) {
  EXPECT_NEAR(ol::iql_reward_scale({100.0, 350.0, 2100.0, 40.0}), 1000.0 / 2060.0, 1e-15);
  EXPECT_THROW(ol::iql_reward_scale({5.0, 5.0}), rlpp::core::UserError);
  EXPECT_THROW(ol::iql_reward_scale({}), rlpp::core::UserError);
}

}  // namespace offline_losses_test
