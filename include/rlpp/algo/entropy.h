// Entropy controls: the entropy bonus, its adaptive coefficient, and the top-entropy token mask.
// Formulas: docs/objectives.md "Entropy controls".
//
// H (B, L) is the entropy of π's full distribution at each position; the mask is float 0/1.
#pragma once
#include <torch/torch.h>

#include "rlpp/algo/aggregation.h"
#include "rlpp/core/config.h"

namespace rlpp::algo {

// ---- bonus: loss −= c·agg(H) ------------------------------------------------------------------

// −c·H per token, 0 at masked positions: added to ℓ before aggregation, it gives loss −= c·agg(H)
// with the same aggregation (and global counts) as the policy loss (B, L).
torch::Tensor entropy_bonus_token_loss(const torch::Tensor& entropy,  // (B, L), differentiable
                                       const torch::Tensor& mask,     // (B, L) 0/1, {} = all valid
                                       double coef);

// −c·agg(H) (0-dim), for a batch that is aggregated on its own.
torch::Tensor entropy_bonus_loss(const torch::Tensor& entropy,  // (B, L)
                                 const torch::Tensor& mask,     // (B, L) 0/1
                                 double coef, Aggregation mode, const AggregationCounts& counts);

// ---- adaptive coefficient ---------------------------------------------------------------------

struct AdaptiveEntropyOptions {
  double coef = 0.0;     // initial c
  double target = 0.2;   // target mean token entropy (nats)
  double step = 0.005;   // |Δc| per update
  double min_coef = 0.0;
  double max_coef = 1.0;

  void bind(core::Binder& b) {
    b.num("coef", coef, "initial entropy coefficient", core::Bounds::unit());
    b.num("target", target, "target mean token entropy (nats)", core::Bounds::non_negative());
    b.num("step", step, "coefficient change per update", core::Bounds::non_negative());
    b.num("min_coef", min_coef, "lower bound of the coefficient", core::Bounds::unit());
    b.num("max_coef", max_coef, "upper bound of the coefficient", core::Bounds::unit());
  }
};

// Bang-bang control toward a target entropy (Skywork-OR1, arXiv 2505.22312):
//   c ← clip(c + step, lo, hi) if H < target;  clip(c − step, lo, hi) if H > target; unchanged if equal.
class AdaptiveEntropyCoef {
 public:
  explicit AdaptiveEntropyCoef(const AdaptiveEntropyOptions& opts);
  double coef() const { return coef_; }
  // Updates from the batch's mean token entropy; returns the new coefficient.
  double update(double mean_entropy);
  void set_coef(double coef);  // restores a checkpoint (clipped to [lo, hi])

 private:
  double coef_;
  double target_;
  double step_;
  double min_coef_;
  double max_coef_;
};

// ---- top-entropy mask ("80/20", arXiv 2506.01939) -----------------------------------------------

// Q_q(H over valid tokens), linear interpolation between order statistics (as numpy/torch
// quantile). Compute it once on the global batch and hand it to every micro-batch. No valid token:
// +inf (nothing is kept).
double entropy_quantile(const torch::Tensor& entropy,  // (B, L)
                        const torch::Tensor& mask,     // (B, L) 0/1, {} = all valid
                        double q);                     // in [0, 1]

// 1[valid ∧ H ≥ threshold] as float 0/1 (B, L): multiply ℓ by it (or use it as the new mask).
torch::Tensor entropy_threshold_mask(const torch::Tensor& entropy,  // (B, L)
                                     const torch::Tensor& mask,     // (B, L) 0/1, {} = all valid
                                     double threshold);

// 1[valid ∧ H ≥ Q_{1−ρ}(H over valid tokens)]: keeps about a fraction ρ of the valid tokens, the
// highest-entropy "forking" ones (B, L). For an unsplit batch; see entropy_quantile otherwise.
torch::Tensor top_entropy_mask(const torch::Tensor& entropy,  // (B, L)
                               const torch::Tensor& mask,     // (B, L) 0/1
                               double rho = 0.2);             // in (0, 1]

struct TopEntropyOptions {
  double rho = 0.2;

  void bind(core::Binder& b) {
    b.num("rho", rho, "fraction of highest-entropy valid tokens that keep their loss",
          core::Bounds{0.0, 1.0, true, false});
  }
};

}  // namespace rlpp::algo
