// M2PO's second-moment token mask (Zheng et al. 2025, "Prosperity before Collapse: How Far Can
// Off-Policy RL Reach with Stale Data on LLMs?", arXiv 2510.01161): train on stale rollouts with
// the batch's second moment of the log importance ratio held below a threshold,
//
//   M2 = (1/|T|) Σ_{t ∈ T} (log r_t)²,   r_t = π_learner(o_t) / π_behaviour(o_t),
//
// by masking the tokens with the largest (log r_t)² one by one until the kept tokens' M2 ≤ τ_M2
// (the paper's default τ_M2 = 0.04). Unlike a ratio clip it is indifferent to the sign of log r and
// keeps every token of a batch that is already close enough. Here π_learner is the proximal policy
// (the parameters the step starts from: SelectionInput::logp) and π_behaviour the sampler's
// recorded log-probs (SelectionInput::logp_old). Ties in (log r)² are masked in row-major order.
#pragma once
#include <torch/torch.h>

#include "rlpp/algo/selector.h"
#include "rlpp/core/config.h"

namespace rlpp::algo {

struct M2poOptions {
  double tau = 0.04;  // τ_M2: the kept tokens' mean (log r)² is at most this

  void bind(core::Binder& b) {
    b.num("tau", tau, "tau_M2: mask the largest (log r)^2 tokens until the kept tokens' mean (log r)^2 <= tau",
          core::Bounds::positive());
  }
};

// mask with the fewest largest-(log r)² tokens removed so that the kept tokens' M2 ≤ τ (B, L) float.
torch::Tensor m2po_mask(const torch::Tensor& logp,      // (B, L) learner (proximal)
                        const torch::Tensor& logp_old,  // (B, L) behaviour
                        const torch::Tensor& mask,      // (B, L) 0/1
                        const M2poOptions& opts);

// Selector form: token_mask = m2po_mask; metrics m2po/masked_frac (of valid tokens), m2po/m2 (before
// masking), m2po/m2_kept (after).
SelectionOutput m2po_select(const SelectionInput& in, const M2poOptions& opts);

}  // namespace rlpp::algo
