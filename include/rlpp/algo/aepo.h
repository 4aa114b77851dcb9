// AEPO arbitrary-entropy regulariser (arXiv 2510.08141): instead of an entropy bonus, entropy is
// steered with a REINFORCE term on extra rollouts sampled at a temperature chosen from the current
// entropy:
//   loss += α·E_{o∼π^T}[−w(o)·log π(o)],  gradient −α·E_{o∼π^T}[w(o)·∇log π(o)],
//   T = t_high if H̄ <= target (raise entropy), t_low otherwise (lower it).
// Rollouts drawn at T > 1 and reinforced under π at temperature 1 move π toward the flatter π^T
// (and T < 1 toward the sharper one), so the sign of the entropy change follows the choice of T.
// log π must be the policy's log-probability at temperature 1 of the tokens that were sampled at
// T, with gradient; w is a constant.
//
// The weights w follow the authors' code: an extra rollout is reinforced with weight 1 when its
// group advantage (computed like the main batch's) exceeds select_threshold = 0.05, else 0, and at
// most max_samples = 60 of them (in row order) are used while raising entropy, half as many while
// lowering it (aepo_rollout_weights). aepo_loss puts both steps together.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>

#include "rlpp/core/config.h"

namespace rlpp::algo {

struct AepoOptions {
  double alpha = 1.0;             // α, weight of the regulariser against the policy loss
  double target = 0.5;            // target mean token entropy (nats)
  double t_high = 1.2;            // sampling temperature while the entropy is at or below target
  double t_low = 0.8;             // sampling temperature while it is above target
  double select_threshold = 0.05; // an extra rollout is reinforced when its advantage exceeds this
  int64_t max_samples = 60;       // most rollouts reinforced per step while raising (half while lowering); 0 = all

  void bind(core::Binder& b) {
    b.num("alpha", alpha, "weight of the regulariser on the extra rollouts", core::Bounds::non_negative());
    b.num("target", target, "target mean token entropy (nats)", core::Bounds::non_negative());
    b.num("t_high", t_high, "sampling temperature of the extra rollouts when entropy <= target",
          core::Bounds::positive());
    b.num("t_low", t_low, "sampling temperature of the extra rollouts when entropy > target",
          core::Bounds::positive());
    b.num("select_threshold", select_threshold, "reinforce an extra rollout when its advantage exceeds this");
    b.integer("max_samples", max_samples,
              "most extra rollouts reinforced per step while raising entropy, half while lowering (0 = all)",
              core::Bounds::at_least(0));
  }
};

// T = t_high if mean_entropy <= target, else t_low (exactly at the target: t_high, as the authors'
// code). Non-finite entropy is a UserError.
double aepo_temperature(double mean_entropy, const AepoOptions& opts);

// ℓ_t = −α·R·log π_t at valid tokens, exactly 0 (and no gradient) at masked ones (B, L); add it to
// the extra rollouts' policy loss before aggregation. R (the weights w, or any reward) is (B)
// (broadcast over the tokens) or (B, L); it is detached.
torch::Tensor aepo_token_loss(const torch::Tensor& logp,     // (B, L) log π at T = 1, differentiable
                              const torch::Tensor& rewards,  // (B) or (B, L) R of each extra rollout
                              const torch::Tensor& mask,     // (B, L) 0/1, {} = all valid
                              const AepoOptions& opts);

// w (B) float 0/1 of the extra rollouts from their group advantages (B): 1 for the first k rows
// (in order) with advantage > select_threshold, k = max_samples when raising entropy (mean_entropy
// <= target), max_samples / 2 (integer division) when lowering, all of them when max_samples = 0.
torch::Tensor aepo_rollout_weights(const torch::Tensor& advantages,  // (B) A_i of each extra rollout
                                   double mean_entropy, const AepoOptions& opts);

struct AepoLoss {
  torch::Tensor token_loss;  // (B, L) −α·w·log π, 0 at masked positions
  torch::Tensor weights;     // (B) w
  // 0-dim, detached: "aepo/temperature" (the T the rollouts were drawn at), "aepo/reinforced"
  // (rows with w = 1), "aepo/reinforced_frac" (of the B extra rollouts).
  std::map<std::string, torch::Tensor> metrics;
};

// The whole regulariser for one step: mean_entropy is the H̄ that chose the rollouts' temperature
// (aepo_temperature(mean_entropy)), advantages the rollouts' group advantages (B), logp their
// temperature-1 log-probabilities (B, L) with gradient.
AepoLoss aepo_loss(const torch::Tensor& logp, const torch::Tensor& advantages, const torch::Tensor& mask,
                   double mean_entropy, const AepoOptions& opts);

}  // namespace rlpp::algo
