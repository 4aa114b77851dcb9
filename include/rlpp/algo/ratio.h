// Importance ratios and the PPO clip, shared by every ratio-based objective (pg_is, ppo_clip and
// later dapo, bapo, hapo, gppo, clip_cov, lp_reg, ...).
#pragma once
#include <torch/torch.h>

namespace rlpp::algo {

// Bound on |log π − log π_old| before exponentiating: keeps r finite for any input (including
// garbage at masked positions) while never binding on tokens a sane update produces.
constexpr double kLogRatioClamp = 20.0;

// log r = clamp(log π − log π_old, −20, 20).
torch::Tensor log_ratio(const torch::Tensor& logp,       // any shape, e.g. (B, L); requires grad
                        const torch::Tensor& logp_old);  // same shape
// r = exp(log_ratio(...)).
torch::Tensor ratio(const torch::Tensor& logp, const torch::Tensor& logp_old);

// PPO's pessimistic clipped surrogate with absolute ratio bounds [lo, hi] (lo < 1 < hi), written
// per token so that every clip is an explicit, exactly zero-gradient branch:
//   A > 0 and r > hi          -> ℓ = −hi·A            (clipped_high)
//   A < 0 and r < lo          -> ℓ = −lo·A            (clipped_low)
//   A < 0 and r > c (dual)    -> ℓ = −c·A             (clipped_dual, arXiv 1912.09729)
//   otherwise                 -> ℓ = −r·A
// which equals max(−rA, −clip(r, lo, hi)A), then min(·, −cA) where A < 0. Bounds are tensors
// broadcastable to r, so per-token bounds (HAPO's entropy-adaptive ε) use the same code.
struct ClippedSurrogate {
  torch::Tensor loss;          // same shape as r: ℓ per token (no mask applied)
  torch::Tensor clipped_low;   // bool, same shape
  torch::Tensor clipped_high;  // bool, same shape
  torch::Tensor clipped_dual;  // bool, same shape (all false without a dual clip)
};
ClippedSurrogate clipped_surrogate(const torch::Tensor& r,           // (B, L) ratio, requires grad
                                   const torch::Tensor& advantages,  // (B, L)
                                   const torch::Tensor& lo,       // broadcastable: lower bound 1 − ε_low
                                   const torch::Tensor& hi,       // broadcastable: upper bound 1 + ε_high
                                   const torch::Tensor& dual_c);  // broadcastable, or {} for no dual clip

}  // namespace rlpp::algo
