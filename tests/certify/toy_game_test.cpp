// The toy game of arXiv 2512.06791 against the reference values (hand-derived, docs/games.md):
// f1 = ½x1² + 10·x1x2, f2 = ½x2² + 0.05·x1x2, H = [[1, 10], [0.05, 1]].
#include <gtest/gtest.h>

#include <cmath>

#include "rlpp/certify/certificate.h"
#include "rlpp/certify/margin.h"
#include "rlpp/certify/quadratic_game.h"
#include "rlpp/certify/step_bounds.h"
#include "rlpp/certify/weights.h"

namespace rlpp::certify {
namespace {

QuadraticGame toy_game() {
  Eigen::MatrixXd H(2, 2);
  H << 1.0, 10.0, 0.05, 1.0;
  return QuadraticGame({{"p1", 1, 0, {}}, {"p2", 1, 0, {}}}, H, Eigen::VectorXd::Zero(2));
}

TEST(ToyGame, AutogradPseudoGradientAndJacobianMatchTheHandDerivedOnes) {
  const QuadraticGame g = toy_game();
  const Eigen::Vector2d x(0.3, -1.7);
  // ∂f1/∂x1 = x1 + 10x2, ∂f2/∂x2 = x2 + 0.05x1.
  const Eigen::VectorXd F = autograd_pseudo_gradient(g, x);
  EXPECT_NEAR(F(0), 0.3 + 10.0 * -1.7, 1e-12);
  EXPECT_NEAR(F(1), -1.7 + 0.05 * 0.3, 1e-12);
  const Eigen::MatrixXd J = autograd_jacobian(g, x);
  EXPECT_NEAR(J(0, 0), 1.0, 1e-12);
  EXPECT_NEAR(J(0, 1), 10.0, 1e-12);
  EXPECT_NEAR(J(1, 0), 0.05, 1e-12);
  EXPECT_NEAR(J(1, 1), 1.0, 1e-12);
}

TEST(ToyGame, CertificateMatchesTheReferenceValues) {
  const Certificate c = certify(toy_game(), {});
  EXPECT_TRUE(c.constants.exact);
  EXPECT_NEAR(c.constants.euclidean_margin, 1.0 - 5.025, 1e-9);
  EXPECT_NEAR(c.constants.mu(0), 1.0, 1e-12);
  EXPECT_NEAR(c.constants.L(0, 1), 10.0, 1e-12);
  EXPECT_NEAR(c.constants.L(1, 0), 0.05, 1e-12);
  ASSERT_TRUE(c.holds);
  EXPECT_NEAR(c.weights.w(1) / c.weights.w(0), 200.0, 1e-6);
  EXPECT_NEAR(c.weights.alpha, 1.0 - std::sqrt(0.5), 1e-9);  // 0.29289
  EXPECT_NEAR(c.beta, 1.0 + std::sqrt(0.5), 1e-9);           // 1.70711
  EXPECT_NEAR(c.euler_step_max, 0.2010, 5e-5);
  EXPECT_NEAR(c.rk4_step, 1.4645, 5e-5);
  ASSERT_TRUE(c.band.has_value());
  EXPECT_NEAR(c.band->r_lo, 34.31, 5e-3);
  EXPECT_NEAR(c.band->r_hi, 1165.69, 5e-3);
  EXPECT_TRUE(c.failures.empty());
}

TEST(ToyGame, ExactMarginEqualsTheCertifiedOneAtTheReferenceWeights) {
  const QuadraticGame g = toy_game();
  const Eigen::Vector2d w(1.0, 200.0);
  EXPECT_NEAR(linear_margin(g.H(), {1, 1}, w), 1.0 - std::sqrt(0.5), 1e-12);
  EXPECT_NEAR(linear_margin(g.H(), {1, 1}, Eigen::Vector2d(1.0, 1.0)), -4.025, 1e-12);
}

TEST(ToyGame, BandEdgesAreWhereTheMarginCrossesZero) {
  // Independent check of the band formula: α*(r) in closed form, ½(2 − (10 + 0.05r)/sqrt(r)).
  const auto alpha = [](double r) { return 0.5 * (2.0 - (10.0 + 0.05 * r) / std::sqrt(r)); };
  const auto band = timescale_band(Eigen::Vector2d(1.0, 1.0), (Eigen::Matrix2d() << 0, 10, 0.05, 0).finished(), 0.0);
  ASSERT_TRUE(band.has_value());
  EXPECT_NEAR(alpha(band->r_lo), 0.0, 1e-9);
  EXPECT_NEAR(alpha(band->r_hi), 0.0, 1e-9);
  EXPECT_GT(alpha(0.5 * (band->r_lo + band->r_hi)), 0.0);
  EXPECT_LT(alpha(0.9 * band->r_lo), 0.0);
  EXPECT_LT(alpha(1.1 * band->r_hi), 0.0);
}

TEST(ToyGame, EulerContractsBelowTheBound) {
  // ρ(I − hH) in closed form: the eigenvalues of H are 1 ± sqrt(0.5), real.
  const QuadraticGame g = toy_game();
  const Certificate c = certify(g, {});
  for (double frac : {0.05, 0.25, 0.5, 0.75, 0.99}) {
    const double h = frac * c.euler_step_max;
    const double rho = std::max(std::abs(1.0 - h * (1.0 + std::sqrt(0.5))), std::abs(1.0 - h * (1.0 - std::sqrt(0.5))));
    EXPECT_NEAR(euler_spectral_radius(g.H(), h), rho, 1e-12);
    EXPECT_LT(rho, 1.0);
    EXPECT_LE(rho, euler_factor(c.weights.alpha, c.beta, h) + 1e-12);
  }
}

}  // namespace
}  // namespace rlpp::certify

namespace rlpp::certify {
namespace {

TEST(ToyGame, EulerWeightsMaximiseTheBestStepOverTheBand) {
  // w = (1, r): M^{1/2}HM^{-1/2} = [[1, a], [b, 1]], a = 10/sqrt(r), b = 0.05·sqrt(r); its largest
  // singular value from the 2×2 formula, α*(r) = 1 − (a + b)/2; brute force over r.
  const auto best_step = [](double r) {
    const double a = 10.0 / std::sqrt(r), b = 0.05 * std::sqrt(r);
    const double s2 = (2.0 + a * a + b * b) / 2.0 + std::sqrt(std::pow((a * a - b * b) / 2.0, 2) + (a + b) * (a + b));
    const double alpha = 1.0 - (a + b) / 2.0;
    return alpha > 0.0 ? alpha / s2 : 0.0;
  };
  double brute = 0.0, brute_r = 0.0;
  for (int k = 0; k <= 200000; ++k) {
    const double r = std::exp(std::log(34.0) + (std::log(1170.0) - std::log(34.0)) * k / 200000.0);
    if (best_step(r) > brute) brute = best_step(r), brute_r = r;
  }
  const Certificate c = certify(toy_game(), {});
  ASSERT_TRUE(c.euler_ratio.has_value());
  EXPECT_NEAR(c.euler_step_best_over_weights, brute, 1e-8);
  EXPECT_NEAR(*c.euler_ratio / brute_r, 1.0, 1e-3);
  EXPECT_GE(c.euler_step_best_over_weights, c.euler_step_best - 1e-12);  // at least the margin-optimal weights' step
}

}  // namespace
}  // namespace rlpp::certify
