// Empirical check of a certificate: run the dynamics from two starts and measure how fast their
// distance shrinks. The certificate must never promise more than what is measured:
//   per step (Euler/NPG at step h):  d_{k+1}/d_k ≤ q(h) = sqrt(1 − 2hα* + h²β²)
//   average rate:                    −ln(d_K/d_0)/(K·h) compared with α*
// where d is the M(w)-norm distance (Euclidean games) or, for Markov games, sqrt(2·Σ_i w_i KL(π*_i‖π_i))
// to the equilibrium, the Lyapunov function of arXiv 2512.06791 §5 (≈ the Fisher M-norm near π*).
#pragma once
#include <Eigen/Core>
#include <functional>
#include <optional>

#include "rlpp/certify/certificate.h"
#include "rlpp/certify/dynamics.h"

namespace rlpp::certify {

using Distance = std::function<double(const Eigen::VectorXd&, const Eigen::VectorXd&)>;

struct ContractionReport {
  int64_t steps_run = 0;
  double certified_factor = 1.0;  // q(h) (rk4: e^{−α*h}, the flow's rate)
  double measured_factor = 0.0;   // max_k d_{k+1}/d_k over the steps with d_k ≥ 1e-6·d_0
  double measured_rate = 0.0;     // −ln(d_K/d_0)/(K·h)
  double certified_rate = 0.0;    // α*
  double final_ratio = 1.0;       // d_K/d_0
  bool consistent = false;        // measured_factor ≤ certified_factor (1e-9 slack)
  // Affine games with Euler: the measured stability threshold max{h : ρ(I − hDH) < 1} next to the
  // certified one 2α*/β².
  std::optional<double> euler_threshold_measured;
};

// Runs `opts` from x0 and y0 (y0 may be a fixed point) and compares with `cert`.
ContractionReport check_contraction(const Game& game, const Certificate& cert, const DynamicsOptions& opts,
                                    const Eigen::VectorXd& x0, const Eigen::VectorXd& y0, const Distance& distance);

// ‖x − y‖_M with M = diag(w_i I_{d_i}) from the certificate's weights.
Distance metric_distance(const Game& game, const Eigen::VectorXd& w);
// sqrt(2 Σ_i w_i KL(π_i(y) ‖ π_i(x))) for a Markov game; y is the equilibrium.
Distance kl_distance(const Game& game, const Eigen::VectorXd& w);

// Runs the dynamics until ‖x_{k+1} − x_k‖_∞ < tol (or max_steps); the last state.
Eigen::VectorXd find_equilibrium(const Game& game, const DynamicsOptions& opts, const Eigen::VectorXd& x0,
                                 double tol, int64_t max_steps);

}  // namespace rlpp::certify
