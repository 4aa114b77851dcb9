// The off-policy losses and update rules against the formulas written out again here in double
// precision with plain loops, on hand-built batches.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "rlpp/train/offpolicy/dqn.h"
#include "rlpp/train/offpolicy/networks.h"
#include "rlpp/train/offpolicy/sac.h"
#include "rlpp/train/offpolicy/td3.h"

namespace offpolicy_losses_test {

namespace op = rlpp::train::offpolicy;
using Rows = std::vector<std::vector<double>>;

torch::Tensor t1(const std::vector<double>& v) { return torch::tensor(v, torch::kFloat64).to(torch::kFloat32); }
torch::Tensor t2(const Rows& m) {
  std::vector<torch::Tensor> rows;
  for (const auto& r : m) rows.push_back(t1(r));
  return torch::stack(rows);
}
double at(const torch::Tensor& t, int64_t i) { return t.to(torch::kFloat64)[i].item<double>(); }
double at(const torch::Tensor& t, int64_t i, int64_t j) { return t.to(torch::kFloat64)[i][j].item<double>(); }

const Rows kMean = {{0.3, -1.2}, {2.0, 0.1}, {-0.4, 0.0}};
const Rows kLogStd = {{-0.5, 0.2}, {-2.0, 1.0}, {0.0, -4.0}};
const Rows kEps = {{1.1, -0.3}, {-0.7, 2.2}, {0.05, -1.5}};
const std::vector<double> kScale = {2.0, 0.5}, kBias = {0.0, 0.25};

TEST(OffPolicyLosses, SquashedGaussianActionAndLogProb) {
  const auto s = op::squashed_gaussian(t2(kMean), t2(kLogStd), t2(kEps), t1(kScale), t1(kBias));
  for (int b = 0; b < 3; ++b) {
    double logp = 0;
    for (int i = 0; i < 2; ++i) {
      const double sd = std::exp(kLogStd[b][i]);
      const double u = kMean[b][i] + sd * kEps[b][i];
      const double y = std::tanh(u);
      EXPECT_NEAR(at(s.action, b, i), y * kScale[i] + kBias[i], 1e-6);
      const double z = (u - kMean[b][i]) / sd;
      logp += -0.5 * z * z - std::log(sd) - 0.5 * std::log(2 * M_PI) - std::log(kScale[i] * (1 - y * y) + 1e-6);
    }
    EXPECT_NEAR(at(s.logp, b), logp, 1e-4) << b;
  }
}

// The change of variables itself: log π(a) = log N(u) − log |da/du|, with da/du by a central
// finite difference of a = tanh(u)·scale + bias (one component, moderate u: the 1e−6 is negligible).
TEST(OffPolicyLosses, SquashedGaussianLogProbIsTheDensityOfTheSquashedAction) {
  const double m = 0.4, ls = -0.3, e = 0.8, scale = 1.5, bias = -0.2;
  const auto s = op::squashed_gaussian(t2({{m}}), t2({{ls}}), t2({{e}}), t1({scale}), t1({bias}));
  const double sd = std::exp(ls), u = m + sd * e, h = 1e-5;
  const double dadu = (std::tanh(u + h) - std::tanh(u - h)) / (2 * h) * scale;
  const double log_n = -0.5 * e * e - std::log(sd) - 0.5 * std::log(2 * M_PI);
  EXPECT_NEAR(at(s.logp, 0), log_n - std::log(dadu), 1e-4);
}

TEST(OffPolicyLosses, SacCriticTargetHasTheEntropyTerm) {
  const std::vector<double> R = {1.0, -0.5, 2.0}, d = {0.99, 0.0, 0.9801}, q1 = {3.0, 1.0, -2.0}, q2 = {2.5, 4.0, -1.0},
                            logp = {-1.2, 0.7, 2.0};
  const double alpha = 0.3;
  const auto y = op::sac_critic_target(t1(R), t1(d), t1(q1), t1(q2), t1(logp), alpha);
  for (int b = 0; b < 3; ++b) {
    const double want = R[b] + d[b] * (std::min(q1[b], q2[b]) - alpha * logp[b]);
    EXPECT_NEAR(at(y, b), want, 1e-6) << b;
  }
}

TEST(OffPolicyLosses, SacActorAndAlphaLosses) {
  const std::vector<double> logp = {-1.2, 0.7, 2.0, -0.1}, q1 = {3.0, 1.0, -2.0, 0.0}, q2 = {2.5, 4.0, -1.0, 0.5};
  const double alpha = 0.3, log_alpha = std::log(0.3), target_entropy = -2.0;
  double actor = 0, alpha_loss = 0;
  for (int b = 0; b < 4; ++b) {
    actor += (alpha * logp[b] - std::min(q1[b], q2[b])) / 4;
    alpha_loss += -std::exp(log_alpha) * (logp[b] + target_entropy) / 4;
  }
  EXPECT_NEAR(op::sac_actor_loss(t1(logp), t1(q1), t1(q2), alpha).item<double>(), actor, 1e-6);
  torch::Tensor la = torch::full({1}, log_alpha, torch::kFloat32).requires_grad_(true);
  const torch::Tensor l = op::sac_alpha_loss(la, t1(logp), target_entropy);
  EXPECT_NEAR(l.item<double>(), alpha_loss, 1e-6);
  // dL/d log α = L itself (the loss is linear in exp(log α)): α falls when the entropy −log π is
  // above the target, and rises below it
  l.backward();
  EXPECT_NEAR(la.grad().item<double>(), alpha_loss, 1e-6);
}

TEST(OffPolicyLosses, TwinCriticLossIsWeighted) {
  const std::vector<double> q1 = {1.0, 2.0, -1.0}, q2 = {0.5, 2.5, 0.0}, y = {1.5, 0.0, -1.0}, w = {1.0, 0.5, 0.25};
  double want = 0;
  for (int b = 0; b < 3; ++b) want += (w[b] * (q1[b] - y[b]) * (q1[b] - y[b]) + w[b] * (q2[b] - y[b]) * (q2[b] - y[b])) / 3;
  EXPECT_NEAR(op::twin_critic_loss(t1(q1), t1(q2), t1(y), t1(w)).item<double>(), want, 1e-6);
}

// Noise 0.2·ε clipped to ±0.5 then scaled; the action clipped to the box. Row 0: nothing
// clipped; row 1: the noise clipped (ε = 5 → 1.0 → 0.5); row 2: the action clipped at high.
TEST(OffPolicyLosses, Td3SmoothedTargetAction) {
  const Rows mu = {{0.1, -0.2}, {0.0, 0.3}, {1.9, 0.6}};
  const Rows eps = {{0.5, -1.0}, {5.0, -4.0}, {1.0, 0.0}};
  const std::vector<double> scale = {2.0, 0.5}, low = {-2.0, -0.25}, high = {2.0, 0.75};
  const auto a = op::td3_target_action(t2(mu), t2(eps), 0.2, 0.5, t1(scale), t1(low), t1(high));
  for (int b = 0; b < 3; ++b) {
    for (int i = 0; i < 2; ++i) {
      const double noise = std::max(-0.5, std::min(0.5, 0.2 * eps[b][i])) * scale[i];
      const double want = std::max(low[i], std::min(high[i], mu[b][i] + noise));
      EXPECT_NEAR(at(a, b, i), want, 1e-6) << b << "," << i;
    }
  }
  EXPECT_NEAR(at(a, 1, 0), 0.0 + 0.5 * 2.0, 1e-6);  // hand: noise clipped
  EXPECT_NEAR(at(a, 2, 0), 2.0, 1e-6);              // hand: action clipped
}

TEST(OffPolicyLosses, Td3TargetAndDelayedActorLoss) {
  const std::vector<double> R = {1.0, 0.0}, d = {0.99, 0.0}, q1 = {3.0, 5.0}, q2 = {4.0, -5.0};
  const auto y = op::td3_critic_target(t1(R), t1(d), t1(q1), t1(q2));
  EXPECT_NEAR(at(y, 0), 1.0 + 0.99 * 3.0, 1e-6);
  EXPECT_NEAR(at(y, 1), 0.0, 1e-6);
  EXPECT_NEAR(op::td3_actor_loss(t1({1.0, 2.0, 6.0})).item<double>(), -3.0, 1e-6);
}

// Online argmax differs from the target's: Double DQN evaluates the online choice with the target.
TEST(OffPolicyLosses, DoubleDqnTargetTakesTheArgmaxFromTheOnlineNetwork) {
  const Rows online = {{1.0, 3.0, 2.0}, {0.0, -1.0, 5.0}};
  const Rows target = {{4.0, 1.5, 0.0}, {2.0, 7.0, 3.0}};
  const std::vector<double> R = {0.5, 1.0}, d = {0.9, 0.0};
  const auto dd = op::dqn_target(t1(R), t1(d), t2(online), t2(target), /*double_q=*/true);
  EXPECT_NEAR(at(dd, 0), 0.5 + 0.9 * 1.5, 1e-6);
  EXPECT_NEAR(at(dd, 1), 1.0, 1e-6);
  const auto plain = op::dqn_target(t1(R), t1(d), t2(online), t2(target), /*double_q=*/false);
  EXPECT_NEAR(at(plain, 0), 0.5 + 0.9 * 4.0, 1e-6);
}

TEST(OffPolicyLosses, DqnLossMseAndHuber) {
  const std::vector<double> q = {1.0, 3.0, -2.0}, y = {0.5, 0.0, 0.0}, w = {1.0, 1.0, 0.5};
  double mse = 0, huber = 0;
  for (int b = 0; b < 3; ++b) {
    const double dl = q[b] - y[b];
    mse += w[b] * dl * dl / 3;
    huber += w[b] * (std::abs(dl) <= 1 ? 0.5 * dl * dl : std::abs(dl) - 0.5) / 3;
  }
  EXPECT_NEAR(op::dqn_loss(t1(q), t1(y), t1(w), "mse").item<double>(), mse, 1e-6);
  EXPECT_NEAR(op::dqn_loss(t1(q), t1(y), t1(w), "huber").item<double>(), huber, 1e-6);
  EXPECT_NEAR(huber, (0.125 + 2.5 + 0.5 * 1.5) / 3, 1e-12);  // by hand
}

TEST(OffPolicyLosses, LinearScheduleHandValues) {
  EXPECT_DOUBLE_EQ(op::linear_schedule(1.0, 0.05, 100.0, 0), 1.0);
  EXPECT_NEAR(op::linear_schedule(1.0, 0.05, 100.0, 50), 0.525, 1e-12);
  EXPECT_NEAR(op::linear_schedule(1.0, 0.05, 100.0, 100), 0.05, 1e-12);
  EXPECT_DOUBLE_EQ(op::linear_schedule(1.0, 0.05, 100.0, 1000), 0.05);
}

TEST(OffPolicyLosses, PolyakUpdateHandValues) {
  torch::Tensor target = t1({1.0, -2.0, 4.0}), online = t1({3.0, 2.0, 0.0});
  op::polyak_update({target}, {online}, 0.25);
  const std::vector<double> want = {0.25 * 3 + 0.75 * 1, 0.25 * 2 + 0.75 * -2, 0.75 * 4};
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(at(target, i), want[static_cast<size_t>(i)], 1e-6);
  op::polyak_update({target}, {online}, 1.0);  // a hard copy
  EXPECT_TRUE(torch::equal(target, online));
}

}  // namespace offpolicy_losses_test
