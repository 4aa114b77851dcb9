// The `dr_grpo` group advantage estimator (registered in advantage_registry(); inputs and output as
// in advantages/group.h; formulas: docs/objectives.md).
#pragma once

#include "rlpp/algo/advantages/group.h"

namespace rlpp::algo {

// Dr. GRPO (arXiv 2503.20783): A_i = R_i − mean_g R (no std division).
AdvantageOutput dr_grpo(const AdvantageInput& in, const GroupBaselineOptions& opts);

}  // namespace rlpp::algo
