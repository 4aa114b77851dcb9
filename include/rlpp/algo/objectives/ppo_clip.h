// The `ppo_clip` policy objective (registered in objective_registry(); formulas: docs/objectives.md).
#pragma once
#include <limits>

#include "rlpp/algo/objective.h"

namespace rlpp::algo {

// PPO clip (arXiv 1707.06347) with asymmetric ε (clip-higher, arXiv 2503.14476) and optional dual
// clip (arXiv 1912.09729): ℓ = max(−rA, −clip(r, 1−ε_low, 1+ε_high)A); if A < 0, ℓ = min(ℓ, −cA).
struct PpoClipOptions {
  double eps_low = 0.2;
  double eps_high = 0.2;
  bool dual_clip = false;
  double clip_c = 3.0;

  void bind(core::Binder& b) {
    b.num("eps_low", eps_low, "lower clip: r >= 1 - eps_low", core::Bounds{0.0, 1.0, true, true});
    b.num("eps_high", eps_high, "upper clip: r <= 1 + eps_high", core::Bounds::positive());
    b.flag("dual_clip", dual_clip, "bound the loss of negative-advantage tokens at -c*A");
    b.num("clip_c", clip_c, "dual-clip constant c",
          core::Bounds{1.0, std::numeric_limits<double>::infinity(), true, false});
  }
};
ObjectiveOutput ppo_clip_loss(const PolicyLossInput& in, const PpoClipOptions& opts);

}  // namespace rlpp::algo
