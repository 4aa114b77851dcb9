#include "rlpp/train/recent_returns.h"

#include <cmath>
#include <numeric>

#include "rlpp/core/error.h"

namespace rlpp::train {

void RecentReturns::push(double episode_return) {
  const auto k = static_cast<int64_t>(values_.size());
  values_[static_cast<size_t>(next_)] = episode_return;
  next_ = (next_ + 1) % k;
  count_ = std::min(count_ + 1, k);
}

double RecentReturns::mean() const {
  if (count_ == 0) return std::nan("");
  return std::accumulate(values_.begin(), values_.begin() + count_, 0.0) / static_cast<double>(count_);
}

void RecentReturns::save(CheckpointWriter& w, const std::string& key) const {
  w.put_doubles(key, values_);
  w.put_ints(key + "_pos", {next_, count_});
}

void RecentReturns::load(CheckpointReader& r, const std::string& key) {
  values_ = r.get_doubles(key, values_.size());
  const auto pos = r.get_ints(key + "_pos", 2);
  const auto k = static_cast<int64_t>(values_.size());
  core::require(pos[0] >= 0 && pos[0] < k && pos[1] >= 0 && pos[1] <= k,
                r.path() + ": " + key + " positions are out of range");
  next_ = pos[0], count_ = pos[1];
}

}  // namespace rlpp::train
