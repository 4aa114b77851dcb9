// Critic loss for PPO (CleanRL `clip_vloss`, arXiv 2005.12729 §3 "value function clipping").
#pragma once
#include <torch/torch.h>

#include "rlpp/core/config.h"

namespace rlpp::algo {

struct ValueLossOptions {
  bool clip = true;        // CleanRL default: clipped value loss
  double clip_coef = 0.2;  // c; CleanRL reuses the policy clip coefficient

  void bind(core::Binder& b) {
    b.flag("clip_vloss", clip, "clip the value update around the rollout's values (PPO)");
    b.num("clip_vloss_coef", clip_coef, "value clip range c", core::Bounds::positive());
  }
};

// Per-element value loss (same shape as `values`), so that token-level critics can use any
// aggregation:
//   unclipped: ½ (V − R)²
//   clipped:   ½ max((V − R)², (V_old + clamp(V − V_old, −c, c) − R)²)
torch::Tensor value_token_loss(
    const torch::Tensor& values,      // (M) or (B, L): V_θ(s), requires grad
    const torch::Tensor& returns,     // same shape: R = A + V_old
    const torch::Tensor& values_old,  // same shape: V at rollout time; unused if !clip
    const ValueLossOptions& opts);

// Masked mean of value_token_loss: CleanRL's `v_loss` (before the value coefficient).
torch::Tensor value_loss(const torch::Tensor& values,      // (M) or (B, L)
                         const torch::Tensor& returns,     // same shape
                         const torch::Tensor& values_old,  // same shape; may be {} if !opts.clip
                         const ValueLossOptions& opts,
                         const torch::Tensor& mask = {});  // same shape, 0/1; {} = all valid

}  // namespace rlpp::algo
