// The `hapo_tga` group advantage estimator (registered in advantage_registry(); inputs and output as
// in advantages/group.h; formulas: docs/objectives.md).
#pragma once

#include "rlpp/algo/advantage.h"

namespace rlpp::algo {

// HAPO token-level group average (arXiv 2509.16591), with w_i = |o_i| (lengths):
//   μ_g = Σ w_i R_i / Σ w_i,  σ_g = sqrt(Σ w_i (R_i − μ_g)² / Σ w_i),  A_i = (R_i − μ_g)/(σ_g + eps);
// a group where any |A_i| ≥ fallback_threshold uses grpo's A_i instead (a long outlier response can
// make σ_g tiny). A group with Σ w_i = 0 also uses grpo.
struct HapoTgaOptions {
  double eps = 1e-6;
  double fallback_threshold = 5.0;

  void bind(core::Binder& b) {
    b.num("eps", eps, "added to the group standard deviations", core::Bounds::positive());
    b.num("fallback_threshold", fallback_threshold, "fall back to grpo for a group with any |A| >= this",
          core::Bounds::positive());
  }
};
AdvantageOutput hapo_tga(const AdvantageInput& in, const HapoTgaOptions& opts);

}  // namespace rlpp::algo
