#include "rlpp/algo/capo.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common.h"

namespace rlpp::algo {

torch::Tensor capo_curvature(const torch::Tensor& advantages, const torch::Tensor& logp,
                             const torch::Tensor& logp_old, const torch::Tensor& mask, double step_size) {
  const std::string who = "capo";
  selection::check_tokens(who, "advantages", advantages, mask);
  core::require(logp.defined() == logp_old.defined(), who + ": give both logp and logp_old, or neither");
  core::require(std::isfinite(step_size) && step_size >= 0,
                who + ": step_size must be >= 0, got " + std::to_string(step_size));
  torch::NoGradGuard no_grad;
  const torch::Tensor valid = selection::valid_of(advantages, mask);  // (B, L) bool
  const torch::Tensor zero = torch::zeros({}, advantages.options().dtype(torch::kDouble));
  const torch::Tensor a = torch::where(valid, advantages.detach().to(torch::kDouble), zero);  // (B, L)
  torch::Tensor log_r = torch::zeros_like(a);                                                 // (B, L)
  if (logp.defined()) {
    check_same_shape(who, "logp", logp, "advantages", advantages);
    check_same_shape(who, "logp_old", logp_old, "advantages", advantages);
    log_r = torch::where(valid, (logp.detach().to(torch::kDouble) - logp_old.detach().to(torch::kDouble)), zero)
                .clamp(-20.0, 20.0);
  }
  const torch::Tensor c = 0.5 * (log_r + step_size * log_r.exp() * a).square();
  core::require(torch::isfinite(c).all().item<bool>(), who + ": advantages and log-probs must be finite at valid tokens");
  return torch::where(valid, c, zero);
}

CapoResult capo_mask(const torch::Tensor& advantages, const torch::Tensor& logp, const torch::Tensor& logp_old,
                     const torch::Tensor& mask, const CapoOptions& opts) {
  const std::string who = "capo";
  core::require(opts.budget >= 0, who + ": budget must be >= 0, got " + std::to_string(opts.budget));
  core::require(opts.max_reject_frac >= 0 && opts.max_reject_frac <= 1,
                who + ": max_reject_frac must be in [0, 1], got " + std::to_string(opts.max_reject_frac));
  const torch::Tensor c = capo_curvature(advantages, logp, logp_old, mask, opts.step_size);  // (B, L) double
  const torch::Tensor valid = selection::valid_of(advantages, mask);                         // (B, L) bool
  const int64_t n = valid.sum().item<int64_t>();
  CapoResult res;
  const torch::Tensor validf = valid.to(mask.defined() ? mask.scalar_type() : torch::kFloat);
  if (n == 0) {
    res.keep = validf;
    return res;
  }
  const double nd = static_cast<double>(n);
  // Valid tokens by decreasing c (invalid ones sort last, as −1); stable: ties by position.
  const torch::Tensor key = torch::where(valid, c, torch::full({}, -1.0, c.options())).flatten();
  const auto [sorted, order] = torch::sort(key, /*stable=*/true, /*dim=*/0, /*descending=*/true);
  const torch::Tensor removed = torch::cat({torch::zeros({1}, c.options()), sorted.clamp_min(0).cumsum(0)});  // (BL + 1)
  const double total = c.sum().item<double>();
  // C after rejecting the top j tokens, j = 0..n; non-increasing in j, so the tokens needed is the
  // number of prefixes still over the budget.
  const torch::Tensor after = (total - removed.slice(0, 0, n + 1)) / nd;  // (n + 1)
  const int64_t needed = (after > opts.budget).sum().item<int64_t>();
  const auto cap = static_cast<int64_t>(std::floor(opts.max_reject_frac * nd + 1e-9));
  res.rejected = std::min({needed, cap, n});
  torch::Tensor keep = valid.flatten().clone();
  keep.index_fill_(0, order.slice(0, 0, res.rejected), false);
  res.keep = keep.reshape(valid.sizes()).to(validf.scalar_type());
  res.predicted_kl_before = total / nd;
  res.predicted_kl_after = torch::where(keep.reshape(valid.sizes()), c, torch::zeros_like(c)).sum().item<double>() / nd;
  return res;
}

SelectionOutput capo_select(const SelectionInput& in, const CapoOptions& opts) {
  const std::string who = "capo";
  check_defined(who, "mask", in.mask);
  SelectionOutput out = selection::pass_through(in, selection::batch_rows(who, in));
  const CapoResult r = capo_mask(in.advantages, in.logp, in.logp_old, in.mask, opts);
  out.token_mask = r.keep;
  const double n = selection::valid_of(in.mask, in.mask).sum().item<double>();
  out.metrics["capo/reject_frac"] = selection::scalar(n > 0 ? static_cast<double>(r.rejected) / n : 0.0);
  out.metrics["capo/predicted_kl_before"] = selection::scalar(r.predicted_kl_before);
  out.metrics["capo/predicted_kl_after"] = selection::scalar(r.predicted_kl_after);
  return out;
}

}  // namespace rlpp::algo
