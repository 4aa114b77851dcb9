// Curvature-aware token masking in the spirit of CAPO (arXiv 2510.00819; only the abstract is
// public): model the update to second order, and mask the tokens that would make it unstable,
// rejecting only a small fraction (the paper reports < 8% of tokens).
//
// Second-order model (our choice; docs/objectives.md). Diagonal, Fisher-like: each
// token's log-probability is treated as an independent coordinate moved by a gradient step of size
// η on the surrogate ℓ_t = −r_t·A_t, so the step changes it by Δ_t = η·r_t·A_t (g_t = ∂ℓ/∂log π_t
// = −r_t·A_t). Under the Fisher (Gauss–Newton) metric the KL to the data-generating policy after
// the step is, to second order, ½ Σ_t (log r_t + Δ_t)². A token's predicted curvature is
//   c_t = ½·(log r_t + η·r_t·A_t)²,         r_t = exp(clamp(logp − logp_old, −20, 20)),
// which combines the drift the token already has (stale or mismatched samples) with the step it is
// about to take. The predicted total is C = Σ_{kept t} c_t / N_valid (a per-token KL).
//
// Rule: while C > budget, reject the kept token with the largest c_t, but never more than
// ⌊max_reject_frac·N_valid⌋ tokens. Equivalently: sort c descending, reject the shortest prefix that
// brings C under the budget, capped. Ties are broken by position (row-major). Without logp/logp_old
// the model uses r = 1 (c_t = ½·η²·A_t²).
#pragma once
#include <torch/torch.h>

#include "rlpp/algo/selector.h"
#include "rlpp/core/config.h"

namespace rlpp::algo {

struct CapoOptions {
  double step_size = 0.1;         // η: log-prob change per unit of r·A
  double budget = 0.01;           // bound on the predicted per-token KL C
  double max_reject_frac = 0.08;  // cap on the rejected fraction of valid tokens

  void bind(core::Binder& b) {
    b.num("step_size", step_size, "eta: predicted log-prob change per unit of r*A", core::Bounds::non_negative());
    b.num("budget", budget, "bound on the predicted per-token KL after the step", core::Bounds::non_negative());
    b.num("max_reject_frac", max_reject_frac, "cap on the fraction of valid tokens rejected", core::Bounds::unit());
  }
};

// c_t = ½·(log r_t + η·r_t·A_t)² (B, L) double, 0 at masked positions; logp/logp_old may both be {}.
torch::Tensor capo_curvature(const torch::Tensor& advantages,  // (B, L)
                             const torch::Tensor& logp,        // (B, L) or {}
                             const torch::Tensor& logp_old,    // (B, L) or {}
                             const torch::Tensor& mask,        // (B, L) 0/1, {} = all valid
                             double step_size);

struct CapoResult {
  torch::Tensor keep;              // (B, L) float 0/1: valid and not rejected
  int64_t rejected = 0;            // number of rejected tokens
  double predicted_kl_before = 0;  // C over all valid tokens
  double predicted_kl_after = 0;   // C over the kept tokens (still / N_valid)
};

CapoResult capo_mask(const torch::Tensor& advantages,  // (B, L)
                     const torch::Tensor& logp,        // (B, L) or {}
                     const torch::Tensor& logp_old,    // (B, L) or {}
                     const torch::Tensor& mask,        // (B, L) 0/1, {} = all valid
                     const CapoOptions& opts);

// Metrics capo/reject_frac, capo/predicted_kl_before, capo/predicted_kl_after.
SelectionOutput capo_select(const SelectionInput& in, const CapoOptions& opts);

}  // namespace rlpp::algo
