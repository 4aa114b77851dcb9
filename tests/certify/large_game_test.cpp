// Large games take the O(N²)/O(n) paths: the block lower bound on the Euclidean margin above
// kExactMarginLimit coordinates, and the Collatz–Wielandt small-gain radius above
// kDenseRadiusLimit players; each checked against a closed form or a dense reference computed here.
#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>
#include <cmath>
#include <random>

#include "rlpp/certify/certificate.h"
#include "rlpp/certify/local_constants.h"
#include "rlpp/certify/margin.h"
#include "rlpp/certify/quadratic_game.h"

namespace rlpp::certify {
namespace {

// n one-dimensional players in a chain, H_ii = 1, H_{i,i+1} = a, H_{i+1,i} = s·a.
QuadraticGame chain_game(int64_t n, double a, double s) {
  std::vector<Player> ps(static_cast<size_t>(n), Player{"p", 1, 0, {}});
  Eigen::MatrixXd H = Eigen::MatrixXd::Identity(n, n);
  for (int64_t i = 0; i + 1 < n; ++i) {
    H(i, i + 1) = a;
    H(i + 1, i) = s * a;
  }
  return QuadraticGame(std::move(ps), H, Eigen::VectorXd::Zero(n));
}

TEST(LargeGames, EuclideanMarginAboveTheLimitIsTheBlockBound) {
  const int64_t n = kExactMarginLimit + 1;
  const double a = 0.3;
  // The comparison matrix is I − a·(path adjacency): eigenvalues 1 − 2a·cos(kπ/(n+1)), k = 1..n.
  const double bound = 1.0 - 2.0 * a * std::cos(M_PI / static_cast<double>(n + 1));
  // Symmetric coupling: sym H is that very matrix, so the bound is the exact margin.
  const LocalConstants sym = estimate_local_constants(chain_game(n, a, 1.0), {});
  EXPECT_FALSE(sym.euclidean_margin_exact);
  EXPECT_TRUE(sym.jacobians.empty());
  EXPECT_NEAR(sym.euclidean_margin, bound, 1e-9);
  // Antisymmetric coupling: sym H = I (margin 1), the bound stays below it.
  const LocalConstants anti = estimate_local_constants(chain_game(n, a, -1.0), {});
  EXPECT_NEAR(anti.euclidean_margin, bound, 1e-9);
  EXPECT_DOUBLE_EQ(anti.mu.minCoeff(), 1.0);
  EXPECT_NEAR(anti.L(0, 1), a, 1e-15);
  // At the limit the dense λ_min is still taken: margin 1 for the antisymmetric chain.
  const LocalConstants dense = estimate_local_constants(chain_game(200, a, -1.0), {});
  EXPECT_TRUE(dense.euclidean_margin_exact);
  EXPECT_NEAR(dense.euclidean_margin, 1.0, 1e-12);
}

// ρ of a nonnegative matrix by a dense eigensolver, for reference.
double dense_radius(const Eigen::VectorXd& mu, const Eigen::MatrixXd& L) {
  Eigen::MatrixXd G = L;
  G.diagonal().setZero();
  G = mu.cwiseInverse().asDiagonal() * G;
  return Eigen::EigenSolver<Eigen::MatrixXd>(G, false).eigenvalues().cwiseAbs().maxCoeff();
}

TEST(LargeGames, SmallGainRadiusByPowerIterationMatchesDenseEigenvalues) {
  std::mt19937_64 gen(5);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const int64_t N = 3 * kDenseRadiusLimit;
  Eigen::VectorXd mu(N);
  Eigen::MatrixXd L(N, N);
  for (int64_t i = 0; i < N; ++i) {
    mu(i) = 0.5 + unit(gen);
    for (int64_t j = 0; j < N; ++j) L(i, j) = unit(gen) < 0.3 ? unit(gen) / N : 0.0;
  }
  EXPECT_NEAR(small_gain_radius(mu, L), dense_radius(mu, L), 1e-10);
  // Bipartite coupling (players 0..N/2-1 only see the others and back): eigenvalues ±ρ, a
  // period-2 matrix on which plain power iteration would oscillate.
  Eigen::MatrixXd B = Eigen::MatrixXd::Zero(N, N);
  B.topRightCorner(N / 2, N / 2) = L.topRightCorner(N / 2, N / 2) + Eigen::MatrixXd::Constant(N / 2, N / 2, 0.01);
  B.bottomLeftCorner(N / 2, N / 2) = L.bottomLeftCorner(N / 2, N / 2);
  EXPECT_NEAR(small_gain_radius(mu, B), dense_radius(mu, B), 1e-10 * dense_radius(mu, B));
}

// 100 players × 10 dims: the whole pipeline on the block paths (n = 1000 keeps the dense margin).
TEST(LargeGames, RandomQuadraticGameCertifiesConsistently) {
  const QuadraticGame g = make_random_quadratic_game(100, 10, 0.5, 1);
  const Certificate c = certify(g, {});
  ASSERT_TRUE(c.holds);
  EXPECT_TRUE(c.constants.euclidean_margin_exact);
  // Q_i = diag(1 + u): μ_i is the smallest entry; each A_ij has norm 0.5·v/(N − 1) < 0.5/99.
  for (int i = 0; i < 100; ++i) {
    EXPECT_NEAR(c.constants.mu(i), g.H().block(10 * i, 10 * i, 10, 10).diagonal().minCoeff(), 1e-12);
  }
  Eigen::MatrixXd off = c.constants.L;
  off.diagonal().setZero();
  EXPECT_LT(off.maxCoeff(), 0.5 / 99.0);
  // The SGN margin is a lower bound on the exact weighted margin (arXiv 2512.06791, Thm. 1).
  EXPECT_LE(c.weights.alpha, linear_margin(g.H(), c.constants.dims, c.weights.w) + 1e-9);
  EXPECT_NEAR(c.small_gain_radius, dense_radius(c.constants.mu, c.constants.L), 1e-9);
}

}  // namespace
}  // namespace rlpp::certify
