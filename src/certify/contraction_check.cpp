#include "rlpp/certify/contraction_check.h"

#include <cmath>

#include "rlpp/certify/margin.h"
#include "rlpp/certify/markov_game.h"
#include "rlpp/certify/quadratic_game.h"
#include "rlpp/certify/step_bounds.h"
#include "rlpp/core/error.h"

namespace rlpp::certify {

Distance metric_distance(const Game& game, const Eigen::VectorXd& w) {
  std::vector<int64_t> dims;
  for (const auto& p : game.players()) dims.push_back(p.dim);
  const Eigen::VectorXd m = expand_weights(w, dims).cwiseSqrt();
  return [m](const Eigen::VectorXd& x, const Eigen::VectorXd& y) { return (m.asDiagonal() * (x - y)).norm(); };
}

Distance kl_distance(const Game& game, const Eigen::VectorXd& w) {
  const auto* markov = dynamic_cast<const MarkovGame*>(&game);
  core::require(markov != nullptr, "the KL distance needs a Markov game");
  return [markov, w](const Eigen::VectorXd& x, const Eigen::VectorXd& y) {
    double v = 0.0;
    for (int i = 0; i < markov->num_players(); ++i) v += w(i) * markov->kl(y, x, i);
    return std::sqrt(2.0 * std::max(v, 0.0));
  };
}

Eigen::VectorXd find_equilibrium(const Game& game, const DynamicsOptions& opts, const Eigen::VectorXd& x0,
                                 double tol, int64_t max_steps) {
  Eigen::VectorXd x = x0;
  for (int64_t k = 0; k < max_steps; ++k) {
    Eigen::VectorXd next = dynamics_step(game, x, opts);
    const double moved = (next - x).cwiseAbs().maxCoeff();
    x = std::move(next);
    if (!(moved >= tol)) break;  // also stops on NaN
  }
  return x;
}

ContractionReport check_contraction(const Game& game, const Certificate& cert, const DynamicsOptions& opts,
                                    const Eigen::VectorXd& x0, const Eigen::VectorXd& y0, const Distance& distance) {
  ContractionReport r;
  const double alpha = cert.weights.alpha, h = opts.step;
  r.certified_rate = alpha;
  r.certified_factor = opts.method == Method::kRk4 ? std::exp(-alpha * h) : euler_factor(alpha, cert.beta, h);
  const auto xs = simulate(game, x0, opts);
  const auto ys = simulate(game, y0, opts);
  const int64_t K = static_cast<int64_t>(std::min(xs.size(), ys.size())) - 1;
  const double d0 = distance(xs[0], ys[0]);
  core::require(d0 > 0.0, "the two starting points of the contraction check coincide");
  double last = d0;
  int64_t k_used = 0;
  for (int64_t k = 0; k < K; ++k) {
    const double dk = distance(xs[k], ys[k]), dn = distance(xs[k + 1], ys[k + 1]);
    // Stop a factor 1e6 below the start: the KL distance, sqrt(2·KL) with KL computed as
    // Σ p* log(p*/p), loses its relative accuracy there (round-off ~1e-16 in KL is ~1e-8 in d).
    if (dk < 1e-6 * d0 || !(dn > 0.0)) break;
    r.measured_factor = std::max(r.measured_factor, dn / dk);
    last = dn;
    k_used = k + 1;
  }
  r.steps_run = k_used;
  r.final_ratio = last / d0;
  r.measured_rate = k_used > 0 ? -std::log(r.final_ratio) / (static_cast<double>(k_used) * h) : 0.0;
  r.consistent = k_used > 0 && r.measured_factor <= r.certified_factor + 1e-9;
  const auto* quad = dynamic_cast<const QuadraticGame*>(&game);
  if (quad != nullptr && opts.method == Method::kEuler) {
    Eigen::MatrixXd DH = quad->H();
    if (opts.player_scale.size()) {
      for (int i = 0; i < game.num_players(); ++i) {
        const auto& p = game.players()[i];
        DH.middleRows(p.offset, p.dim) *= opts.player_scale(i);
      }
    }
    r.euler_threshold_measured = euler_linear_threshold(DH);
  }
  return r;
}

}  // namespace rlpp::certify
