// BAPO: balanced policy optimization with adaptive clipping (arXiv 2510.18927).
//
// PPO with absolute ratio bounds [c_low, c_high] that are re-chosen every optimizer step on the
// global batch so that positive-advantage tokens carry at least ρ times the policy-gradient weight
// of negative-advantage ones (negative tokens dominate off-policy updates and drive entropy down):
//
//   start from (c_low, c_high) = (c_low_start, c_high_start);
//   while P/N < ρ: raise c_low by step_low up to c_low_max; once it is there, raise c_high by
//   step_high up to c_high_max; stop at the first bounds with P/N ≥ ρ, or at the maxima;
//   then ℓ = PPO clip with clamp(r, c_low, c_high), dual clip −c·A for A < 0.
//
// P and N (contribution = "gradient", the default): P = Σ r·A over tokens with A > 0 and r ≤ c_high,
// N = Σ r·|A| over tokens with A < 0 and c_low ≤ r ≤ c (dual clip) — the tokens that keep a gradient
// under the bounds, weighted by the size of that gradient. Raising c_low clips more negative tokens
// away (N falls) and raising c_high admits more positive ones (P grows), so the search is monotone.
// contribution = "clipped_value" instead sums the clipped surrogate values, r_eff = min(r, c_high)
// for A ≥ 0 and max(r, c_low) for A < 0 (the formula sheet's form and the authors' public code);
// there a higher c_low makes N larger, so the lower-bound phase cannot help and the search only
// moves c_high in effect. Documented in docs/objectives.md.
#pragma once
#include <limits>
#include <string>

#include "rlpp/algo/objective.h"

namespace rlpp::algo {

struct BapoOptions {
  double target = 1.0;  // ρ: required P/N
  double c_low_start = 0.6;
  double c_low_max = 0.9;
  double c_high_start = 1.2;
  double c_high_max = 3.0;
  double step_low = 0.05;
  double step_high = 0.05;
  bool dual_clip = true;
  double clip_c = 3.0;
  std::string contribution = "gradient";

  void bind(core::Binder& b) {
    b.num("target", target, "required ratio P/N of positive to negative contributions", core::Bounds::positive());
    b.num("c_low_start", c_low_start, "initial lower ratio bound", core::Bounds{0.0, 1.0, false, true});
    b.num("c_low_max", c_low_max, "largest lower ratio bound", core::Bounds{0.0, 1.0, false, true});
    b.num("c_high_start", c_high_start, "initial upper ratio bound", core::Bounds{1.0, kInf, true, true});
    b.num("c_high_max", c_high_max, "largest upper ratio bound", core::Bounds{1.0, kInf, true, true});
    b.num("step_low", step_low, "increment of the lower bound", core::Bounds::positive());
    b.num("step_high", step_high, "increment of the upper bound", core::Bounds::positive());
    b.flag("dual_clip", dual_clip, "bound the loss of negative-advantage tokens at -c*A");
    b.num("clip_c", clip_c, "dual-clip constant c", core::Bounds{1.0, kInf, true, true});
    b.choice("contribution", contribution, {"gradient", "clipped_value"},
             "how P and N are measured: gradient-carrying tokens, or clipped surrogate values");
  }

 private:
  static constexpr double kInf = std::numeric_limits<double>::infinity();
};

// The bounds chosen for one optimizer step and the balance they reach.
struct BapoBounds {
  double c_low = 0.6;
  double c_high = 1.2;
  double pos_neg_ratio = 0;  // P/N at the chosen bounds (+inf when N = 0)
  int steps = 0;             // increments taken
};

// P/N (+inf when N = 0) for the given bounds over the valid tokens of `in`.
double bapo_balance(const PolicyLossInput& in, const BapoOptions& opts, double c_low, double c_high);
// The adaptive search above, on the (global) batch `in`.
BapoBounds bapo_bounds(const PolicyLossInput& in, const BapoOptions& opts);
// PPO clip with [c_low, c_high] and the dual clip; metrics add bapo_c_low, bapo_c_high, bapo_pos_neg_ratio.
ObjectiveOutput bapo_loss(const PolicyLossInput& in, const BapoOptions& opts, const BapoBounds& bounds);

}  // namespace rlpp::algo
