// The window of the last K finished episodes' returns behind charts/return_mean_100 (CleanRL's
// habit of reporting the mean training return of recent episodes), shared by the control trainers.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "rlpp/train/checkpoint.h"

namespace rlpp::train {

class RecentReturns {
 public:
  explicit RecentReturns(int64_t window = 100) : values_(static_cast<size_t>(window), 0.0) {}
  void push(double episode_return);
  int64_t count() const { return count_; }
  // Mean of the stored returns; NaN before the first episode.
  double mean() const;

  void save(CheckpointWriter& w, const std::string& key) const;  // key: window, key_pos: {next, count}
  void load(CheckpointReader& r, const std::string& key);

 private:
  std::vector<double> values_;  // (K) ring
  int64_t next_ = 0, count_ = 0;
};

}  // namespace rlpp::train
