#include "rlpp/env/space.h"

#include <stdexcept>

namespace rlpp::env {

Space Space::discrete(int64_t n) {
  if (n < 1) throw std::invalid_argument("Space::discrete: n must be >= 1, got " + std::to_string(n));
  Space s;
  s.kind = Kind::kDiscrete;
  s.n = n;
  return s;
}

Space Space::box(std::vector<float> low, std::vector<float> high) {
  if (low.size() != high.size() || low.empty()) {
    throw std::invalid_argument("Space::box: low and high must have the same non-zero size, got " +
                                std::to_string(low.size()) + " and " + std::to_string(high.size()));
  }
  for (size_t d = 0; d < low.size(); ++d) {
    if (!(low[d] <= high[d])) {
      throw std::invalid_argument("Space::box: low[" + std::to_string(d) + "] > high[" +
                                  std::to_string(d) + "]");
    }
  }
  Space s;
  s.kind = Kind::kBox;
  s.dim = static_cast<int64_t>(low.size());
  s.low = std::move(low);
  s.high = std::move(high);
  return s;
}

}  // namespace rlpp::env
