// Per-player constraint sets of a differentiable game: unconstrained, a box, or the probability
// simplex. Projections are Euclidean per block; with a block metric M = diag(w_1 I, ..., w_N I) the
// M-norm projection onto a product set is exactly the blockwise Euclidean one (arXiv 2512.06791).
#pragma once
#include <Eigen/Core>
#include <string>

namespace rlpp::certify {

enum class ConstraintKind { kNone, kBox, kSimplex };

struct Constraint {
  ConstraintKind kind = ConstraintKind::kNone;
  Eigen::VectorXd lo;  // (d,) box only
  Eigen::VectorXd hi;  // (d,) box only

  // Π(x) = argmin_{y in set} ‖y − x‖₂ for one player's block x (d,).
  Eigen::VectorXd project(const Eigen::VectorXd& x) const;
  // "none", "box" or "simplex".
  std::string name() const;
};

// Π onto {y ≥ 0, Σy = 1}: y = max(x − θ, 0) with θ from the sorted-prefix rule (Held et al. 1974).
Eigen::VectorXd project_simplex(const Eigen::VectorXd& x);

}  // namespace rlpp::certify
