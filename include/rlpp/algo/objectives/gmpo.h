// The `gmpo` policy objective (registered in objective_registry(); formulas: docs/objectives.md).
#pragma once
#include <limits>

#include "rlpp/algo/objective.h"

namespace rlpp::algo {

// GMPO (geometric-mean policy optimization, arXiv 2507.20673): per token, the log-ratio is clipped
// pessimistically in log space, ℓr_t = sgn(A)·min(sgn(A)·log r_t, sgn(A)·clamp(log r_t, −ε_low, ε_high)),
// then ρ_i = exp(mean_t ℓr_t) over row i's valid tokens and ℓ_i = −ρ_i·A_i (A_i the row's masked
// mean advantage), placed on every valid token as for gspo (use seq-mean-token-mean).
struct GmpoOptions {
  double eps_low = 0.4;
  double eps_high = 0.4;

  void bind(core::Binder& b) {
    b.num("eps_low", eps_low, "log-space lower clip: log r >= -eps_low", core::Bounds::positive());
    b.num("eps_high", eps_high, "log-space upper clip: log r <= eps_high", core::Bounds::positive());
  }
};
ObjectiveOutput gmpo_loss(const PolicyLossInput& in, const GmpoOptions& opts);

}  // namespace rlpp::algo
