// HAPO: heterogeneous adaptive policy optimization (arXiv 2509.16591) — token-level treatment
// driven by a normalised entropy ĥ ∈ [−1, 1].
//
// 1. Normalised entropy, statistics over the valid tokens of the global batch:
//      x = log max(H, h_floor);  q = Q_p(x) (p-quantile, linear interpolation);  s = rms(x − q);
//      h = (x − q)/s;  ĥ = h / max(h⁺) for h > 0,  h / |min(h⁻)| for h < 0,  0 at h = 0.
//    Tokens above the p-quantile of entropy ("forking" tokens) get ĥ > 0, the rest ĥ ≤ 0.
// 2. Adaptive temperature (the sampler's hook): T_tok = T·(1 + τ_T·ĥ), ĥ from the entropy of the
//    current logits normalised with given statistics (hapo_adaptive_temperature).
// 3. Token-level group average advantages: the `hapo_tga` advantage estimator.
// 4. Differential advantage redistribution: A_ent = A·(1 + β·ĥ); with the neutral band
//    (1 − ε_low/2, 1 + ε_high/2) on r: ĥ > 0 uses A inside the band and A_ent outside; ĥ ≤ 0 uses
//    A_ent inside and A outside.
// 5. Asymmetric adaptive clipping: ĥ ≤ 0 widens the lower side, ε_l = ε_low·(1 − α·ĥ), keeping
//    ε_h = ε_high; ĥ > 0 widens the upper side, ε_h = ε_high·(1 + α·ĥ), keeping ε_l = ε_low
//    (the paper names only the adapted side; the other keeps its base value). Then PPO clip with
//    [1 − ε_l, 1 + ε_h] per token and the dual clip −c·A for A < 0. The recipe pairs it with
//    token-mean aggregation, DAPO dynamic sampling and overlong shaping, and no KL.
// The band in 4 uses the base ε (ε_low, ε_high), not the adapted ones.
#pragma once
#include <limits>

#include "rlpp/algo/objective.h"

namespace rlpp::algo {

struct HapoOptions {
  double quantile = 0.8;   // p of the entropy quantile
  double beta = 1.0;       // β of the advantage redistribution
  double alpha = 1.0;      // α of the adaptive clipping
  double eps_low = 0.2;
  double eps_high = 0.2;
  double clip_c = 10.0;    // dual clip
  double h_floor = 1e-8;   // entropies below this are raised to it before the log

  void bind(core::Binder& b) {
    b.num("quantile", quantile, "entropy quantile p that separates high- from low-entropy tokens",
          core::Bounds{0.0, 1.0, true, true});
    b.num("beta", beta, "advantage redistribution strength: A_ent = A (1 + beta h)", core::Bounds::non_negative());
    b.num("alpha", alpha, "adaptive clipping strength", core::Bounds::non_negative());
    b.num("eps_low", eps_low, "base lower clip: r >= 1 - eps_low", core::Bounds{0.0, 1.0, true, true});
    b.num("eps_high", eps_high, "base upper clip: r <= 1 + eps_high", core::Bounds::positive());
    b.num("clip_c", clip_c, "dual-clip constant c",
          core::Bounds{1.0, std::numeric_limits<double>::infinity(), true, true});
    b.num("h_floor", h_floor, "entropy floor before the log", core::Bounds::positive());
  }
};

// Statistics of step 1 (EntropyNormStats, objective.h), fitted on a batch of entropies.
// Fits the statistics on the valid entries of `entropy` (any shape; mask {} = all valid). A batch
// without valid entries, or whose log-entropies are all equal, gives statistics that map every
// token to ĥ = 0.
EntropyNormStats fit_entropy_norm(const torch::Tensor& entropy, const torch::Tensor& mask, double quantile,
                                  double h_floor = 1e-8);
// The same fit with the objective's own p (`quantile`) and `h_floor`: the statistics the sampler's
// adaptive temperature must use, so that it splits high- from low-entropy tokens where the loss does.
EntropyNormStats fit_entropy_norm(const torch::Tensor& entropy, const torch::Tensor& mask, const HapoOptions& opts);
// HAPO declares those statistics to the trainer (PolicyObjective::entropy_norm_stats).
inline std::optional<EntropyNormStats> entropy_norm_of(const HapoOptions& opts, const torch::Tensor& entropy,
                                                       const torch::Tensor& mask) {
  return fit_entropy_norm(entropy, mask, opts);
}
// ĥ ∈ [−1, 1] of every entry (same shape as entropy; not differentiable: a control signal). Entries
// of a new batch beyond the fitted extremes are clamped to ±1.
torch::Tensor normalized_entropy(const torch::Tensor& entropy, const EntropyNormStats& stats);

// Per-row sampling temperature T·(1 + τ_T·ĥ) from the current next-token entropies (B) (step 2).
torch::Tensor hapo_adaptive_temperature(const torch::Tensor& entropy,  // (B) entropy of the current logits
                                        const EntropyNormStats& stats, double temperature,
                                        double tau_t = 0.05);

EntropyNormStats hapo_stats(const PolicyLossInput& in, const HapoOptions& opts);
// Needs in.entropy. Metrics add hapo_adv_redistributed (fraction of tokens using A_ent),
// hapo_eps_low_mean and hapo_eps_high_mean (mean adapted ε over valid tokens).
ObjectiveOutput hapo_loss(const PolicyLossInput& in, const HapoOptions& opts, const EntropyNormStats& stats);

}  // namespace rlpp::algo
