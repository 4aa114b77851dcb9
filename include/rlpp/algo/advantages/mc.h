// The `mc` control advantage estimator (registered in advantage_registry(); formulas: docs/objectives.md).
#pragma once

#include "rlpp/algo/advantage.h"

namespace rlpp::algo {

// Discounted return-to-go with the same done handling:
//   G_t = r_t + γ·final_values[t]·1[bootstrap ∧ truncated_t ∧ ¬terminated_t] + γ·(1 − done_t)·G_{t+1},
//   G_T = next_value when given (a rollout cut mid-episode), else 0.
// returns = G; advantages = G − values when values are given (= gae with λ = 1), else G.
struct McOptions {
  double gamma = 0.99;
  bool bootstrap_truncated = false;

  void bind(core::Binder& b) {
    b.num("gamma", gamma, "discount factor", core::Bounds::unit());
    b.flag("bootstrap_truncated", bootstrap_truncated, "add gamma * V(final_obs) on truncated steps (SB3)");
  }
};
AdvantageOutput mc(const AdvantageInput& in, const McOptions& opts);

}  // namespace rlpp::algo
