// Step sizes that keep the discretised dynamics contracting (arXiv 2512.06791, §3).
//   Projected Euler x⁺ = Π_M(x − hF(x)) contracts in ‖·‖_M for 0 < h < 2α*/β², with factor
//   q(h) = sqrt(1 − 2hα* + h²β²); the best step is h = α*/β² (q = sqrt(1 − α*²/β²)).
//   RK4: the guideline h ≤ 2.5/β; on linear games the true threshold is where the spectral radius
//   of P(−hH) = I + Z + Z²/2 + Z³/6 + Z⁴/24, Z = −hH, reaches 1.
#pragma once
#include <Eigen/Core>

namespace rlpp::certify {

double euler_step_bound(double alpha, double beta);   // 2α/β² (0 when α ≤ 0)
double euler_best_step(double alpha, double beta);    // α/β²
double euler_factor(double alpha, double beta, double h);  // sqrt(max(0, 1 − 2hα + h²β²))
double rk4_step_guideline(double beta);               // 2.5/β

// ρ(I − hH): Euler's one-step spectral radius on F = Hx.
double euler_spectral_radius(const Eigen::MatrixXd& H, double h);
// ρ(P(−hH)): RK4's one-step spectral radius on F = Hx.
double rk4_spectral_radius(const Eigen::MatrixXd& H, double h);
// The largest h such that ρ < 1 on (0, h] for Euler / RK4 on F = Hx (scan, then bisection);
// 0 when even tiny steps expand (H has an eigenvalue with Re ≤ 0).
double euler_linear_threshold(const Eigen::MatrixXd& H);
double rk4_linear_threshold(const Eigen::MatrixXd& H);

}  // namespace rlpp::certify
