#include "rlpp/certify/step_bounds.h"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <complex>
#include <functional>

namespace rlpp::certify {
namespace {

using cd = std::complex<double>;

Eigen::VectorXcd eigenvalues(const Eigen::MatrixXd& H) { return Eigen::EigenSolver<Eigen::MatrixXd>(H, false).eigenvalues(); }

// max_k |p(−h λ_k)| for a polynomial stability function p.
double radius(const Eigen::VectorXcd& ev, double h, const std::function<cd(cd)>& p) {
  double r = 0.0;
  for (int64_t k = 0; k < ev.size(); ++k) r = std::max(r, std::abs(p(-h * ev(k))));
  return r;
}

// ρ < 1 up to round-off: on the imaginary axis RK4's |P(ih)|² = 1 − h⁶/72 + h⁸/576 rounds to 1 for
// small h, which is still stable.
bool stable(const Eigen::VectorXcd& ev, double h, const std::function<cd(cd)>& p) {
  return radius(ev, h, p) < 1.0 + 1e-12;
}

cd euler_poly(cd z) { return 1.0 + z; }
cd rk4_poly(cd z) { return 1.0 + z + z * z / 2.0 + z * z * z / 6.0 + z * z * z * z / 24.0; }

double threshold(const Eigen::MatrixXd& H, const std::function<cd(cd)>& p) {
  const Eigen::VectorXcd ev = eigenvalues(H);
  const double scale = std::max(ev.cwiseAbs().maxCoeff(), 1e-300);
  // Scan h = scale^{-1}·t for t on a fine grid (the stability region is bounded by |z| ≤ 3 for RK4).
  const int steps = 4000;
  const double t_max = 4.0;
  double last_ok = 0.0;
  for (int k = 1; k <= steps; ++k) {
    const double h = t_max * k / steps / scale;
    if (!stable(ev, h, p)) {
      double lo = last_ok, hi = h;
      for (int it = 0; it < 80; ++it) {
        const double mid = 0.5 * (lo + hi);
        (stable(ev, mid, p) ? lo : hi) = mid;
      }
      return lo;
    }
    last_ok = h;
  }
  return last_ok;
}

}  // namespace

double euler_step_bound(double alpha, double beta) { return alpha > 0.0 ? 2.0 * alpha / (beta * beta) : 0.0; }
double euler_best_step(double alpha, double beta) { return alpha > 0.0 ? alpha / (beta * beta) : 0.0; }
double euler_factor(double alpha, double beta, double h) {
  return std::sqrt(std::max(0.0, 1.0 - 2.0 * h * alpha + h * h * beta * beta));
}
double rk4_step_guideline(double beta) { return 2.5 / beta; }

double euler_spectral_radius(const Eigen::MatrixXd& H, double h) { return radius(eigenvalues(H), h, euler_poly); }
double rk4_spectral_radius(const Eigen::MatrixXd& H, double h) { return radius(eigenvalues(H), h, rk4_poly); }
double euler_linear_threshold(const Eigen::MatrixXd& H) { return threshold(H, euler_poly); }
double rk4_linear_threshold(const Eigen::MatrixXd& H) { return threshold(H, rk4_poly); }

}  // namespace rlpp::certify
