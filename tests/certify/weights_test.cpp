// The N-player weight optimiser against brute force over a log grid of weights, with α*(w)
// re-derived in the test from C(w) = WK + KᵀW.
#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>
#include <cmath>
#include <random>

#include "rlpp/certify/weights.h"

namespace rlpp::certify {
namespace {

double margin_by_hand(const Eigen::VectorXd& mu, const Eigen::MatrixXd& L, const Eigen::VectorXd& w) {
  const int64_t N = mu.size();
  Eigen::MatrixXd S(N, N);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < N; ++j)
      S(i, j) = (i == j ? 2.0 * w(i) * mu(i) : -(w(i) * L(i, j) + w(j) * L(j, i))) / std::sqrt(w(i) * w(j));
  return 0.5 * Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(S).eigenvalues()(0);
}

struct Case {
  Eigen::VectorXd mu;
  Eigen::MatrixXd L;
};

Case random_case(std::mt19937_64& gen, int N, double coupling) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  Case c{Eigen::VectorXd(N), Eigen::MatrixXd::Zero(N, N)};
  for (int i = 0; i < N; ++i) {
    c.mu(i) = 0.5 + unit(gen);
    for (int j = 0; j < N; ++j)
      if (i != j) c.L(i, j) = coupling * (0.2 + unit(gen));
  }
  return c;
}

// max over w = (1, 10^a, 10^b, …) on a grid of step `step` in [-3, 3] per free coordinate.
double brute_force(const Case& c, double step) {
  const int N = static_cast<int>(c.mu.size());
  const int per = static_cast<int>(std::lround(6.0 / step)) + 1;
  int64_t total = 1;
  for (int k = 1; k < N; ++k) total *= per;
  double best = -1e300;
  for (int64_t idx = 0; idx < total; ++idx) {
    Eigen::VectorXd w = Eigen::VectorXd::Ones(N);
    int64_t r = idx;
    for (int k = 1; k < N; ++k) {
      w(k) = std::pow(10.0, -3.0 + step * static_cast<double>(r % per));
      r /= per;
    }
    best = std::max(best, margin_by_hand(c.mu, c.L, w));
  }
  return best;
}

TEST(Weights, OptimiserMatchesBruteForceOnTwoAndThreePlayers) {
  std::mt19937_64 gen(5);
  for (int N : {2, 3}) {
    for (int trial = 0; trial < 6; ++trial) {
      const Case c = random_case(gen, N, trial % 2 ? 0.6 : 0.25);
      const WeightChoice got = optimise_weights(c.mu, c.L);
      const double brute = brute_force(c, N == 2 ? 0.002 : 0.02);
      EXPECT_NEAR(got.alpha, margin_by_hand(c.mu, c.L, got.w), 1e-10);  // the reported α is w's
      EXPECT_GE(got.alpha, brute - 1e-9) << "N=" << N << " trial " << trial;
      EXPECT_LE(got.alpha, brute + (N == 2 ? 1e-4 : 5e-3)) << "N=" << N << " trial " << trial;
    }
  }
}

TEST(Weights, TwoPlayerClosedFormEqualsTheOptimumOfTheScalarFormula) {
  // α*(r) = ½[(μ1+μ2) − sqrt((μ1−μ2)² + (L12 + rL21)²/r)], maximised at r = L12/L21.
  const Eigen::Vector2d mu(1.5, 0.7);
  Eigen::Matrix2d L;
  L << 0, 2.0, 0.1, 0;
  const WeightChoice c = two_player_weights(mu, L);
  EXPECT_NEAR(c.w(1) / c.w(0), 20.0, 1e-9);
  const double expect = 0.5 * (2.2 - std::sqrt(0.8 * 0.8 + 4.0 * 0.2));
  EXPECT_NEAR(c.alpha, expect, 1e-12);
  EXPECT_NEAR(optimise_weights(mu, L).alpha, expect, 1e-9);
}

TEST(Weights, PerronWeightsReachTheOptimumForIrreducibleCouplings) {
  std::mt19937_64 gen(9);
  for (int trial = 0; trial < 5; ++trial) {
    const Case c = random_case(gen, 5, 0.3);  // all L_ij > 0: irreducible
    const WeightChoice p = perron_weights(c.mu, c.L);
    EXPECT_EQ(p.method, "perron");
    EXPECT_NEAR(p.alpha, optimise_weights(c.mu, c.L).alpha, 1e-7);
    // τ(K) = min real eigenvalue of K, the optimum of the N-player problem.
    Eigen::MatrixXd K = -c.L;
    K.diagonal() = c.mu;
    EXPECT_NEAR(p.alpha, Eigen::EigenSolver<Eigen::MatrixXd>(K).eigenvalues().real().minCoeff(), 1e-7);
  }
}

TEST(Weights, FailingGamesReportTheBestNegativeMargin) {
  const Eigen::Vector2d mu(1.0, 1.0);
  Eigen::Matrix2d L;
  L << 0, 4.0, 1.0, 0;  // L12·L21 = 4 > μ1μ2 = 1: best α = 1 − 2 = −1
  EXPECT_NEAR(optimise_weights(mu, L).alpha, -1.0, 1e-9);
  EXPECT_FALSE(timescale_band(mu, L, 0.0).has_value());
}

}  // namespace
}  // namespace rlpp::certify
