// The `reinforce_pp` and `reinforce_pp_baseline` advantage estimators for language batches
// (registered in advantage_registry(); formulas: docs/objectives.md).
#pragma once

#include "rlpp/algo/advantage.h"

namespace rlpp::algo {

// REINFORCE++ (arXiv 2501.03262). Token rewards r_{i,t} = token_rewards[i, t] (optional, e.g. a KL
// penalty folded in; 0 when absent) plus R_i on the last valid token of response i; discounted
// return G_{i,t} = Σ_{k≥t} γ^{k−t} r_{i,k} (the sequential scan shared with mc); advantages =
// (G − mean)/(std + eps) with mean and population std over every valid token of the batch, 0 on
// masked tokens. returns = G (0 on masked tokens). reinforce_pp_baseline first replaces R_i by
// R_i − mean_g R (needs group_ids), then proceeds the same way.
struct ReinforcePpOptions {
  double gamma = 1.0;
  double eps = 1e-8;

  void bind(core::Binder& b) {
    b.num("gamma", gamma, "discount factor over response tokens", core::Bounds::unit());
    b.num("eps", eps, "added to the batch standard deviation", core::Bounds::positive());
  }
};
AdvantageOutput reinforce_pp(const AdvantageInput& in, const ReinforcePpOptions& opts);
AdvantageOutput reinforce_pp_baseline(const AdvantageInput& in, const ReinforcePpOptions& opts);

}  // namespace rlpp::algo
