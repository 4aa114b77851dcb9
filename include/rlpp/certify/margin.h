// The Small-Gain Nash margin and the metric Lipschitz constant (arXiv 2512.06791, §3).
//   K (N, N): K_ii = μ_i, K_ij = −L_ij                     (comparison matrix)
//   C(w) = WK + KᵀW:  C_ii = 2w_iμ_i, C_ij = −(w_iL_ij + w_jL_ji)
//   α*(w) = ½ λ_min(W^{-1/2} C(w) W^{-1/2})
// SGN holds when α*(w) > 0: then ⟨F(x)−F(y), x−y⟩_M ≥ α*‖x−y‖²_M on the region, M = diag(w_i I).
#pragma once
#include <Eigen/Core>
#include <cstdint>
#include <vector>

namespace rlpp::certify {

// K from μ (N,) and L (N, N) (L's diagonal is ignored).
Eigen::MatrixXd comparison_matrix(const Eigen::VectorXd& mu, const Eigen::MatrixXd& L);

// α*(w) for weights w (N,) > 0.
double sgn_margin(const Eigen::VectorXd& mu, const Eigen::MatrixXd& L, const Eigen::VectorXd& w);

// Exact margin of a linear game F = Hx in the metric M: λ_min(M^{-1/2} ½(MH + HᵀM) M^{-1/2}),
// with M = diag(w_i I_{d_i}); dims (N,) gives the block sizes. α_true(w) ≥ α*(w).
double linear_margin(const Eigen::MatrixXd& H, const std::vector<int64_t>& dims, const Eigen::VectorXd& w);

// β(w) = max over sampled Jacobians Ĵ of ‖M^{1/2} Ĵ M^{-1/2}‖₂, computed exactly when the joint
// dimension is at most `exact_limit`; above it, the upper bound ‖[sqrt(w_i/w_j)·L_ij]‖₂ on the
// (N, N) matrix of block norms (‖A‖₂ ≤ ‖(‖A_ij‖₂)_ij‖₂), with the diagonal of L holding ‖Ĵ_ii‖₂.
// `exact` (optional) says which was used.
double metric_lipschitz(const std::vector<Eigen::MatrixXd>& jacobians, const std::vector<int64_t>& dims,
                        const Eigen::MatrixXd& L, const Eigen::VectorXd& w, bool* exact = nullptr,
                        int64_t exact_limit = 600);

// ρ(diag(μ)^{-1} L_offdiag): some weights certify iff every μ_i > 0 and this is < 1. Dense
// eigenvalues up to kDenseRadiusLimit players; above, the Collatz–Wielandt upper bound from power
// iteration (relative gap to the lower bound ≤ 1e-12 when it converges; O(N²) per iteration).
constexpr int64_t kDenseRadiusLimit = 64;
double small_gain_radius(const Eigen::VectorXd& mu, const Eigen::MatrixXd& L);

// Expands block weights (N,) to the metric's diagonal (n,).
Eigen::VectorXd expand_weights(const Eigen::VectorXd& w, const std::vector<int64_t>& dims);

}  // namespace rlpp::certify
