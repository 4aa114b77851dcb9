// The `cispo` policy objective (registered in objective_registry(); formulas: docs/objectives.md).
#pragma once
#include <limits>

#include "rlpp/algo/objective.h"

namespace rlpp::algo {

// CISPO (MiniMax-M1, arXiv 2506.13585): ℓ = −sg(ĉ)·A·log π with ĉ = clamp(r, min_ratio, eps_max).
// The clip caps the importance weight but never removes a token's gradient, so `clipfrac` stays 0;
// the metric `cispo_capfrac` is the fraction of tokens whose weight was capped (either side).
struct CispoOptions {
  double eps_max = 5.0;    // absolute upper cap on the weight
  double min_ratio = 0.0;  // absolute lower bound on the weight; 0 = no lower clip

  void bind(core::Binder& b) {
    b.num("eps_max", eps_max, "upper cap on the importance weight sg(r)", core::Bounds::positive());
    b.num("min_ratio", min_ratio, "lower bound on the importance weight (0 = none)",
          core::Bounds{0.0, 1.0, false, true});
  }
};
ObjectiveOutput cispo_loss(const PolicyLossInput& in, const CispoOptions& opts);

}  // namespace rlpp::algo
