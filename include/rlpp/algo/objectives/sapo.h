// The `sapo` policy objective (registered in objective_registry(); formulas: docs/objectives.md).
#pragma once
#include <limits>

#include "rlpp/algo/objective.h"

namespace rlpp::algo {

// SAPO (soft adaptive policy optimization): ℓ = −(4/τ)·σ(τ(r − 1))·A with τ = τ_pos if A > 0
// else τ_neg. d ℓ / d log π = −4σ(1−σ)·r·A, whose weight 4σ(1−σ)r is exactly 1 at r = 1 and decays
// smoothly away from it (a soft trust region instead of a hard clip; `clipfrac` stays 0).
// Intended with seq-mean-token-mean aggregation.
struct SapoOptions {
  double tau_pos = 1.0;
  double tau_neg = 1.05;

  void bind(core::Binder& b) {
    b.num("tau_pos", tau_pos, "gate temperature for A > 0", core::Bounds::positive());
    b.num("tau_neg", tau_neg, "gate temperature for A <= 0", core::Bounds::positive());
  }
};
ObjectiveOutput sapo_loss(const PolicyLossInput& in, const SapoOptions& opts);

}  // namespace rlpp::algo
