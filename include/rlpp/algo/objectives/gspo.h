// The `gspo` policy objective (registered in objective_registry(); formulas: docs/objectives.md).
#pragma once
#include <limits>

#include "rlpp/algo/objective.h"

namespace rlpp::algo {

// GSPO (arXiv 2507.18071): sequence ratio s_i = exp(min(mean_t log r_{i,t}, 10)) over the valid
// tokens of row i, sequence advantage A_i = masked mean of the row's advantages, and
// ℓ_i = max(−s_i·A_i, −clip(s_i, 1−ε_low, 1+ε_high)·A_i). Requires (B, L) input.
// Placement on tokens: every valid token of row i carries the value ℓ_i, so seq-mean-token-mean
// aggregation (the intended one) gives exactly mean_i ℓ_i, in value and in gradient.
//  * sequence form (token_level = false): ℓ_i is computed from s_i and copied to the tokens;
//  * token form (token_level = true): s_{i,t} = sg(s_i)·π_{i,t}/sg(π_{i,t}) per token (value s_i),
//    so token t's gradient is −s_i·A_i·∇log π_{i,t}; after the per-row token mean this equals the
//    sequence form's gradient, and per-token advantages could replace A_i (GSPO-token).
// All tokens of a row share one clip decision; clipfrac_* are fractions of tokens.
struct GspoOptions {
  double eps_low = 3e-4;
  double eps_high = 4e-4;
  bool token_level = false;

  void bind(core::Binder& b) {
    b.num("eps_low", eps_low, "lower clip on the sequence ratio: s >= 1 - eps_low",
          core::Bounds{0.0, 1.0, true, true});
    b.num("eps_high", eps_high, "upper clip on the sequence ratio: s <= 1 + eps_high", core::Bounds::positive());
    b.flag("token_level", token_level, "token form s_it = sg(s_i) * pi / sg(pi) (same value)");
  }
};
ObjectiveOutput gspo_loss(const PolicyLossInput& in, const GspoOptions& opts);

}  // namespace rlpp::algo
