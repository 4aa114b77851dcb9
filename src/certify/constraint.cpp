#include "rlpp/certify/constraint.h"

#include <algorithm>
#include <functional>
#include <vector>

namespace rlpp::certify {

Eigen::VectorXd project_simplex(const Eigen::VectorXd& x) {
  // Sort descending; θ = (Σ_{k≤ρ} u_k − 1)/ρ for the largest ρ with u_ρ − θ_ρ > 0.
  std::vector<double> u(x.data(), x.data() + x.size());
  std::sort(u.begin(), u.end(), std::greater<double>());
  double prefix = 0.0, theta = 0.0;
  for (size_t k = 0; k < u.size(); ++k) {
    prefix += u[k];
    const double t = (prefix - 1.0) / static_cast<double>(k + 1);
    if (u[k] - t > 0.0) theta = t;
  }
  return (x.array() - theta).max(0.0).matrix();
}

Eigen::VectorXd Constraint::project(const Eigen::VectorXd& x) const {
  switch (kind) {
    case ConstraintKind::kBox: return x.cwiseMax(lo).cwiseMin(hi);
    case ConstraintKind::kSimplex: return project_simplex(x);
    case ConstraintKind::kNone: break;
  }
  return x;
}

std::string Constraint::name() const {
  switch (kind) {
    case ConstraintKind::kBox: return "box";
    case ConstraintKind::kSimplex: return "simplex";
    case ConstraintKind::kNone: break;
  }
  return "none";
}

}  // namespace rlpp::certify
