// DAPO's policy loss is PPO's clipped surrogate with clip-higher bounds (arXiv 2503.14476): only
// the defaults differ, so it delegates to ppo_clip.
#include "rlpp/algo/objectives/dapo.h"

namespace rlpp::algo {

ObjectiveOutput dapo_loss(const PolicyLossInput& in, const DapoOptions& opts) {
  return ppo_clip_loss(in, static_cast<const PpoClipOptions&>(opts));
}

}  // namespace rlpp::algo
