#include "rlpp/certify/weights.h"

#include <Eigen/Cholesky>
#include <Eigen/LU>
#include <cmath>

#include "rlpp/certify/margin.h"

namespace rlpp::certify {
namespace {

WeightChoice choice(Eigen::VectorXd w, const Eigen::VectorXd& mu, const Eigen::MatrixXd& L, std::string method) {
  w /= w.maxCoeff();
  const double alpha = sgn_margin(mu, L, w);
  return {std::move(w), alpha, std::move(method)};
}

// α*(w) ≥ a ⇔ W^{-1/2}C(w)W^{-1/2} − 2aI ⪰ 0: one Cholesky (N³/3) instead of the eigenvalues.
bool margin_at_least(const Eigen::VectorXd& mu, const Eigen::MatrixXd& L, const Eigen::VectorXd& w, double a) {
  const Eigen::MatrixXd K = comparison_matrix(mu, L);
  const Eigen::VectorXd s = w.cwiseSqrt().cwiseInverse();
  Eigen::MatrixXd S = s.asDiagonal() * (w.asDiagonal() * K + K.transpose() * w.asDiagonal()) * s.asDiagonal();
  S.diagonal().array() -= 2.0 * a;
  return Eigen::LLT<Eigen::MatrixXd>(S).info() == Eigen::Success;
}

// W = diag(y/x) with (K − αI)x = 1, (K − αI)ᵀy = 1 when both are positive and W meets α.
bool feasible(const Eigen::MatrixXd& K, const Eigen::VectorXd& mu, const Eigen::MatrixXd& L, double alpha,
              Eigen::VectorXd* w) {
  const int64_t N = K.rows();
  const Eigen::MatrixXd A = K - alpha * Eigen::MatrixXd::Identity(N, N);
  const Eigen::PartialPivLU<Eigen::MatrixXd> lu(A);
  const Eigen::VectorXd ones = Eigen::VectorXd::Ones(N);
  const Eigen::VectorXd x = lu.solve(ones);
  const Eigen::VectorXd y = lu.transpose().solve(ones);
  if (!x.allFinite() || !y.allFinite() || x.minCoeff() <= 0.0 || y.minCoeff() <= 0.0) return false;
  Eigen::VectorXd v = y.cwiseQuotient(x);
  v /= v.maxCoeff();
  if (!(v.minCoeff() > 0.0)) return false;
  if (!margin_at_least(mu, L, v, alpha - 1e-9 * (1.0 + std::abs(alpha)))) return false;
  *w = v;
  return true;
}

}  // namespace

double best_ratio_two_players(const Eigen::VectorXd& mu, const Eigen::MatrixXd& L) {
  const double l12 = L(0, 1), l21 = L(1, 0);
  const double small = 1e-6 * std::max(1.0, mu.cwiseAbs().maxCoeff());  // target for c(r)
  if (l12 > 0.0 && l21 > 0.0) return l12 / l21;
  if (l12 > 0.0) return (l12 / small) * (l12 / small);  // c = L12/sqrt(r)
  if (l21 > 0.0) return (small / l21) * (small / l21);  // c = L21·sqrt(r)
  return 1.0;
}

std::optional<Band> timescale_band(const Eigen::VectorXd& mu, const Eigen::MatrixXd& L, double alpha_level) {
  const double l12 = L(0, 1), l21 = L(1, 0);
  if (mu(0) <= alpha_level || mu(1) <= alpha_level || l21 <= 0.0) return std::nullopt;
  const double P = (mu(0) - alpha_level) * (mu(1) - alpha_level);
  if (P <= l12 * l21) return std::nullopt;
  const double root = 2.0 * std::sqrt(P * (P - l12 * l21));
  return Band{alpha_level, (2.0 * P - l12 * l21 - root) / (l21 * l21), (2.0 * P - l12 * l21 + root) / (l21 * l21)};
}

WeightChoice two_player_weights(const Eigen::VectorXd& mu, const Eigen::MatrixXd& L) {
  return choice(Eigen::Vector2d(1.0, best_ratio_two_players(mu, L)), mu, L, "closed-form");
}

WeightChoice perron_weights(const Eigen::VectorXd& mu, const Eigen::MatrixXd& L) {
  // sI − K ≥ 0 shares K's eigenvectors; power iteration finds its Perron pair (a tiny all-positive
  // perturbation keeps it irreducible so the vectors stay positive).
  const int64_t N = mu.size();
  const Eigen::MatrixXd K = comparison_matrix(mu, L);
  Eigen::MatrixXd B = (mu.maxCoeff() + 1.0) * Eigen::MatrixXd::Identity(N, N) - K;
  B.array() += 1e-12 * B.cwiseAbs().maxCoeff();
  Eigen::VectorXd x = Eigen::VectorXd::Ones(N), y = Eigen::VectorXd::Ones(N);
  // B > 0 keeps x, y > 0; stop once both Collatz–Wielandt brackets max/min (Bx)_i/x_i have closed.
  const auto spread = [](const Eigen::VectorXd& bx, const Eigen::VectorXd& x) {
    const Eigen::ArrayXd r = bx.array() / x.array();
    return (r.maxCoeff() - r.minCoeff()) / r.maxCoeff();
  };
  for (int it = 0; it < 5000; ++it) {
    const Eigen::VectorXd bx = B * x, by = B.transpose() * y;
    const bool converged = std::max(spread(bx, x), spread(by, y)) <= 1e-14;
    x = bx.normalized();
    y = by.normalized();
    if (converged) break;
  }
  return choice(y.cwiseQuotient(x), mu, L, "perron");
}

WeightChoice optimise_weights(const Eigen::VectorXd& mu, const Eigen::MatrixXd& L) {
  const int64_t N = mu.size();
  if (N == 1) return choice(Eigen::VectorXd::Ones(1), mu, L, "bisection");
  const Eigen::MatrixXd K = comparison_matrix(mu, L);
  Eigen::MatrixXd off = L.cwiseAbs();
  off.diagonal().setZero();
  // Below min_i(μ_i − Σ_j L_ij), K − αI is strictly diagonally dominant: feasible.
  double lo = (mu - off.rowwise().sum()).minCoeff() - 1.0;
  double hi = mu.minCoeff();
  Eigen::VectorXd w;
  if (!feasible(K, mu, L, lo, &w)) return perron_weights(mu, L);
  for (int it = 0; it < 100 && hi - lo > 1e-13 * (1.0 + std::abs(hi)); ++it) {
    const double mid = 0.5 * (lo + hi);
    Eigen::VectorXd v;
    if (feasible(K, mu, L, mid, &v)) {
      lo = mid;
      w = v;
    } else {
      hi = mid;
    }
  }
  WeightChoice best = choice(w, mu, L, "bisection");
  const WeightChoice perron = perron_weights(mu, L);
  return perron.alpha > best.alpha ? perron : best;
}

}  // namespace rlpp::certify
