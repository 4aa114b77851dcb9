// BAPO (arXiv 2510.18927): PPO whose clip bounds are re-balanced every step on the global batch.
#include "rlpp/algo/objectives/bapo.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "rlpp/algo/ratio.h"
#include "rlpp/algo/stats.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

// P(c_high) and N(c_low) for many candidate bounds at once. P depends only on c_high and N only
// on c_low, so each is a prefix sum over the candidate grid: every token is put in the bucket of
// the grid interval its ratio falls in (bucketize, O(N log K)), the buckets are summed with
// index_add and accumulated with cumsum — the whole bound search is two passes over the batch,
// not one pass per candidate.
class BalanceTable {
 public:
  BalanceTable(const PolicyLossInput& in, const BapoOptions& opts) : opts_(opts) {
    torch::NoGradGuard no_grad;
    const torch::Tensor valid = valid_positions(in.logp, in.mask);
    const torch::Tensor r = ratio(in.logp.detach(), in.logp_old).masked_select(valid).to(torch::kDouble);  // (N)
    const torch::Tensor a = in.advantages.detach().masked_select(valid).to(torch::kDouble);                 // (N)
    // Zero advantages contribute nothing in either mode; they go to the positive side (A ≥ 0).
    const torch::Tensor is_pos = a >= 0;
    pos_r_ = r.masked_select(is_pos);
    pos_a_ = a.masked_select(is_pos);
    neg_r_ = r.masked_select(is_pos.logical_not());
    neg_a_ = -a.masked_select(is_pos.logical_not());
  }

  // P at each upper bound (K, ascending) -> (K).
  torch::Tensor positive(const torch::Tensor& c_high) const {
    const torch::Tensor le = prefix(pos_r_, pos_r_ * pos_a_, c_high, /*right=*/false);  // Σ_{r ≤ c} r·A
    if (opts_.contribution == "gradient") return le;
    const torch::Tensor a_le = prefix(pos_r_, pos_a_, c_high, /*right=*/false);
    return le + c_high * (pos_a_.sum() - a_le);  // + c·Σ_{r > c} A: min(r, c)·A
  }

  // N at each lower bound (K, ascending) -> (K).
  torch::Tensor negative(const torch::Tensor& c_low) const {
    const torch::Tensor ra = neg_r_ * neg_a_;
    const torch::Tensor below = prefix(neg_r_, ra, c_low, /*right=*/true);  // Σ_{r < c} r·|A|
    if (opts_.contribution == "gradient") {
      // Tokens in [c_low, c]: above c the dual clip removes the gradient.
      const torch::Tensor top = opts_.dual_clip ? torch::where(neg_r_ <= opts_.clip_c, ra, torch::zeros_like(ra)).sum() : ra.sum();
      return (top - below).clamp_min(0);
    }
    const torch::Tensor a_below = prefix(neg_r_, neg_a_, c_low, /*right=*/true);
    return (ra.sum() - below) + c_low * a_below;  // max(r, c)·|A|
  }

  static double balance(double p, double n) { return n > 0 ? p / n : std::numeric_limits<double>::infinity(); }

 private:
  // For ascending bounds c (K): Σ w over the tokens with r ≤ c_j (right = false) or r < c_j
  // (right = true), for every j -> (K). bucketize puts r in bucket i with c_{i−1} < r ≤ c_i
  // (right = false) or c_{i−1} ≤ r < c_i (right = true), so the tokens counted at c_j are
  // exactly buckets 0..j.
  static torch::Tensor prefix(const torch::Tensor& r, const torch::Tensor& w, const torch::Tensor& c, bool right) {
    const torch::Tensor bucket = torch::bucketize(r, c, /*out_int32=*/false, right);  // (M) in [0, K]
    const torch::Tensor sums = torch::zeros({c.size(0) + 1}, w.options()).index_add_(0, bucket, w);
    return sums.cumsum(0).slice(0, 0, c.size(0));
  }

  BapoOptions opts_;
  torch::Tensor pos_r_, pos_a_;  // (M+) ratios and advantages of A ≥ 0 tokens
  torch::Tensor neg_r_, neg_a_;  // (M−) ratios and |A| of A < 0 tokens
};

// The bounds a search visits: start, then min(previous + step, max) until the maximum (within a
// small tolerance, so accumulated steps of 0.05 stop exactly at it).
std::vector<double> bound_path(double start, double max, double step) {
  std::vector<double> path{start};
  while (path.back() < max - 1e-9) path.push_back(std::min(path.back() + step, max));
  return path;
}

torch::Tensor as_tensor(const std::vector<double>& v) {
  return torch::from_blob(const_cast<double*>(v.data()), {static_cast<int64_t>(v.size())}, torch::kDouble).clone();
}

void check_options(const BapoOptions& o) {
  core::require(o.c_low_start <= o.c_low_max && o.c_low_max < 1.0,
                "objective bapo: need c_low_start <= c_low_max < 1, got " + std::to_string(o.c_low_start) +
                    " and " + std::to_string(o.c_low_max));
  core::require(1.0 < o.c_high_start && o.c_high_start <= o.c_high_max,
                "objective bapo: need 1 < c_high_start <= c_high_max, got " + std::to_string(o.c_high_start) +
                    " and " + std::to_string(o.c_high_max));
}

}  // namespace

double bapo_balance(const PolicyLossInput& in, const BapoOptions& opts, double c_low, double c_high) {
  check_policy_input("bapo", in, /*needs_logp_old=*/true);
  const BalanceTable table(in, opts);
  const auto dev = in.logp.device();
  return BalanceTable::balance(table.positive(as_tensor({c_high}).to(dev))[0].item<double>(),
                               table.negative(as_tensor({c_low}).to(dev))[0].item<double>());
}

BapoBounds bapo_bounds(const PolicyLossInput& in, const BapoOptions& opts) {
  check_policy_input("bapo", in, /*needs_logp_old=*/true);
  check_options(opts);
  const BalanceTable table(in, opts);
  const std::vector<double> lows = bound_path(opts.c_low_start, opts.c_low_max, opts.step_low);
  const std::vector<double> highs = bound_path(opts.c_high_start, opts.c_high_max, opts.step_high);
  const auto dev = in.logp.device();
  const torch::Tensor n_t = table.negative(as_tensor(lows).to(dev)).cpu().contiguous();   // (K_low)
  const torch::Tensor p_t = table.positive(as_tensor(highs).to(dev)).cpu().contiguous();  // (K_high)
  const double* n = n_t.data_ptr<double>();
  const double* p = p_t.data_ptr<double>();
  // First the lower bound moves with c_high at its start, then the upper one with c_low at its maximum.
  BapoBounds b{lows[0], highs[0], BalanceTable::balance(p[0], n[0]), 0};
  for (size_t k = 1; k < lows.size() && b.pos_neg_ratio < opts.target; ++k, ++b.steps) {
    b.c_low = lows[k];
    b.pos_neg_ratio = BalanceTable::balance(p[0], n[k]);
  }
  for (size_t k = 1; k < highs.size() && b.pos_neg_ratio < opts.target; ++k, ++b.steps) {
    b.c_high = highs[k];
    b.pos_neg_ratio = BalanceTable::balance(p[k], n[lows.size() - 1]);
  }
  return b;
}

ObjectiveOutput bapo_loss(const PolicyLossInput& in, const BapoOptions& opts, const BapoBounds& bounds) {
  check_policy_input("bapo", in, /*needs_logp_old=*/true);
  const torch::Tensor r = ratio(in.logp, in.logp_old);  // (B, L)
  const ClippedSurrogate s =
      clipped_surrogate(r, in.advantages, constant_like(r, bounds.c_low), constant_like(r, bounds.c_high),
                        opts.dual_clip ? constant_like(r, opts.clip_c) : torch::Tensor());
  ObjectiveOutput out{mask_token_loss(s.loss, in.mask),
                      policy_metrics(in, s.clipped_low, s.clipped_high,
                                     opts.dual_clip ? s.clipped_dual : torch::Tensor())};
  const auto metric = [&](double v) { return constant_like(in.logp, v); };
  out.metrics["bapo_c_low"] = metric(bounds.c_low);
  out.metrics["bapo_c_high"] = metric(bounds.c_high);
  out.metrics["bapo_pos_neg_ratio"] = metric(bounds.pos_neg_ratio);
  return out;
}

}  // namespace rlpp::algo
