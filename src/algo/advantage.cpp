#include "rlpp/algo/advantage.h"

#include "rlpp/algo/advantages/dr_grpo.h"
#include "rlpp/algo/advantages/gae.h"
#include "rlpp/algo/advantages/grpo.h"
#include "rlpp/algo/advantages/grpo_passk.h"
#include "rlpp/algo/advantages/hapo_tga.h"
#include "rlpp/algo/advantages/mc.h"
#include "rlpp/algo/advantages/opo.h"
#include "rlpp/algo/advantages/reinforce_pp.h"
#include "rlpp/algo/advantages/rloo.h"
#include "rlpp/algo/spo.h"

namespace rlpp::algo {

core::Registry<AdvantageFactory>& advantage_registry() {
  static core::Registry<AdvantageFactory> registry = [] {
    core::Registry<AdvantageFactory> r("advantage estimator");
    r.add("gae", function_advantage<GaeOptions, &gae>(),
          "generalized advantage estimation (arXiv 1506.02438)");
    r.add("mc", function_advantage<McOptions, &mc>(), "discounted return-to-go (minus values when given)");
    r.add("grpo", function_advantage<GroupNormOptions, &grpo>(), "(R - group mean)/(group std + eps) (arXiv 2402.03300)");
    r.add("dr_grpo", function_advantage<GroupBaselineOptions, &dr_grpo>(), "R - group mean (arXiv 2503.20783)");
    r.add("rloo", function_advantage<GroupBaselineOptions, &rloo>(), "R - leave-one-out group mean (arXiv 2402.14740)");
    r.add("opo", function_advantage<GroupBaselineOptions, &opo>(), "R - length-weighted group mean (arXiv 2505.23585)");
    r.add("grpo_passk", function_advantage<GroupNormOptions, &grpo_passk>(),
          "only the group's best response: (r_max - r_2nd)/(std + eps) (arXiv 2503.19595)");
    r.add("hapo_tga", function_advantage<HapoTgaOptions, &hapo_tga>(),
          "token-level group average, grpo fallback on outliers (arXiv 2509.16591)");
    r.add("reinforce_pp", function_advantage<ReinforcePpOptions, &reinforce_pp>(),
          "discounted token return, whitened over the batch (arXiv 2501.03262)");
    r.add("reinforce_pp_baseline", function_advantage<ReinforcePpOptions, &reinforce_pp_baseline>(),
          "reinforce_pp on R - group mean (arXiv 2501.03262)");
    r.add("spo", factory_of<AdvantageEstimator, SpoAdvantage, SpoOptions>(),
          "R - per-prompt Beta tracker p, batch-normalised; stateful (arXiv 2509.13232)");
    return r;
  }();
  return registry;
}

std::vector<std::pair<std::string, std::string>> list_advantages() { return listing(advantage_registry()); }

}  // namespace rlpp::algo
