// DAPO dynamic sampling (arXiv 2503.14476, §3.2): a group whose responses all got the same reward
// has zero advantage everywhere and contributes no gradient, so it is dropped, and generation is
// repeated until the batch holds the target number of groups (or a maximum number of rounds).
//
// The filter is a pure function of (seq_rewards, group_ids). The refill loop belongs to a trainer;
// DynamicSamplingBuffer is its bookkeeping (which rows of which round to keep), testable without a
// model.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "rlpp/algo/selector.h"
#include "rlpp/core/config.h"

namespace rlpp::algo {

struct DynamicSamplingOptions {
  // A group is kept when max_i R_i − min_i R_i > tolerance. The spread is zero exactly when the
  // variance is, and unlike a variance computed in floating point it is exactly 0 for equal values.
  double tolerance = 0.0;

  void bind(core::Binder& b) {
    b.num("tolerance", tolerance, "keep a group when max(R) - min(R) exceeds this", core::Bounds::non_negative());
  }
};

struct GroupFilter {
  torch::Tensor row_keep;        // (B) bool: the response's group has a reward spread > tolerance
  torch::Tensor group_ids;       // (K) int64 distinct group ids, ascending
  torch::Tensor group_keep;      // (K) bool, aligned with group_ids
  int64_t num_groups = 0;        // K
  int64_t kept_groups = 0;       // Σ group_keep
  double zero_variance_frac = 0; // 1 − kept_groups / K (0 for an empty batch); a singleton group counts as zero-variance
};

GroupFilter dynamic_sampling_filter(const torch::Tensor& seq_rewards,  // (B)
                                    const torch::Tensor& group_ids,    // (B) int64
                                    const DynamicSamplingOptions& opts);

// Selector form: row_keep as above; metrics dynamic_sampling/zero_variance_frac, /kept_groups,
// /groups.
SelectionOutput dynamic_sampling_select(const SelectionInput& in, const DynamicSamplingOptions& opts);

// Bookkeeping of the refill loop: add each generation round's rewards and group ids; the buffer
// takes the round's groups with non-zero spread, in order of first appearance, until it holds
// target_groups (the rest of the last round is left out, as DAPO trims the batch). A trainer
// generates while !done() and assembles the batch with gather().
class DynamicSamplingBuffer {
 public:
  // max_rounds = 0: no limit on the number of rounds.
  DynamicSamplingBuffer(int64_t target_groups, int64_t max_rounds, DynamicSamplingOptions opts = {});

  // Takes one round; returns the number of groups taken from it. Refused once done().
  int64_t add_round(const torch::Tensor& seq_rewards,  // (B_r)
                    const torch::Tensor& group_ids);   // (B_r) int64; ids are per round
  bool full() const { return kept_groups_ >= target_groups_; }
  bool done() const { return full() || (max_rounds_ > 0 && rounds() >= max_rounds_); }

  int64_t rounds() const { return static_cast<int64_t>(kept_rows_.size()); }
  int64_t kept_groups() const { return kept_groups_; }
  int64_t seen_groups() const { return seen_groups_; }
  int64_t zero_variance_groups() const { return zero_variance_groups_; }
  // Rows of round r that were taken, ascending (int64 (n_r)).
  const std::vector<torch::Tensor>& kept_rows() const { return kept_rows_; }
  // Concatenates the taken rows of per-round tensors (B_r, ...) into (Σ n_r, ...).
  torch::Tensor gather(const std::vector<torch::Tensor>& per_round) const;

 private:
  int64_t target_groups_;
  int64_t max_rounds_;
  DynamicSamplingOptions opts_;
  int64_t kept_groups_ = 0;
  int64_t seen_groups_ = 0;
  int64_t zero_variance_groups_ = 0;
  std::vector<torch::Tensor> kept_rows_;
};

}  // namespace rlpp::algo
