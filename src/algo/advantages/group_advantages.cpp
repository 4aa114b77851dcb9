// Group estimators for language batches (grpo, dr_grpo, rloo, opo, grpo_passk, hapo_tga,
// reinforce_pp, reinforce_pp_baseline): per-group sums with index_add over a dense group index,
// gathered back with index_select.
#include <string>
#include <tuple>

#include "control_rollout.h"
#include "rlpp/algo/advantages/dr_grpo.h"
#include "rlpp/algo/advantages/grpo.h"
#include "rlpp/algo/advantages/grpo_passk.h"
#include "rlpp/algo/advantages/hapo_tga.h"
#include "rlpp/algo/advantages/opo.h"
#include "rlpp/algo/advantages/reinforce_pp.h"
#include "rlpp/algo/advantages/rloo.h"
#include "rlpp/algo/stats.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

// Validated language batch in double, with the dense group index of every response.
struct Groups {
  torch::Tensor rewards;  // (B) double
  torch::Tensor index;    // (B) int64 in [0, K): dense group of response i
  torch::Tensor count;    // (K) double: responses per group
  int64_t num_groups = 0; // K
};

Groups groups_of(const std::string& who, const AdvantageInput& in) {
  check_defined(who, "seq_rewards", in.seq_rewards);
  check_defined(who, "group_ids", in.group_ids);
  check_defined(who, "mask", in.mask);
  core::require(in.seq_rewards.dim() == 1, who + ": seq_rewards must be (B), got " +
                                               std::to_string(in.seq_rewards.dim()) + " dims");
  const int64_t B = in.seq_rewards.size(0);
  core::require(in.group_ids.dim() == 1 && in.group_ids.size(0) == B,
                who + ": group_ids must be (B) with B = " + std::to_string(B));
  core::require(!in.group_ids.is_floating_point(), who + ": group_ids must be an integer tensor");
  core::require(in.mask.dim() == 2 && in.mask.size(0) == B,
                who + ": mask must be (B, L) with B = " + std::to_string(B));
  Groups g;
  g.rewards = in.seq_rewards.detach().to(torch::kDouble);
  const auto ids = in.group_ids.to(g.rewards.device()).to(torch::kLong);
  const auto uniq = torch::_unique2(ids, /*sorted=*/true, /*return_inverse=*/true, /*return_counts=*/true);
  g.index = std::get<1>(uniq).reshape({B});
  g.count = std::get<2>(uniq).to(torch::kDouble);
  g.num_groups = g.count.size(0);
  return g;
}

// Σ_{i in g} x_i for every group: (K) from (B).
torch::Tensor group_sum(const Groups& g, const torch::Tensor& x) {
  return torch::zeros({g.num_groups}, x.options()).index_add_(0, g.index, x);
}

// Per-group value (K) read back for every response (B).
torch::Tensor per_response(const Groups& g, const torch::Tensor& x) { return x.index_select(0, g.index); }

// Reward of each group's first response in batch order (K): the shift of the group means below.
torch::Tensor group_first(const Groups& g) {
  const torch::Tensor by_group = std::get<1>(g.index.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false));
  const torch::Tensor count = g.count.to(torch::kLong);  // (K)
  return g.rewards.index_select(0, by_group.index_select(0, count.cumsum(0) - count));
}

// Weighted group mean Σ w_i R_i / Σ w_i (K), computed as m + Σ w_i (R_i − m) / Σ w_i with m the
// group's largest reward: a group of equal rewards then has a mean of exactly R (a plain Σ/n of
// 0.7, 0.7, 0.7 is 0.6999999999999998), so its advantages are exactly 0. Groups with Σ w = 0 get m.
torch::Tensor group_weighted_mean(const Groups& g, const torch::Tensor& w, const torch::Tensor& wsum) {
  const torch::Tensor m = group_first(g);
  const torch::Tensor shifted = group_sum(g, w * (g.rewards - per_response(g, m)));
  return m + torch::where(wsum > 0, shifted / wsum.clamp_min(1e-300), torch::zeros_like(wsum));
}

// Group mean (K), shifted as above.
torch::Tensor group_mean(const Groups& g) {
  return group_weighted_mean(g, torch::ones_like(g.rewards), g.count);
}

// Response lengths |o_i| (B) double: `lengths` when given, else the mask's row sums.
torch::Tensor lengths_of(const std::string& who, const AdvantageInput& in, const torch::Tensor& like) {
  if (!in.lengths.defined()) return valid_positions(in.mask, in.mask).to(like.options()).sum(1);
  core::require(in.lengths.dim() == 1 && in.lengths.size(0) == in.seq_rewards.size(0),
                who + ": lengths must be (B) with B = " + std::to_string(in.seq_rewards.size(0)));
  return in.lengths.detach().to(like.options());
}

// Broadcasts A (B) over the valid response tokens; returns = advantages.
AdvantageOutput broadcast(const AdvantageInput& in, const torch::Tensor& a) {
  const torch::Tensor valid = valid_positions(in.mask, in.mask).to(a.device());  // (B, L) bool
  torch::Tensor adv = torch::where(valid, a.unsqueeze(1), torch::zeros({}, a.options()));
  adv = adv.to(in.seq_rewards.options().device(in.mask.device()));
  return {adv, adv};
}

// Unbiased group std (K); 0 for a group of one.
torch::Tensor group_std(const Groups& g, const torch::Tensor& centred) {
  const torch::Tensor ss = group_sum(g, centred * centred);
  return (ss / (g.count - 1).clamp_min(1)).sqrt();
}

// GRPO advantages (B) in double.
torch::Tensor grpo_values(const Groups& g, double eps) {
  const torch::Tensor mean = group_mean(g);
  const torch::Tensor centred = g.rewards - per_response(g, mean);
  const torch::Tensor std = per_response(g, group_std(g, centred));
  const torch::Tensor single = per_response(g, g.count) < 1.5;
  return torch::where(single, torch::zeros_like(centred), centred / (std + eps));
}

// REINFORCE++ from sequence rewards R (B) double, already baselined or not.
AdvantageOutput reinforce_pp_from(const std::string& who, const AdvantageInput& in, const torch::Tensor& seq,
                                  const ReinforcePpOptions& opts) {
  const torch::Tensor valid = valid_positions(in.mask, in.mask).to(torch::kCPU);  // (B, L) bool
  const int64_t L = valid.size(1);
  torch::Tensor r = torch::zeros(valid.sizes(), torch::kDouble);                    // (B, L)
  if (in.token_rewards.defined()) {
    check_same_shape(who, "mask", in.mask, "token_rewards", in.token_rewards);
    r = torch::where(valid, in.token_rewards.detach().to(torch::kCPU).to(torch::kDouble), r);
  }
  // Slot of the last valid token (−1 for an empty response, which gets no reward).
  const torch::Tensor last = std::get<0>((valid.to(torch::kLong) * torch::arange(1, L + 1)).max(1)) - 1;
  const torch::Tensor has = last >= 0;
  r.scatter_add_(1, last.clamp_min(0).unsqueeze(1),
                 torch::where(has, seq.to(torch::kCPU), torch::zeros_like(seq, torch::kCPU)).unsqueeze(1));
  const torch::Tensor g =  // (B, L): the scan runs over the time-major transpose
      detail::backward_scan(r.t().contiguous(), torch::full({L, r.size(0)}, opts.gamma, r.options())).t();
  const torch::Tensor zero = torch::zeros({}, g.options());
  const torch::Tensor n = valid.sum().clamp_min(1).to(torch::kDouble);
  const torch::Tensor mean = torch::where(valid, g, zero).sum() / n;
  const torch::Tensor centred = torch::where(valid, g - mean, zero);
  const torch::Tensor std = ((centred * centred).sum() / n).sqrt();
  const auto like = in.seq_rewards.options().device(in.mask.device());
  return {(centred / (std + opts.eps)).to(like), torch::where(valid, g, zero).to(like)};
}

}  // namespace

AdvantageOutput reinforce_pp(const AdvantageInput& in, const ReinforcePpOptions& opts) {
  check_defined("reinforce_pp", "seq_rewards", in.seq_rewards);
  check_defined("reinforce_pp", "mask", in.mask);
  core::require(in.seq_rewards.dim() == 1 && in.mask.dim() == 2 && in.mask.size(0) == in.seq_rewards.size(0),
                "reinforce_pp: seq_rewards must be (B) and mask (B, L) with the same B");
  return reinforce_pp_from("reinforce_pp", in, in.seq_rewards.detach().to(torch::kDouble), opts);
}

AdvantageOutput reinforce_pp_baseline(const AdvantageInput& in, const ReinforcePpOptions& opts) {
  const Groups g = groups_of("reinforce_pp_baseline", in);
  const torch::Tensor mean = group_mean(g);
  return reinforce_pp_from("reinforce_pp_baseline", in, g.rewards - per_response(g, mean), opts);
}

AdvantageOutput grpo(const AdvantageInput& in, const GroupNormOptions& opts) {
  const Groups g = groups_of("grpo", in);
  return broadcast(in, grpo_values(g, opts.eps));
}

AdvantageOutput dr_grpo(const AdvantageInput& in, const GroupBaselineOptions&) {
  const Groups g = groups_of("dr_grpo", in);
  const torch::Tensor mean = group_mean(g);
  return broadcast(in, g.rewards - per_response(g, mean));
}

AdvantageOutput rloo(const AdvantageInput& in, const GroupBaselineOptions&) {
  const Groups g = groups_of("rloo", in);
  const torch::Tensor mean = group_mean(g);
  const torch::Tensor n = per_response(g, g.count);  // (B)
  // n = 1: R − mean = 0 already; the clamp only keeps the factor finite.
  return broadcast(in, n / (n - 1).clamp_min(1) * (g.rewards - per_response(g, mean)));
}

AdvantageOutput opo(const AdvantageInput& in, const GroupBaselineOptions&) {
  const Groups g = groups_of("opo", in);
  const torch::Tensor w = lengths_of("opo", in, g.rewards);
  const torch::Tensor wsum = group_sum(g, w);
  const torch::Tensor baseline = torch::where(wsum > 0, group_weighted_mean(g, w, wsum), torch::zeros_like(wsum));
  return broadcast(in, g.rewards - per_response(g, baseline));
}

AdvantageOutput grpo_passk(const AdvantageInput& in, const GroupNormOptions& opts) {
  const Groups g = groups_of("grpo_passk", in);
  // Order by group, rewards descending inside a group (two stable sorts): each group's block then
  // starts with its best and second-best response.
  const torch::Tensor by_reward = std::get<1>(g.rewards.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
  const torch::Tensor by_group = std::get<1>(g.index.index_select(0, by_reward).sort(/*stable=*/true, 0, false));
  const torch::Tensor order = by_reward.index_select(0, by_group);  // (B) response at each sorted slot
  const torch::Tensor sorted = g.rewards.index_select(0, order);
  const torch::Tensor count = g.count.to(torch::kLong);                  // (K)
  const torch::Tensor first = count.cumsum(0) - count;                   // (K) slot of the best
  const torch::Tensor second_slot = first + (count > 1).to(torch::kLong);  // the best itself for one
  const torch::Tensor gap = sorted.index_select(0, first) - sorted.index_select(0, second_slot);  // (K)
  const torch::Tensor mean = group_mean(g);
  const torch::Tensor std = group_std(g, g.rewards - per_response(g, mean));  // (K)
  // Ties for the best and groups of one have gap 0, so they credit no one.
  const torch::Tensor credit = gap / (std + opts.eps);                   // (K)
  torch::Tensor a = torch::zeros_like(g.rewards);
  a.index_put_({order.index_select(0, first)}, credit);
  return broadcast(in, a);
}

AdvantageOutput hapo_tga(const AdvantageInput& in, const HapoTgaOptions& opts) {
  const Groups g = groups_of("hapo_tga", in);
  const torch::Tensor w = lengths_of("hapo_tga", in, g.rewards);
  const torch::Tensor wsum = group_sum(g, w).clamp_min(1e-300);  // (K)
  const torch::Tensor mu = per_response(g, group_weighted_mean(g, w, wsum));
  const torch::Tensor centred = g.rewards - mu;
  const torch::Tensor sigma = per_response(g, (group_sum(g, w * centred * centred) / wsum).sqrt());
  const torch::Tensor tga = centred / (sigma + opts.eps);
  // A group falls back when any member's |A| reaches the threshold, or its lengths are all 0.
  const torch::Tensor outlier = (tga.abs() >= opts.fallback_threshold).to(torch::kDouble);
  const torch::Tensor fallback =
      (per_response(g, group_sum(g, outlier)) > 0.5) | (per_response(g, group_sum(g, w)) <= 0);
  return broadcast(in, torch::where(fallback, grpo_values(g, opts.eps), tga));
}

}  // namespace rlpp::algo
