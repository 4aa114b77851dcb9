// Local constants of a game over a compact region (arXiv 2512.06791, offline pipeline steps 1–3):
//   μ_i  = min_x λ_min(sym Ĵ_ii(x))     own-block curvature
//   L_ij = max_x ‖Ĵ_ij(x)‖₂             how strongly player j moves player i's gradient
// where Ĵ is the Jacobian of the pseudo-gradient in the chosen geometry:
//   Euclidean: Ĵ_ij = B_iᵀ J_ij B_j;   Fisher: Ĵ_ij = G_i^{-1/2} B_iᵀ J_ij B_j G_j^{-1/2}, G_i = B_iᵀF_iB_i,
// with B_i = I except for Markov games, whose softmax logits have null directions (see markov_game.h).
// Affine games need one Jacobian (exact); otherwise the region is sampled — grid vertices + random
// points + centre — which estimates the constants, it does not prove them.
// Cost: N² spectral norms of d_i×d_j blocks per point, plus the dense λ_min of Ĵ up to kExactMarginLimit.
#pragma once
#include <Eigen/Core>
#include <string>
#include <vector>

#include "rlpp/certify/game.h"

namespace rlpp::certify {

enum class Geometry { kEuclidean, kFisher };

// Joint dimensions above this skip the dense λ_min(sym Ĵ) (O(n³): about 1 s at n = 2000, minutes at
// n = 10000) and keep no Jacobians.
constexpr int64_t kExactMarginLimit = 2000;

// The box {x : |x − centre|_∞ ≤ radius}, intersected with the constraint set (points are projected).
struct Region {
  Eigen::VectorXd centre;          // (n,); empty = the game's centre()
  double radius = 1.0;
  int64_t random_points = 64;
  int64_t max_grid_vertices = 256;  // all 2^n vertices when 2^n ≤ this, else this many random ones
  uint64_t seed = 0;
};

struct LocalConstants {
  Geometry geometry = Geometry::kEuclidean;
  std::vector<int64_t> dims;            // (N,) k_i, the dims Ĵ's blocks have
  Eigen::VectorXd mu;                   // (N,)
  Eigen::MatrixXd L;                    // (N, N); the diagonal holds max_x ‖Ĵ_ii‖₂ (for the β bound)
  std::vector<Eigen::MatrixXd> jacobians;  // Ĵ at every sampled point, (k, k)
  double euclidean_margin = 0.0;        // min_x λ_min(sym Ĵ(x)): the monotonicity baseline
  // False above kExactMarginLimit coordinates: euclidean_margin is then the lower bound
  // ½λ_min(K + Kᵀ) of the comparison matrix (K_ii = μ_i, K_ij = −L_ij), and `jacobians` stays empty.
  bool euclidean_margin_exact = true;
  bool exact = false;                   // affine game: one Jacobian is the whole story
  int64_t grid_points = 0, random_points = 0, centre_points = 0;
};

LocalConstants estimate_local_constants(const Game& game, const Region& region,
                                        Geometry geometry = Geometry::kEuclidean);

// The sampled points of `region` (projected onto the game's constraint set), centre first.
std::vector<Eigen::VectorXd> region_points(const Game& game, const Region& region, int64_t* grid_points,
                                           int64_t* random_points);

// λ_min of the symmetric part ½(A + Aᵀ).
double min_sym_eigenvalue(const Eigen::MatrixXd& A);
// ‖A‖₂ = sqrt(λ_max(AᵀA)).
double spectral_norm(const Eigen::MatrixXd& A);

}  // namespace rlpp::certify
