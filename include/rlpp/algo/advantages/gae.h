// The `gae` control advantage estimator (registered in advantage_registry(); formulas: docs/objectives.md).
#pragma once

#include "rlpp/algo/advantage.h"

namespace rlpp::algo {

// Generalized advantage estimation (Schulman et al. 2015, arXiv 1506.02438):
//   δ_t = r_t + γ·V_next·(1 − done_t) + γ·final_values[t]·1[bootstrap ∧ truncated_t ∧ ¬terminated_t] − V(s_t)
//   A_t = δ_t + γλ·(1 − done_t)·A_{t+1},   returns = A + values.
// Computed in double on the CPU (the time recursion is sequential), returned in the input dtype.
struct GaeOptions {
  double gamma = 0.99;
  double lambda = 0.95;
  bool bootstrap_truncated = false;

  void bind(core::Binder& b) {
    b.num("gamma", gamma, "discount factor", core::Bounds::unit());
    b.num("lambda", lambda, "GAE lambda (1 = Monte-Carlo, 0 = TD(0))", core::Bounds::unit());
    b.flag("bootstrap_truncated", bootstrap_truncated, "add gamma * V(final_obs) on truncated steps (SB3)");
  }
};
AdvantageOutput gae(const AdvantageInput& in, const GaeOptions& opts);

}  // namespace rlpp::algo
