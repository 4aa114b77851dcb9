// AEPO arbitrary-entropy regulariser (arXiv 2510.08141); formulas in include/rlpp/algo/aepo.h.
#include "rlpp/algo/aepo.h"

#include <cmath>
#include <string>

#include "rlpp/algo/stats.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {

double aepo_temperature(double mean_entropy, const AepoOptions& opts) {
  core::require(std::isfinite(mean_entropy), "aepo: mean entropy must be finite, got " + std::to_string(mean_entropy));
  return mean_entropy < opts.target ? opts.t_high : opts.t_low;
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

}  // namespace rlpp::algo
