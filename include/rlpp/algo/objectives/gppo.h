// The `gppo` policy objective (registered in objective_registry(); formulas: docs/objectives.md).
#pragma once
#include <limits>

#include "rlpp/algo/objective.h"

namespace rlpp::algo {

// GPPO (gradient-preserving clipping, Klear-Reasoner, arXiv 2508.07629): the forward value is
// clip-higher PPO, but a clipped token's constant −(1±ε)·A is written −(1±ε)·A·(1 + β(r/sg(r) − 1)),
// equal in value, so its gradient is −β·(1±ε)·A·∇log π (β = β₁ on the low side, A < 0; β₂ on the
// high side, A > 0) instead of 0. clipfrac_* count tokens on the clipped branch (gradient rescaled).
struct GppoOptions {
  double eps_low = 0.2;
  double eps_high = 0.28;
  double beta1 = 1.0;
  double beta2 = 1.0;

  void bind(core::Binder& b) {
    b.num("eps_low", eps_low, "lower clip: r >= 1 - eps_low", core::Bounds{0.0, 1.0, true, true});
    b.num("eps_high", eps_high, "upper clip: r <= 1 + eps_high", core::Bounds::positive());
    b.num("beta1", beta1, "gradient scale on low-clipped tokens (A < 0)", core::Bounds::non_negative());
    b.num("beta2", beta2, "gradient scale on high-clipped tokens (A > 0)", core::Bounds::non_negative());
  }
};
ObjectiveOutput gppo_loss(const PolicyLossInput& in, const GppoOptions& opts);

}  // namespace rlpp::algo
