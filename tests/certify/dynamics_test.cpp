// Certified games contract in simulation at the certified step, and the certificate's rate is never
// faster than the measured one; Euler/RK4 stability thresholds against hand-known values.
#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>
#include <cmath>
#include <random>

#include "rlpp/certify/contraction_check.h"
#include "rlpp/certify/quadratic_game.h"
#include "rlpp/certify/step_bounds.h"

namespace rlpp::certify {
namespace {

QuadraticGame toy_game() {
  Eigen::MatrixXd H(2, 2);
  H << 1.0, 10.0, 0.05, 1.0;
  return QuadraticGame({{"p1", 1, 0, {}}, {"p2", 1, 0, {}}}, H, Eigen::Vector2d(0.3, -0.2));
}

// ρ(I − hH) straight from the eigenvalues of the iteration matrix.
double iteration_radius(const Eigen::MatrixXd& H, double h) {
  const Eigen::MatrixXd T = Eigen::MatrixXd::Identity(H.rows(), H.cols()) - h * H;
  return Eigen::EigenSolver<Eigen::MatrixXd>(T, false).eigenvalues().cwiseAbs().maxCoeff();
}

TEST(Dynamics, CertifiedGamesContractAtTheCertifiedStep) {
  std::vector<QuadraticGame> games{toy_game(), make_lq_rotation_game(8, 1.0, 10.0, 0.05, 2),
                                   make_random_quadratic_game(6, 3, 0.8, 4)};
  std::mt19937_64 gen(1);
  for (const auto& g : games) {
    const Certificate c = certify(g, {});
    ASSERT_TRUE(c.holds);
    for (double frac : {0.5, 1.0, 1.9}) {  // of the best step α/β²; 2.0 is the bound
      DynamicsOptions o;
      o.step = frac * c.euler_step_best;
      o.steps = 300;
      const Eigen::VectorXd x0 = Eigen::VectorXd::Random(g.dim()), y0 = Eigen::VectorXd::Random(g.dim());
      const ContractionReport r = check_contraction(g, c, o, x0, y0, metric_distance(g, c.weights.w));
      EXPECT_TRUE(r.consistent) << "measured " << r.measured_factor << " certified " << r.certified_factor;
      EXPECT_LT(r.final_ratio, 1.0);
      EXPECT_GE(r.measured_rate, -std::log(r.certified_factor) / o.step - 1e-9);
      EXPECT_LT(iteration_radius(g.H(), o.step), 1.0);
      ASSERT_TRUE(r.euler_threshold_measured.has_value());
      EXPECT_GE(*r.euler_threshold_measured, c.euler_step_max - 1e-9);  // the bound is safe
    }
  }
}

TEST(Dynamics, SmallStepRk4FollowsTheFlowAtLeastAsFastAsCertified) {
  const QuadraticGame g = toy_game();
  const Certificate c = certify(g, {});
  DynamicsOptions o;
  o.method = Method::kRk4;
  o.step = 0.01;
  o.steps = 2000;
  const ContractionReport r = check_contraction(g, c, o, Eigen::Vector2d(1, 0), Eigen::Vector2d(0, 1),
                                                metric_distance(g, c.weights.w));
  EXPECT_GE(r.measured_rate, c.weights.alpha);
  EXPECT_TRUE(r.consistent);
}

TEST(Dynamics, RungeKuttaAndEulerThresholdsOnScalarGames) {
  // RK4's real stability interval is [−2.785293563, 0]; Euler's is [−2, 0].
  EXPECT_NEAR(rk4_linear_threshold(Eigen::MatrixXd::Constant(1, 1, 1.0)), 2.785293563, 1e-6);
  EXPECT_NEAR(euler_linear_threshold(Eigen::MatrixXd::Constant(1, 1, 4.0)), 0.5, 1e-9);
  // Pure rotation (eigenvalues ±i): RK4 is stable up to h = 2·sqrt(2) on the imaginary axis.
  Eigen::MatrixXd rot(2, 2);
  rot << 0, 1, -1, 0;
  EXPECT_NEAR(rk4_linear_threshold(rot), 2.0 * std::sqrt(2.0), 1e-6);
  EXPECT_LT(euler_linear_threshold(rot), 1e-5);  // |1 + ih| > 1: unstable for every h (to round-off)
}

TEST(Dynamics, ProjectedEulerStaysOnTheSimplexAndPerPlayerStepsScaleBlocks) {
  Eigen::MatrixXd A(2, 2);
  A << 1, -1, -1, 1;
  Constraint simplex;
  simplex.kind = ConstraintKind::kSimplex;
  const QuadraticGame g = make_bilinear_game(A, 0.5, 0.5, simplex, simplex);
  DynamicsOptions o;
  o.step = 0.3;
  o.steps = 50;
  for (const auto& x : simulate(g, Eigen::Vector4d(1, 0, 0, 1), o)) {
    EXPECT_NEAR(x.head(2).sum(), 1.0, 1e-12);
    EXPECT_NEAR(x.tail(2).sum(), 1.0, 1e-12);
    EXPECT_GE(x.minCoeff(), 0.0);
  }
  const QuadraticGame t = toy_game();
  o.player_scale = Eigen::VectorXd::Unit(2, 0);  // player 2 frozen
  const Eigen::Vector2d x(0.5, 0.25);
  const Eigen::VectorXd y = dynamics_step(t, x, o);
  EXPECT_NEAR(y(0), 0.5 - 0.3 * (0.5 + 10.0 * 0.25 + 0.3), 1e-12);
  EXPECT_EQ(y(1), 0.25);
}

TEST(Constraints, SimplexProjectionMatchesAHandComputedCase) {
  // (0.5, 0.9, -0.2) → θ = 0.2: (0.3, 0.7, 0).
  const Eigen::VectorXd p = project_simplex(Eigen::Vector3d(0.5, 0.9, -0.2));
  EXPECT_NEAR(p(0), 0.3, 1e-12);
  EXPECT_NEAR(p(1), 0.7, 1e-12);
  EXPECT_NEAR(p(2), 0.0, 1e-12);
}

}  // namespace
}  // namespace rlpp::certify
