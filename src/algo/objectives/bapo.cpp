// BAPO (arXiv 2510.18927): PPO whose clip bounds are re-balanced every step on the global batch.
#include "rlpp/algo/objectives/bapo.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "rlpp/algo/ratio.h"
#include "rlpp/algo/stats.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

// Detached ratios and advantages of the valid tokens, in double: (N_valid) each.
struct ValidTokens {
  torch::Tensor r;
  torch::Tensor a;
};

ValidTokens valid_tokens(const PolicyLossInput& in) {
  torch::NoGradGuard no_grad;
  const torch::Tensor valid = valid_positions(in.logp, in.mask);
  return {ratio(in.logp.detach(), in.logp_old).masked_select(valid).to(torch::kDouble),
          in.advantages.detach().masked_select(valid).to(torch::kDouble)};
}

double balance(const ValidTokens& t, const BapoOptions& opts, double c_low, double c_high) {
  double pos = 0, neg = 0;
  if (opts.contribution == "gradient") {
    const torch::Tensor p = (t.a > 0) & (t.r <= c_high);
    torch::Tensor n = (t.a < 0) & (t.r >= c_low);
    if (opts.dual_clip) n = n & (t.r <= opts.clip_c);
    pos = torch::where(p, t.r * t.a, torch::zeros_like(t.r)).sum().item<double>();
    neg = torch::where(n, -t.r * t.a, torch::zeros_like(t.r)).sum().item<double>();
  } else {
    const torch::Tensor eff = torch::where(t.a >= 0, t.r.clamp_max(c_high), t.r.clamp_min(c_low)) * t.a;
    pos = eff.clamp_min(0).sum().item<double>();
    neg = (-eff).clamp_min(0).sum().item<double>();
  }
  return neg > 0 ? pos / neg : std::numeric_limits<double>::infinity();
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
  return balance(valid_tokens(in), opts, c_low, c_high);
}

BapoBounds bapo_bounds(const PolicyLossInput& in, const BapoOptions& opts) {
  check_policy_input("bapo", in, /*needs_logp_old=*/true);
  check_options(opts);
  const ValidTokens t = valid_tokens(in);
  BapoBounds b{opts.c_low_start, opts.c_high_start, 0.0, 0};
  b.pos_neg_ratio = balance(t, opts, b.c_low, b.c_high);
  // A bound counts as at its maximum within a small tolerance, so accumulated steps of 0.05 stop
  // exactly at the maximum instead of one rounding error below it.
  const double tol = 1e-9;
  while (b.pos_neg_ratio < opts.target && b.c_low < opts.c_low_max - tol) {
    b.c_low = std::min(b.c_low + opts.step_low, opts.c_low_max);
    ++b.steps;
    b.pos_neg_ratio = balance(t, opts, b.c_low, b.c_high);
  }
  while (b.pos_neg_ratio < opts.target && b.c_high < opts.c_high_max - tol) {
    b.c_high = std::min(b.c_high + opts.step_high, opts.c_high_max);
    ++b.steps;
    b.pos_neg_ratio = balance(t, opts, b.c_low, b.c_high);
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
