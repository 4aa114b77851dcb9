// Shared by the group advantage estimators for language batches (grpo, dr_grpo, rloo, opo,
// grpo_passk, hapo_tga; each in advantages/<name>.h):
//
// Read seq_rewards (B), group_ids (B, any integer ids; a group is every response with the same id)
// and mask (B, L); lengths (B) only where named, and then defaulting to the mask's row sums.
// Computed per group with index_add/scatter over the group ids (no loops over groups or tokens),
// in double on the input's device. Output: the per-sequence advantage A_i broadcast over the
// response tokens, advantages[i, t] = A_i·1[mask[i, t] > 0.5] (B, L) in the dtype of seq_rewards;
// returns = advantages (there is no critic; the same tensor, as verl reports it).
#pragma once

#include "rlpp/algo/advantage.h"

namespace rlpp::algo {

// eps for the estimators that divide by a group standard deviation.
struct GroupNormOptions {
  double eps = 1e-6;

  void bind(core::Binder& b) {
    b.num("eps", eps, "added to the group standard deviation", core::Bounds::positive());
  }
};
// For estimators without options (dr_grpo, rloo, opo).
struct GroupBaselineOptions {
  void bind(core::Binder&) {}
};

}  // namespace rlpp::algo
