// The `opo` group advantage estimator (registered in advantage_registry(); inputs and output as
// in advantages/group.h; formulas: docs/objectives.md).
#pragma once

#include "rlpp/algo/advantages/group.h"

namespace rlpp::algo {

// OPO (arXiv 2505.23585): length-weighted baseline b_g = Σ_j |o_j| R_j / Σ_j |o_j|, A_i = R_i − b_g.
// Uses lengths. A group whose lengths are all 0 gets b_g = 0 (its tokens are all masked anyway).
AdvantageOutput opo(const AdvantageInput& in, const GroupBaselineOptions& opts);

}  // namespace rlpp::algo
