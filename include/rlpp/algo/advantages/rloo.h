// The `rloo` group advantage estimator (registered in advantage_registry(); inputs and output as
// in advantages/group.h; formulas: docs/objectives.md).
#pragma once

#include "rlpp/algo/advantages/group.h"

namespace rlpp::algo {

// RLOO (arXiv 2402.14740): A_i = R_i − mean_{j≠i} R_j = G/(G−1)·(R_i − mean_g R); a group of one → 0.
AdvantageOutput rloo(const AdvantageInput& in, const GroupBaselineOptions& opts);

}  // namespace rlpp::algo
