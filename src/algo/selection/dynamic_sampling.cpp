#include "rlpp/algo/dynamic_sampling.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common.h"

namespace rlpp::algo {

using selection::dense_groups;

GroupFilter dynamic_sampling_filter(const torch::Tensor& seq_rewards, const torch::Tensor& group_ids,
                                    const DynamicSamplingOptions& opts) {
  const std::string who = "dynamic_sampling";
  check_defined(who, "seq_rewards", seq_rewards);
  core::require(seq_rewards.dim() == 1, who + ": seq_rewards must be (B), got " + selection::shape_of(seq_rewards));
  core::require(opts.tolerance >= 0, who + ": tolerance must be >= 0, got " + std::to_string(opts.tolerance));
  const int64_t B = seq_rewards.size(0);
  const auto g = dense_groups(who, group_ids, B);
  torch::NoGradGuard no_grad;
  const torch::Tensor r = seq_rewards.detach().to(torch::kCPU).to(torch::kDouble);  // (B)
  // Per-group max and min (K) in one pass over the rows (B is the batch of responses: small); a
  // group with a NaN reward gets NaN, which compares false below, so it is dropped. (A loop, not
  // scatter_reduce, which LibTorch 1.13 still flags as beta with a warning on first use.)
  const torch::Tensor index = g.index.to(torch::kCPU).to(torch::kInt64).contiguous();
  std::vector<double> hi(static_cast<size_t>(g.num), -INFINITY), lo(static_cast<size_t>(g.num), INFINITY);
  const torch::Tensor rc = r.contiguous();
  const double* rv = rc.data_ptr<double>();
  const int64_t* gi = index.data_ptr<int64_t>();
  for (int64_t i = 0; i < B; ++i) {
    const size_t k = static_cast<size_t>(gi[i]);
    if (std::isnan(hi[k])) continue;
    if (std::isnan(rv[i])) {
      hi[k] = lo[k] = NAN;
      continue;
    }
    hi[k] = std::max(hi[k], rv[i]);
    lo[k] = std::min(lo[k], rv[i]);
  }
  GroupFilter f;
  f.group_ids = g.ids;
  f.group_keep = (torch::tensor(hi, torch::kDouble) - torch::tensor(lo, torch::kDouble)) > opts.tolerance;
  f.row_keep = f.group_keep.index_select(0, g.index).to(seq_rewards.device());
  f.num_groups = g.num;
  f.kept_groups = f.group_keep.sum().item<int64_t>();
  f.zero_variance_frac = g.num ? 1.0 - static_cast<double>(f.kept_groups) / static_cast<double>(g.num) : 0.0;
  return f;
}

SelectionOutput dynamic_sampling_select(const SelectionInput& in, const DynamicSamplingOptions& opts) {
  const GroupFilter f = dynamic_sampling_filter(in.seq_rewards, in.group_ids, opts);
  SelectionOutput out = selection::pass_through(in, in.seq_rewards.size(0));
  if (in.mask.defined()) {
    core::require(in.mask.dim() == 2 && in.mask.size(0) == f.row_keep.size(0),
                  "dynamic_sampling: mask must be (B, L) with B = " + std::to_string(f.row_keep.size(0)) + ", got " +
                      selection::shape_of(in.mask));
  }
  out.row_keep = f.row_keep;
  selection::drop_rows(out, in);
  out.metrics["dynamic_sampling/zero_variance_frac"] = selection::scalar(f.zero_variance_frac);
  out.metrics["dynamic_sampling/kept_groups"] = selection::scalar(static_cast<double>(f.kept_groups));
  out.metrics["dynamic_sampling/groups"] = selection::scalar(static_cast<double>(f.num_groups));
  return out;
}

DynamicSamplingBuffer::DynamicSamplingBuffer(int64_t target_groups, int64_t max_rounds, DynamicSamplingOptions opts)
    : target_groups_(target_groups), max_rounds_(max_rounds), opts_(opts) {
  core::require(target_groups >= 1,
                "dynamic sampling buffer: target_groups must be >= 1, got " + std::to_string(target_groups));
  core::require(max_rounds >= 0, "dynamic sampling buffer: max_rounds must be >= 0 (0 = no limit), got " +
                                     std::to_string(max_rounds));
}

int64_t DynamicSamplingBuffer::add_round(const torch::Tensor& seq_rewards, const torch::Tensor& group_ids) {
  core::require(!done(), "dynamic sampling buffer: add_round after done() (" + std::to_string(kept_groups_) +
                             " of " + std::to_string(target_groups_) + " groups, " + std::to_string(rounds()) +
                             " rounds)");
  const GroupFilter f = dynamic_sampling_filter(seq_rewards, group_ids, opts_);
  seen_groups_ += f.num_groups;
  zero_variance_groups_ += f.num_groups - f.kept_groups;
  // Bookkeeping over the rows of one round (B_r is small): groups are taken in order of first
  // appearance until the target is reached.
  const auto ids = group_ids.to(torch::kCPU).to(torch::kLong).contiguous();
  const auto keep = f.row_keep.to(torch::kCPU).contiguous();
  const int64_t* id = ids.data_ptr<int64_t>();
  const bool* k = keep.data_ptr<bool>();
  std::vector<int64_t> taken_ids;
  std::vector<int64_t> rows;
  const int64_t B = ids.size(0);
  for (int64_t i = 0; i < B; ++i) {
    if (!k[i]) continue;
    bool taken = false;
    for (int64_t t : taken_ids) taken = taken || t == id[i];
    if (!taken) {
      if (kept_groups_ + static_cast<int64_t>(taken_ids.size()) >= target_groups_) continue;
      taken_ids.push_back(id[i]);
    }
    rows.push_back(i);
  }
  kept_groups_ += static_cast<int64_t>(taken_ids.size());
  kept_rows_.push_back(torch::tensor(rows, torch::kLong));
  return static_cast<int64_t>(taken_ids.size());
}

torch::Tensor DynamicSamplingBuffer::gather(const std::vector<torch::Tensor>& per_round) const {
  core::require(per_round.size() == kept_rows_.size(),
                "dynamic sampling buffer: gather needs one tensor per round (" + std::to_string(kept_rows_.size()) +
                    "), got " + std::to_string(per_round.size()));
  std::vector<torch::Tensor> parts;
  for (size_t r = 0; r < per_round.size(); ++r) {
    check_defined("dynamic sampling buffer", "round " + std::to_string(r) + " tensor", per_round[r]);
    core::require(per_round[r].dim() >= 1, "dynamic sampling buffer: round " + std::to_string(r) +
                                               " tensor must have a batch dimension");
    parts.push_back(per_round[r].index_select(0, kept_rows_[r].to(per_round[r].device())));
  }
  if (parts.empty()) return {};
  return torch::cat(parts, 0);
}

}  // namespace rlpp::algo
