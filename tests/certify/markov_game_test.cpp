// Markov games: the exact occupancy objective against value iteration written out in the test,
// the autograd pseudo-gradient against central finite differences of that reference, the natural
// gradient against F·g = ∇f, and the Fisher certificate against NPG in simulation.
#include <gtest/gtest.h>

#include <cmath>

#include "rlpp/certify/contraction_check.h"
#include "rlpp/certify/game_file.h"
#include "rlpp/certify/markov_game.h"

namespace rlpp::certify {
namespace {

GameFile coordination() { return load_game_file(std::string(RLPP_SOURCE_DIR) + "/configs/games/markov_coordination.toml"); }

// f_i(θ) by value iteration in plain doubles; 2 players.
std::vector<double> reference_costs(const MarkovGameSpec& s, const Eigen::VectorXd& theta) {
  const int S = static_cast<int>(s.states);
  const int A0 = static_cast<int>(s.actions[0]), A1 = static_cast<int>(s.actions[1]);
  auto pi = [&](int player, int st, int a) {
    const int A = player == 0 ? A0 : A1, off = player == 0 ? 0 : S * A0;
    double z = 0.0;
    for (int b = 0; b < A; ++b) z += std::exp(theta(off + st * A + b));
    return std::exp(theta(off + st * A + a)) / z;
  };
  std::vector<double> out;
  for (int i = 0; i < 2; ++i) {
    std::vector<double> V(S, 0.0);
    for (int it = 0; it < 2000; ++it) {
      std::vector<double> next(S, 0.0);
      for (int st = 0; st < S; ++st)
        for (int a0 = 0; a0 < A0; ++a0)
          for (int a1 = 0; a1 < A1; ++a1) {
            const double p = pi(0, st, a0) * pi(1, st, a1);
            double cont = 0.0;
            for (int t = 0; t < S; ++t) cont += s.transitions[st][a0 * A1 + a1][t] * V[t];
            next[st] += p * (s.rewards[i][st][a0 * A1 + a1] + s.gamma * cont);
          }
      V = next;
    }
    double value = 0.0, entropy = 0.0;
    for (int st = 0; st < S; ++st) {
      value += s.initial[st] * V[st];
      for (int a = 0; a < (i == 0 ? A0 : A1); ++a) entropy -= pi(i, st, a) * std::log(pi(i, st, a));
    }
    out.push_back(-(value + s.tau * entropy));
  }
  return out;
}

TEST(MarkovGame, CostsMatchValueIteration) {
  const GameFile f = coordination();
  const auto& g = dynamic_cast<const MarkovGame&>(*f.game);
  const Eigen::VectorXd theta = Eigen::VectorXd::Random(g.dim());
  const Eigen::VectorXd got = to_eigen(g.costs(to_tensor(theta)));
  const std::vector<double> want = reference_costs(g.spec(), theta);
  EXPECT_NEAR(got(0), want[0], 1e-9);
  EXPECT_NEAR(got(1), want[1], 1e-9);
}

TEST(MarkovGame, PseudoGradientMatchesFiniteDifferencesAndNaturalGradientSolvesFisher) {
  const GameFile f = coordination();
  const auto& g = dynamic_cast<const MarkovGame&>(*f.game);
  const Eigen::VectorXd theta = 0.7 * Eigen::VectorXd::Random(g.dim());
  const Eigen::VectorXd F = g.pseudo_gradient(theta);
  const double eps = 1e-5;
  for (int i = 0; i < 2; ++i) {
    const auto& p = g.players()[i];
    for (int64_t k = p.offset; k < p.offset + p.dim; ++k) {
      Eigen::VectorXd up = theta, down = theta;
      up(k) += eps;
      down(k) -= eps;
      const double fd = (reference_costs(g.spec(), up)[i] - reference_costs(g.spec(), down)[i]) / (2 * eps);
      EXPECT_NEAR(F(k), fd, 1e-6) << "coordinate " << k;
    }
    // F_i = blockdiag(diag(p) − ppᵀ) + ridge·I, written out here.
    const Eigen::VectorXd ng = g.natural_gradient(theta).segment(p.offset, p.dim);
    Eigen::VectorXd Fng = 1e-3 * ng;
    for (int st = 0; st < 2; ++st) {
      const Eigen::VectorXd z = theta.segment(p.offset + 2 * st, 2);
      const Eigen::VectorXd q = (z.array().exp() / z.array().exp().sum()).matrix();
      const Eigen::VectorXd v = ng.segment(2 * st, 2);
      Fng.segment(2 * st, 2) += q.cwiseProduct(v) - q * q.dot(v);
    }
    EXPECT_LT((Fng - F.segment(p.offset, p.dim)).cwiseAbs().maxCoeff(), 1e-9);
  }
}

TEST(MarkovGame, FisherCertificateHoldsAndNpgContractsAtHalfTheEulerBound) {
  const GameFile f = coordination();
  CertifyOptions opts{f.region, f.geometry, nullptr};
  const Certificate c = certify(*f.game, opts);
  ASSERT_TRUE(c.holds) << certificate_summary(c);
  EXPECT_FALSE(c.constants.exact);
  EXPECT_GT(c.constants.grid_points, 0);
  DynamicsOptions o;
  o.method = Method::kNpg;
  o.step = 0.5 * c.euler_step_max;  // η = 0.5·(2α/β²), the reference setting
  o.steps = 1000;
  const Eigen::VectorXd star = find_equilibrium(*f.game, o, Eigen::VectorXd::Zero(f.game->dim()), 1e-13, 20000);
  EXPECT_LT(f.game->natural_gradient(star).norm(), 1e-8);
  const Eigen::VectorXd x0 = f.region.radius * Eigen::VectorXd::Random(f.game->dim());
  const ContractionReport r = check_contraction(*f.game, c, o, x0, star, kl_distance(*f.game, c.weights.w));
  EXPECT_LT(r.final_ratio, 1e-2);
  EXPECT_GT(r.steps_run, 100);
  EXPECT_GE(r.measured_rate, -std::log(r.certified_factor) / o.step);
}

}  // namespace
}  // namespace rlpp::certify
