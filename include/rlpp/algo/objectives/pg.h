// The `pg` policy objective (registered in objective_registry(); formulas: docs/objectives.md).
#pragma once

#include "rlpp/algo/objective.h"

namespace rlpp::algo {

// REINFORCE: ℓ = −A·log π.
struct PgOptions {
  void bind(core::Binder&) {}
};
ObjectiveOutput pg_loss(const PolicyLossInput& in, const PgOptions& opts);

}  // namespace rlpp::algo
