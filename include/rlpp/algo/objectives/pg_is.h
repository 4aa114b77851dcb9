// The `pg_is` policy objective (registered in objective_registry(); formulas: docs/objectives.md).
#pragma once

#include "rlpp/algo/objective.h"

namespace rlpp::algo {

// Importance-weighted REINFORCE: ℓ = −sg(r)·A·log π (gradient −r·A·∇log π).
struct PgIsOptions {
  void bind(core::Binder&) {}
};
ObjectiveOutput pg_is_loss(const PolicyLossInput& in, const PgIsOptions& opts);

}  // namespace rlpp::algo
