// LQ game of arXiv 2512.06791 (2 players × 32 dims, A12 = 10λR, A21 = 0.05λRᵀ): Euclidean margin
// 1 − 5.025λ, SGN margin 1 − 0.707λ; and α* ≤ α_true on random linear games, with α_true
// re-derived in the test as a generalised eigenvalue problem.
#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>
#include <cmath>
#include <random>

#include "rlpp/certify/certificate.h"
#include "rlpp/certify/margin.h"
#include "rlpp/certify/quadratic_game.h"

namespace rlpp::certify {
namespace {

TEST(LqGame, ReferenceMarginsAcrossLambda) {
  for (double lambda : {0.05, 0.1, 0.19, 0.21, 0.5, 1.0, 1.4, 1.42, 2.0}) {
    const Certificate c = certify(make_lq_rotation_game(32, lambda, 10.0, 0.05, /*seed=*/3), {});
    EXPECT_NEAR(c.constants.euclidean_margin, 1.0 - 5.025 * lambda, 1e-9) << lambda;
    EXPECT_NEAR(c.weights.alpha, 1.0 - std::sqrt(0.5) * lambda, 1e-9) << lambda;
    EXPECT_EQ(c.holds, lambda < std::sqrt(2.0)) << lambda;
    EXPECT_EQ(c.constants.euclidean_margin > 0.0, lambda < 1.0 / 5.025) << lambda;
    if (!c.holds) {
      ASSERT_EQ(c.failures.size(), 1u);
      EXPECT_NE(c.failures[0].find("L12*L21"), std::string::npos) << c.failures[0];
    }
  }
}

TEST(LqGame, TheRotationIsOrthogonal) {
  const QuadraticGame g = make_lq_rotation_game(8, 1.0, 10.0, 0.05, 1);
  const Eigen::MatrixXd R = g.H().topRightCorner(8, 8) / 10.0;
  EXPECT_LT((R.transpose() * R - Eigen::MatrixXd::Identity(8, 8)).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_LT((g.H().bottomLeftCorner(8, 8) - 0.05 * R.transpose()).cwiseAbs().maxCoeff(), 1e-12);
}

// λ_min of ½(MH + HᵀM) relative to M: the generalised problem S v = λ M v.
double exact_margin(const Eigen::MatrixXd& H, const Eigen::VectorXd& m) {
  const Eigen::MatrixXd M = m.asDiagonal();
  const Eigen::MatrixXd S = 0.5 * (M * H + H.transpose() * M);
  return Eigen::GeneralizedSelfAdjointEigenSolver<Eigen::MatrixXd>(S, M).eigenvalues()(0);
}

TEST(LinearGames, CertifiedMarginNeverExceedsTheExactOne) {
  std::mt19937_64 gen(11);
  std::uniform_int_distribution<int> players(2, 4), dims(1, 3);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int trial = 0; trial < 40; ++trial) {
    const int N = players(gen);
    std::vector<Player> ps;
    for (int i = 0; i < N; ++i) ps.push_back({"p", dims(gen), 0, {}});
    const QuadraticGame shell(ps, Eigen::MatrixXd(), Eigen::VectorXd());
    const int64_t n = shell.dim();
    Eigen::MatrixXd H = 0.6 * Eigen::MatrixXd::Random(n, n);
    for (const auto& p : shell.players()) {
      Eigen::MatrixXd B = Eigen::MatrixXd::Random(p.dim, p.dim);
      H.block(p.offset, p.offset, p.dim, p.dim) = B * B.transpose() + (0.5 + unit(gen)) * Eigen::MatrixXd::Identity(p.dim, p.dim);
    }
    const QuadraticGame g(shell.players(), H, Eigen::VectorXd::Zero(n));
    const Certificate c = certify(g, {});
    std::vector<int64_t> d;
    for (const auto& p : g.players()) d.push_back(p.dim);
    // Any weights, not just the optimised ones.
    for (int k = 0; k < 5; ++k) {
      Eigen::VectorXd w = (Eigen::VectorXd::Random(N).array() * 2.0).exp().matrix();
      if (k == 0) w = c.weights.w;
      const double a_star = sgn_margin(c.constants.mu, c.constants.L, w);
      EXPECT_LE(a_star, exact_margin(H, expand_weights(w, d)) + 1e-9) << "trial " << trial;
    }
  }
}

}  // namespace
}  // namespace rlpp::certify
