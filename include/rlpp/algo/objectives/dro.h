// The `dro` policy objective (registered in objective_registry(); formulas: docs/objectives.md).
#pragma once
#include <limits>

#include "rlpp/algo/objective.h"

namespace rlpp::algo {

// DRO-style regularised REINFORCE: ℓ = −(A·log π − ½β(log r)²); the quadratic penalty on the
// log-ratio keeps π near π_old without clipping.
struct DroOptions {
  double beta = 1.0;

  void bind(core::Binder& b) {
    b.num("beta", beta, "weight of the (log r)^2 / 2 penalty", core::Bounds::non_negative());
  }
};
ObjectiveOutput dro_loss(const PolicyLossInput& in, const DroOptions& opts);

}  // namespace rlpp::algo
