// The `grpo` group advantage estimator (registered in advantage_registry(); inputs and output as
// in advantages/group.h; formulas: docs/objectives.md).
#pragma once

#include "rlpp/algo/advantages/group.h"

namespace rlpp::algo {

// GRPO (DeepSeekMath, arXiv 2402.03300): A_i = (R_i − mean_g R)/(std_g R + eps), std unbiased
// (divisor G − 1); a group of one gets A = 0.
AdvantageOutput grpo(const AdvantageInput& in, const GroupNormOptions& opts);

}  // namespace rlpp::algo
