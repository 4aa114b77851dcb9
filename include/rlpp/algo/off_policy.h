// Off-policy correction for stale rollouts and sampler/learner mismatch. The ratio is always
// learner over behaviour: r_t = π_learner(o_t)/π_behaviour(o_t) = exp(clamp(logp − logp_old, −20, 20)),
// logp the log-probs of the policy being trained (as the learner computes them), logp_old those
// stored by the sampler. Both must be temperature-1 log-probs of their policies: mixing in the
// sampling distribution's temperature is a known bug class.
//
// Truncated importance sampling (TIS): weight w = sg(min(ρ, cap)), multiplied into ℓ; cap 2 by
// default (2–3 in practice).
//   token level:     ρ_t = r_t
//   sequence level:  ρ_i = exp(Σ_t log r_t)  ("product", the exact sequence ratio)
//                    ρ_i = exp(mean_t log r_t) ("geometric_mean", length-normalised: it does not
//                    explode or vanish with length, at the cost of bias), broadcast over the row.
// Ratio masking (MIS): mask tokens (token level) or whole responses (sequence level) whose ρ lies
// outside [lo, hi] instead of reweighting them.
#pragma once
#include <torch/torch.h>

#include <string>

#include "rlpp/algo/selector.h"
#include "rlpp/core/config.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {

// log ρ (B, L) double, 0 at masked positions: per token (sequence = false) or the row's sequence
// log ratio broadcast over its valid tokens (sequence = true, `seq_ratio` product | geometric_mean).
torch::Tensor off_policy_log_ratio(const torch::Tensor& logp,      // (B, L) learner
                                   const torch::Tensor& logp_old,  // (B, L) behaviour
                                   const torch::Tensor& mask,      // (B, L) 0/1, {} = all valid
                                   bool sequence, const std::string& seq_ratio);

struct TisOptions {
  double cap = 2.0;
  std::string seq_ratio = "product";  // sequence level only: product | geometric_mean

  void bind(core::Binder& b) {
    b.num("cap", cap, "truncation: weight = min(ratio, cap)", core::Bounds::positive());
    b.choice("seq_ratio", seq_ratio, {"product", "geometric_mean"},
             "sequence ratio: exp(sum log r) or exp(mean log r) (sequence level only)");
  }
};

// w = min(ρ, cap) (B, L) float, detached, 0 at masked positions.
torch::Tensor tis_weights(const torch::Tensor& logp,      // (B, L)
                          const torch::Tensor& logp_old,  // (B, L)
                          const torch::Tensor& mask,      // (B, L) 0/1, {} = all valid
                          bool sequence, const TisOptions& opts);

struct RatioMaskOptions {
  double lo = 0.5;
  double hi = 2.0;
  std::string seq_ratio = "product";

  void bind(core::Binder& b) {
    b.num("lo", lo, "keep when ratio >= lo", core::Bounds::non_negative());
    b.num("hi", hi, "keep when ratio <= hi", core::Bounds::positive());
    b.choice("seq_ratio", seq_ratio, {"product", "geometric_mean"},
             "sequence ratio: exp(sum log r) or exp(mean log r) (sequence level only)");
    if (b.mode() == core::Binder::Mode::kRead) {
      core::require(lo <= hi, "ratio mask: lo (" + std::to_string(lo) + ") must be <= hi (" + std::to_string(hi) + ")");
    }
  }
};

// mask ∧ lo ≤ ρ ≤ hi (B, L) float.
torch::Tensor ratio_mask(const torch::Tensor& logp,      // (B, L)
                         const torch::Tensor& logp_old,  // (B, L)
                         const torch::Tensor& mask,      // (B, L) 0/1, {} = all valid
                         bool sequence, const RatioMaskOptions& opts);

// Selector forms. tis_*: token_weight = w; metrics tis/capped_frac (of valid tokens), tis/mean_weight,
// tis/mean_ratio. ratio_mask_*: token_mask = ratio_mask (row_keep false for a masked response at
// sequence level); metric ratio_mask/masked_frac (of valid tokens).
SelectionOutput tis_token_select(const SelectionInput& in, const TisOptions& opts);
SelectionOutput tis_sequence_select(const SelectionInput& in, const TisOptions& opts);
SelectionOutput ratio_mask_token_select(const SelectionInput& in, const RatioMaskOptions& opts);
SelectionOutput ratio_mask_sequence_select(const SelectionInput& in, const RatioMaskOptions& opts);

}  // namespace rlpp::algo
