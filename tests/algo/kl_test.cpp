// KL estimators against their formulas in double, k3+'s straight-through gradient by autograd,
// the penalty's masking and reward folding, and the controllers' updates by hand.
#include "rlpp/algo/kl.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

// Log-ratios covering tiny, moderate, large and clamped values.
const std::vector<double> kDeltas = {-25.0, -20.0, -3.0, -1.0, -0.3, -1e-4, 0.0, 1e-4, 0.5, 2.0, 7.0, 30.0};

struct Pair {
  torch::Tensor logp;      // (2, 6), requires grad
  torch::Tensor logp_ref;  // (2, 6)
};

// logp_ref = −1.5 everywhere, logp = logp_ref + Δ (in double so Δ is exact).
Pair make_pair() {
  const torch::Tensor d = torch::tensor(kDeltas, torch::kDouble).reshape({2, 6});
  const torch::Tensor ref = torch::full({2, 6}, -1.5, torch::kDouble);
  return {(ref + d).detach().requires_grad_(true), ref};
}

double clamp_delta(double d) { return std::clamp(d, -20.0, 20.0); }
double k1_ref(double d) { return clamp_delta(d); }
double k2_ref(double d) { return 0.5 * clamp_delta(d) * clamp_delta(d); }
double k3_ref(double d) {
  const double c = clamp_delta(d);
  return std::min(std::exp(-c) + c - 1.0, 10.0);
}

void expect_values(const torch::Tensor& got, double (*ref)(double), const std::string& name) {
  const torch::Tensor flat = got.detach().reshape({-1});
  double max_diff = 0;
  for (size_t i = 0; i < kDeltas.size(); ++i) {
    const double want = ref(kDeltas[i]);
    const double diff = std::abs(flat[i].item<double>() - want);
    max_diff = std::max(max_diff, diff);
    EXPECT_NEAR(flat[i].item<double>(), want, 1e-12 * std::max(1.0, std::abs(want)))
        << name << " at delta " << kDeltas[i];
  }
  std::printf("  %s: max |diff| %.3g\n", name.c_str(), max_diff);
}

TEST(Kl, ValuesMatchFormulas) {
  const Pair p = make_pair();
  expect_values(kl_k1(p.logp, p.logp_ref), &k1_ref, "k1");
  expect_values(kl_k2(p.logp, p.logp_ref), &k2_ref, "k2");
  expect_values(kl_k3(p.logp, p.logp_ref), &k3_ref, "k3");
  expect_values(kl_k3_plus(p.logp, p.logp_ref), &k3_ref, "k3+");
  // The clamps bite: k3 at Δ = −3 is e³ − 4 ≈ 16.09 → 10; Δ = 30 behaves as Δ = 20.
  EXPECT_DOUBLE_EQ(kl_k3(p.logp, p.logp_ref)[0][2].item<double>(), 10.0);
  EXPECT_DOUBLE_EQ(kl_k1(p.logp, p.logp_ref)[1][5].item<double>(), 20.0);
}

TEST(Kl, RegistryNamesAndUnknownName) {
  const std::vector<std::string> want = {"k1", "k2", "k3", "k3+"};
  EXPECT_EQ(kl_registry().names(), want);
  EXPECT_EQ(list_kl_estimators().size(), want.size());
  const Pair p = make_pair();
  expect_values(kl_registry().get("k2")(p.logp, p.logp_ref), &k2_ref, "registry k2");
  EXPECT_THROW(kl_registry().get("k4"), core::UserError);
  EXPECT_THROW(kl_k3(p.logp, torch::zeros({3})), core::UserError);
}

// ∂k/∂log π by autograd against the derivatives written out: k1' = 1, k2' = Δ, k3' = 1 − e^{−Δ},
// each 0 where a clamp is active (|Δ| > 20, or k3 > 10).
TEST(Kl, GradientsAndStraightThrough) {
  const auto grad_of = [](KlEstimatorFn fn) {
    const Pair p = make_pair();
    fn(p.logp, p.logp_ref).sum().backward();
    return p.logp.grad().reshape({-1});
  };
  const torch::Tensor g1 = grad_of(&kl_k1);
  const torch::Tensor g2 = grad_of(&kl_k2);
  const torch::Tensor g3 = grad_of(&kl_k3);
  const torch::Tensor g3p = grad_of(&kl_k3_plus);
  for (size_t i = 0; i < kDeltas.size(); ++i) {
    const double d = kDeltas[i];
    const bool in_range = std::abs(d) <= 20.0;
    const double k3_unclamped = std::exp(-clamp_delta(d)) + clamp_delta(d) - 1.0;
    EXPECT_NEAR(g1[i].item<double>(), in_range ? 1.0 : 0.0, 1e-12) << d;
    EXPECT_NEAR(g2[i].item<double>(), in_range ? d : 0.0, 1e-12) << d;
    const double want3 = (in_range && k3_unclamped <= 10.0) ? 1.0 - std::exp(-d) : 0.0;
    EXPECT_NEAR(g3[i].item<double>(), want3, 1e-9) << d;
    // k3+: k2's gradient, even where k3's value is clamped.
    EXPECT_NEAR(g3p[i].item<double>(), in_range ? d : 0.0, 1e-12) << d;
  }
  // The two differ wherever Δ is not tiny, so the check above can tell them apart.
  EXPECT_GT((g3 - g2).abs().max().item<double>(), 0.1);
}

// k3 ≥ 0 in float32 as well, including log-ratios so small that exp(−Δ) + Δ − 1 cancels.
TEST(Kl, K3IsNonNegative) {
  torch::manual_seed(0);
  const torch::Tensor ref = torch::randn({64, 64}) * 3;
  const torch::Tensor scale = torch::pow(10.0, torch::randint(-9, 2, {64, 64}).to(torch::kFloat));
  const torch::Tensor logp = ref + torch::randn({64, 64}) * scale;
  EXPECT_GE(kl_k3(logp, ref).min().item<float>(), 0.0f);
  EXPECT_GE(kl_k3_plus(logp, ref).min().item<float>(), 0.0f);
  EXPECT_GE(kl_k2(logp, ref).min().item<float>(), 0.0f);
}

TEST(Kl, TokenPenaltyMasksAndScales) {
  const Pair p = make_pair();
  const torch::Tensor mask =
      torch::tensor({1., 1., 0., 1., 1., 1., 1., 0., 1., 1., 1., 0.}, torch::kDouble).reshape({2, 6});
  // NaN at a masked position must not reach values or gradients.
  torch::Tensor logp_ref = p.logp_ref.clone();
  logp_ref.index_put_({1, 5}, std::nan(""));
  const torch::Tensor pen = kl_token_penalty(p.logp, logp_ref, mask, "k3", 0.001);
  const torch::Tensor flat = pen.detach().reshape({-1});
  for (size_t i = 0; i < kDeltas.size(); ++i) {
    const double want = mask.reshape({-1})[i].item<double>() > 0.5 ? 0.001 * k3_ref(kDeltas[i]) : 0.0;
    EXPECT_NEAR(flat[i].item<double>(), want, 1e-15) << i;
  }
  pen.sum().backward();
  EXPECT_TRUE(torch::isfinite(p.logp.grad()).all().item<bool>());
  EXPECT_EQ(p.logp.grad()[0][2].item<double>(), 0.0);
  // Default coefficient of the fixed controller is the documented 0.001.
  EXPECT_DOUBLE_EQ(FixedKlOptions{}.coef, 0.001);
}

TEST(Kl, PenalizedRewardsSubtractDetachedPenalty) {
  const Pair p = make_pair();
  torch::Tensor rewards = torch::zeros({2, 6}, torch::kDouble);
  rewards.index_put_({0, 5}, 1.0);
  torch::Tensor mask = torch::ones({2, 6}, torch::kDouble);
  mask.index_put_({1, 0}, 0.0);
  const torch::Tensor r = kl_penalized_rewards(rewards, p.logp, p.logp_ref, mask, "k1", 0.1);
  EXPECT_FALSE(r.requires_grad());
  const torch::Tensor flat = r.reshape({-1});
  for (size_t i = 0; i < kDeltas.size(); ++i) {
    const double base = i == 5 ? 1.0 : 0.0;
    const double want = i == 6 ? base : base - 0.1 * k1_ref(kDeltas[i]);
    EXPECT_NEAR(flat[i].item<double>(), want, 1e-12) << i;
  }
}

TEST(Kl, FixedControllerNeverMoves) {
  FixedKlOptions o;
  o.coef = 0.05;
  FixedKlController c(o);
  c.update(/*current_kl=*/5.0, /*n_steps=*/1000);
  EXPECT_EQ(c.coef(), 0.05);
}

// Hand-computed: target 0.1, horizon 10000, c0 = 0.001, n = 500 per update.
TEST(Kl, AdaptiveControllerByHand) {
  AdaptiveKlOptions o;
  EXPECT_EQ(o.target, 0.1);
  EXPECT_EQ(o.horizon, 10000);
  AdaptiveKlController c(o);
  // KL 0.11: e = 0.1, c = 0.001·(1 + 0.1·0.05) = 0.001005.
  c.update(0.11, 500);
  EXPECT_NEAR(c.coef(), 0.001005, 1e-15);
  // KL 1.0: e = 9 clipped to 0.2, c = 0.001005·1.01.
  c.update(1.0, 500);
  EXPECT_NEAR(c.coef(), 0.001005 * 1.01, 1e-15);
  // KL 0: e = −1 clipped to −0.2, c ·= 0.99.
  c.update(0.0, 500);
  EXPECT_NEAR(c.coef(), 0.001005 * 1.01 * 0.99, 1e-15);
  // KL at target: unchanged.
  const double before = c.coef();
  c.update(0.1, 500);
  EXPECT_NEAR(c.coef(), before, 1e-18);
  // KL 0.09: e = −0.1, n = 10000: c ·= 0.9.
  c.update(0.09, 10000);
  EXPECT_NEAR(c.coef(), before * 0.9, 1e-15);
}

TEST(Kl, ControllerRegistryBuildsFromDefaults) {
  EXPECT_EQ(kl_controller_registry().names(), (std::vector<std::string>{"adaptive", "fixed"}));
  const std::unique_ptr<KlController> a = build_default(kl_controller_registry(), "adaptive");
  EXPECT_DOUBLE_EQ(a->coef(), 0.001);
  a->update(0.2, 10000);  // e = 0.2 → ×1.2
  EXPECT_NEAR(a->coef(), 0.0012, 1e-15);
  const std::unique_ptr<KlController> f = build_default(kl_controller_registry(), "fixed");
  f->update(0.2, 10000);
  EXPECT_DOUBLE_EQ(f->coef(), 0.001);
  const auto rows = describe_component(kl_controller_registry(), "adaptive");
  EXPECT_EQ(rows.size(), 3u);
}

}  // namespace
}  // namespace rlpp::algo
