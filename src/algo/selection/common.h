// Shared by the selectors: input checks, dense group indices, and the pass-through output.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <tuple>

#include "rlpp/algo/selector.h"
#include "rlpp/algo/stats.h"
#include "rlpp/core/error.h"

namespace rlpp::algo::selection {

// Distinct groups of a (B) id tensor.
struct DenseGroups {
  torch::Tensor index;  // (B) int64 in [0, K): dense group of row i
  torch::Tensor ids;    // (K) int64 distinct ids, ascending
  torch::Tensor count;  // (K) int64 rows per group
  int64_t num = 0;      // K
};

inline std::string shape_of(const torch::Tensor& t) {
  std::string s = "(";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? ", " : "") + std::to_string(t.size(d));
  return s + ")";
}

// `name` must be a defined (B) tensor.
inline void check_rows(const std::string& who, const std::string& name, const torch::Tensor& t, int64_t B) {
  check_defined(who, name, t);
  core::require(t.dim() == 1 && t.size(0) == B,
                who + ": " + name + " must be (B) with B = " + std::to_string(B) + ", got " + shape_of(t));
}

// `name` must be a defined 2-dim (B, L) tensor, of the mask's shape when a mask is given.
inline void check_tokens(const std::string& who, const std::string& name, const torch::Tensor& t,
                         const torch::Tensor& mask) {
  check_defined(who, name, t);
  core::require(t.dim() == 2, who + ": " + name + " must be (B, L), got " + shape_of(t));
  if (mask.defined()) check_same_shape(who, name, t, "mask", mask);
}

// For selectors driven by per-sequence rewards: seq_rewards must be (B) and the mask, when given,
// (B, L) with the same B. Returns B.
inline int64_t reward_rows(const std::string& who, const SelectionInput& in) {
  check_defined(who, "seq_rewards", in.seq_rewards);
  core::require(in.seq_rewards.dim() == 1, who + ": seq_rewards must be (B), got " + shape_of(in.seq_rewards));
  const int64_t B = in.seq_rewards.size(0);
  if (in.mask.defined()) {
    core::require(in.mask.dim() == 2 && in.mask.size(0) == B,
                  who + ": mask must be (B, L) with B = " + std::to_string(B) + ", got " + shape_of(in.mask));
  }
  return B;
}

inline DenseGroups dense_groups(const std::string& who, const torch::Tensor& group_ids, int64_t B) {
  check_rows(who, "group_ids", group_ids, B);
  core::require(!group_ids.is_floating_point(), who + ": group_ids must be an integer tensor");
  const auto ids = group_ids.to(torch::kCPU).to(torch::kLong);
  const auto u = torch::_unique2(ids, /*sorted=*/true, /*return_inverse=*/true, /*return_counts=*/true);
  DenseGroups g;
  g.ids = std::get<0>(u);
  g.index = std::get<1>(u).reshape({B});
  g.count = std::get<2>(u);
  g.num = g.ids.size(0);
  return g;
}

// B from the first defined of mask, seq_rewards, group_ids.
inline int64_t batch_rows(const std::string& who, const SelectionInput& in) {
  if (in.mask.defined()) {
    core::require(in.mask.dim() == 2, who + ": mask must be (B, L), got " + shape_of(in.mask));
    return in.mask.size(0);
  }
  if (in.seq_rewards.defined()) return in.seq_rewards.size(0);
  if (in.group_ids.defined()) return in.group_ids.size(0);
  throw core::UserError(who + ": mask (or seq_rewards) is required");
}

// Keeps everything: row_keep all true, token_mask = mask, seq_rewards unchanged.
inline SelectionOutput pass_through(const SelectionInput& in, int64_t B) {
  SelectionOutput out;
  out.row_keep = torch::ones({B}, torch::kBool);
  out.token_mask = in.mask;
  out.seq_rewards = in.seq_rewards;
  return out;
}

// token_mask ← mask ∧ row_keep (B, L).
inline void drop_rows(SelectionOutput& out, const SelectionInput& in) {
  if (!in.mask.defined()) return;
  const torch::Tensor keep = out.row_keep.to(in.mask.device()).unsqueeze(1);  // (B, 1)
  out.token_mask = torch::where(keep & (in.mask > 0.5), torch::ones({}, in.mask.options()),
                                torch::zeros({}, in.mask.options()));
}

inline torch::Tensor scalar(double v) { return torch::tensor(v, torch::kDouble); }

// Valid positions as bool (B, L); all true without a mask.
inline torch::Tensor valid_of(const torch::Tensor& like, const torch::Tensor& mask) {
  return valid_positions(like, mask).to(like.device());
}

}  // namespace rlpp::algo::selection
