// The `dapo` policy objective (registered in objective_registry(); formulas: docs/objectives.md).
#pragma once

#include "rlpp/algo/objective.h"
#include "rlpp/algo/objectives/ppo_clip.h"

namespace rlpp::algo {

// DAPO (arXiv 2503.14476): ppo_clip with clip-higher defaults ε_low = 0.2, ε_high = 0.28; the
// paper pairs it with token-mean aggregation and no KL term (chosen elsewhere in the recipe).
struct DapoOptions : PpoClipOptions {
  DapoOptions() { eps_high = 0.28; }
};
ObjectiveOutput dapo_loss(const PolicyLossInput& in, const DapoOptions& opts);

}  // namespace rlpp::algo
