// The `grpo_passk` group advantage estimator (registered in advantage_registry(); inputs and output as
// in advantages/group.h; formulas: docs/objectives.md).
#pragma once

#include "rlpp/algo/advantages/group.h"

namespace rlpp::algo {

// Pass@k-style (arXiv 2503.19595): only the best response of a group is credited,
// A = (r_max − r_2nd)/(std_g R + eps) (std unbiased), every other response 0. Ties for the best
// give r_max − r_2nd = 0, so the whole group is 0; a group of one → 0.
AdvantageOutput grpo_passk(const AdvantageInput& in, const GroupNormOptions& opts);

}  // namespace rlpp::algo
