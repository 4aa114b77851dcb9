// AEPO arbitrary-entropy regulariser (arXiv 2510.08141); formulas in include/rlpp/algo/aepo.h.
#include "rlpp/algo/aepo.h"

#include <cmath>
#include <string>

#include "rlpp/algo/stats.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {

double aepo_temperature(double mean_entropy, const AepoOptions& opts) {
  core::require(std::isfinite(mean_entropy), "aepo: mean entropy must be finite, got " + std::to_string(mean_entropy));
  return mean_entropy <= opts.target ? opts.t_high : opts.t_low;
}

torch::Tensor aepo_token_loss(const torch::Tensor& logp, const torch::Tensor& rewards, const torch::Tensor& mask,
                              const AepoOptions& opts) {
  const std::string who = "aepo_token_loss";
  check_defined(who, "logp", logp);
  check_defined(who, "rewards", rewards);
  core::require(logp.dim() == 2, who + ": logp must be (B, L), got " + std::to_string(logp.dim()) + " dims");
  if (mask.defined()) check_same_shape(who, "logp", logp, "mask", mask);
  torch::Tensor r = rewards.detach().to(logp.options());
  if (r.dim() == 1) {
    core::require(r.size(0) == logp.size(0), who + ": rewards (B) must have B = " + std::to_string(logp.size(0)) +
                                                 " rows like logp, got " + std::to_string(r.size(0)));
    r = r.unsqueeze(1).expand_as(logp);  // (B, L)
  } else {
    check_same_shape(who, "logp", logp, "rewards", r);
  }
  const torch::Tensor valid = valid_positions(logp, mask);  // (B, L) bool
  const torch::Tensor zero = torch::zeros({}, logp.options());
  // Select before multiplying: junk (−inf, NaN) at masked positions reaches neither value nor gradient.
  return -opts.alpha * torch::where(valid, r, zero) * torch::where(valid, logp, zero);
}

torch::Tensor aepo_rollout_weights(const torch::Tensor& advantages, double mean_entropy, const AepoOptions& opts) {
  const std::string who = "aepo_rollout_weights";
  check_defined(who, "advantages", advantages);
  core::require(advantages.dim() == 1, who + ": advantages must be (B), one per extra rollout, got " +
                                           std::to_string(advantages.dim()) + " dims");
  core::require(opts.max_samples >= 0, who + ": max_samples must be >= 0");
  aepo_temperature(mean_entropy, opts);  // refuses a non-finite entropy
  const bool raising = mean_entropy <= opts.target;
  torch::NoGradGuard no_grad;
  const torch::Tensor a = advantages.detach().to(torch::kCPU).to(torch::kDouble);  // (B)
  core::require(torch::isfinite(a).all().item<bool>(), who + ": advantages must be finite");
  const torch::Tensor selected = a > opts.select_threshold;  // (B) bool
  torch::Tensor w = selected.to(torch::kFloat);
  if (opts.max_samples > 0) {
    const int64_t k = raising ? opts.max_samples : opts.max_samples / 2;
    // Rank of each selected row among the selected ones, in row order; keep ranks < k.
    const torch::Tensor rank = selected.to(torch::kLong).cumsum(0) - 1;  // (B)
    w = torch::where(selected & (rank < k), torch::ones({}, torch::kFloat), torch::zeros({}, torch::kFloat));
  }
  return w.to(advantages.device());
}

AepoLoss aepo_loss(const torch::Tensor& logp, const torch::Tensor& advantages, const torch::Tensor& mask,
                   double mean_entropy, const AepoOptions& opts) {
  check_defined("aepo_loss", "logp", logp);
  core::require(logp.dim() == 2 && advantages.defined() && advantages.dim() == 1 && advantages.size(0) == logp.size(0),
                "aepo_loss: advantages must be (B) with B = " + std::to_string(logp.dim() == 2 ? logp.size(0) : -1) +
                    " rows like logp (B, L)");
  AepoLoss out;
  out.weights = aepo_rollout_weights(advantages, mean_entropy, opts);
  out.token_loss = aepo_token_loss(logp, out.weights, mask, opts);
  const double n = static_cast<double>(out.weights.sum().item<float>());
  out.metrics["aepo/temperature"] = torch::tensor(aepo_temperature(mean_entropy, opts), torch::kDouble);
  out.metrics["aepo/reinforced"] = torch::tensor(n, torch::kDouble);
  out.metrics["aepo/reinforced_frac"] =
      torch::tensor(logp.size(0) > 0 ? n / static_cast<double>(logp.size(0)) : 0.0, torch::kDouble);
  return out;
}

}  // namespace rlpp::algo
