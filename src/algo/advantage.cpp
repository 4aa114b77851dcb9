#include "rlpp/algo/advantage.h"

namespace rlpp::algo {

core::Registry<AdvantageFactory>& advantage_registry() {
  static core::Registry<AdvantageFactory> registry = [] {
    core::Registry<AdvantageFactory> r("advantage estimator");
    r.add("gae", function_advantage<GaeOptions, &gae>(),
          "generalized advantage estimation (arXiv 1506.02438)");
    r.add("mc", function_advantage<McOptions, &mc>(), "discounted return-to-go (minus values when given)");
    return r;
  }();
  return registry;
}

std::vector<std::pair<std::string, std::string>> list_advantages() { return listing(advantage_registry()); }

}  // namespace rlpp::algo
