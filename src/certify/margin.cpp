#include "rlpp/certify/margin.h"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>

#include "rlpp/certify/local_constants.h"

namespace rlpp::certify {

Eigen::MatrixXd comparison_matrix(const Eigen::VectorXd& mu, const Eigen::MatrixXd& L) {
  Eigen::MatrixXd K = -L;
  K.diagonal() = mu;
  return K;
}

double sgn_margin(const Eigen::VectorXd& mu, const Eigen::MatrixXd& L, const Eigen::VectorXd& w) {
  const Eigen::MatrixXd K = comparison_matrix(mu, L);
  const Eigen::MatrixXd C = w.asDiagonal() * K + K.transpose() * w.asDiagonal();
  const Eigen::VectorXd s = w.cwiseSqrt().cwiseInverse();
  const Eigen::MatrixXd S = s.asDiagonal() * C * s.asDiagonal();
  return 0.5 * Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(S, Eigen::EigenvaluesOnly).eigenvalues()(0);
}

Eigen::VectorXd expand_weights(const Eigen::VectorXd& w, const std::vector<int64_t>& dims) {
  int64_t n = 0;
  for (int64_t d : dims) n += d;
  Eigen::VectorXd m(n);
  int64_t off = 0;
  for (size_t i = 0; i < dims.size(); ++i) {
    m.segment(off, dims[i]).setConstant(w(i));
    off += dims[i];
  }
  return m;
}

double linear_margin(const Eigen::MatrixXd& H, const std::vector<int64_t>& dims, const Eigen::VectorXd& w) {
  // M^{-1/2} ½(MH + HᵀM) M^{-1/2} = ½(M^{1/2} H M^{-1/2} + its transpose).
  const Eigen::VectorXd m = expand_weights(w, dims).cwiseSqrt();
  const Eigen::MatrixXd A = m.asDiagonal() * H * m.cwiseInverse().asDiagonal();
  return min_sym_eigenvalue(A);
}

double metric_lipschitz(const std::vector<Eigen::MatrixXd>& jacobians, const std::vector<int64_t>& dims,
                        const Eigen::MatrixXd& L, const Eigen::VectorXd& w, bool* exact, int64_t exact_limit) {
  int64_t n = 0;
  for (int64_t d : dims) n += d;
  const bool use_exact = !jacobians.empty() && n <= exact_limit;
  if (exact) *exact = use_exact;
  if (use_exact) {
    const Eigen::VectorXd m = expand_weights(w, dims).cwiseSqrt();
    double beta = 0.0;
    for (const auto& J : jacobians) {
      beta = std::max(beta, spectral_norm(m.asDiagonal() * J * m.cwiseInverse().asDiagonal()));
    }
    return beta;
  }
  const Eigen::VectorXd s = w.cwiseSqrt();
  const Eigen::MatrixXd B = s.asDiagonal() * L.cwiseAbs() * s.cwiseInverse().asDiagonal();
  return spectral_norm(B);
}

double small_gain_radius(const Eigen::VectorXd& mu, const Eigen::MatrixXd& L) {
  Eigen::MatrixXd G = L;
  G.diagonal().setZero();
  G = mu.cwiseInverse().asDiagonal() * G;
  if (G.size() == 0) return 0.0;
  if (G.rows() <= kDenseRadiusLimit) {
    return Eigen::EigenSolver<Eigen::MatrixXd>(G, false).eigenvalues().cwiseAbs().maxCoeff();
  }
  // G ≥ 0, so ρ(G) is its Perron root, and any x > 0 brackets it (Collatz–Wielandt):
  // min_i (Gx)_i/x_i ≤ ρ ≤ max_i (Gx)_i/x_i. Power iteration on G + I (same Perron vector, no
  // period-k oscillation, x stays > 0) closes the bracket; the upper end is returned.
  Eigen::VectorXd x = Eigen::VectorXd::Ones(G.rows());
  double hi = 0.0;
  for (int it = 0; it < 20000; ++it) {
    const Eigen::VectorXd y = G * x;
    const Eigen::ArrayXd r = y.array() / x.array();
    hi = r.maxCoeff();
    if (hi - r.minCoeff() <= 1e-12 * hi) break;
    x = y + x;
    x /= x.maxCoeff();
  }
  return hi;
}

}  // namespace rlpp::certify
