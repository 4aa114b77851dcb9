// AEPO arbitrary-entropy regulariser (arXiv 2510.08141): instead of an entropy bonus, entropy is
// steered with a REINFORCE term on extra rollouts sampled at a temperature chosen from the current
// entropy:
//   loss += α·E_{o∼π^T}[−R(o)·log π(o)],  gradient −α·E_{o∼π^T}[R(o)·∇log π(o)],
//   T = t_high if H̄ < target (raise entropy), t_low otherwise (lower it).
// Rollouts drawn at T > 1 and reinforced under π at temperature 1 move π toward the flatter π^T
// (and T < 1 toward the sharper one), so the sign of the entropy change follows the choice of T.
// log π must be the policy's log-probability at temperature 1 of the tokens that were sampled at
// T, with gradient; R (a reward or an advantage of each extra rollout) is a constant.
#pragma once
#include <torch/torch.h>

#include "rlpp/core/config.h"

namespace rlpp::algo {

struct AepoOptions {
  double alpha = 1.0;   // α, weight of the regulariser against the policy loss
  double target = 0.5;  // target mean token entropy (nats)
  double t_high = 1.2;  // sampling temperature while the entropy is below target
  double t_low = 0.8;   // sampling temperature while it is at or above target

  void bind(core::Binder& b) {
    b.num("alpha", alpha, "weight of the regulariser on the extra rollouts", core::Bounds::non_negative());
    b.num("target", target, "target mean token entropy (nats)", core::Bounds::non_negative());
    b.num("t_high", t_high, "sampling temperature of the extra rollouts when entropy < target",
          core::Bounds::positive());
    b.num("t_low", t_low, "sampling temperature of the extra rollouts when entropy >= target",
          core::Bounds::positive());
  }
};

// T = t_high if mean_entropy < target, else t_low (exactly at the target: t_low). Non-finite
// entropy is a UserError.
double aepo_temperature(double mean_entropy, const AepoOptions& opts);

// ℓ_t = −α·R·log π_t at valid tokens, exactly 0 (and no gradient) at masked ones (B, L); add it to
// the extra rollouts' policy loss before aggregation. R is (B) (broadcast over the tokens) or
// (B, L); it is detached.
torch::Tensor aepo_token_loss(const torch::Tensor& logp,     // (B, L) log π at T = 1, differentiable
                              const torch::Tensor& rewards,  // (B) or (B, L) R of each extra rollout
                              const torch::Tensor& mask,     // (B, L) 0/1, {} = all valid
                              const AepoOptions& opts);

}  // namespace rlpp::algo
