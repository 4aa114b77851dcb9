// Clip-Cov and KL-Cov (arXiv 2505.22617): entropy collapse is driven by tokens whose log-probability
// and advantage covary strongly, so restrain the update of exactly those tokens.
//
// Over the valid tokens of the global batch (detached):
//   Cov_t = (A_t − mean A)·(log π_t − mean log π).
// clip_cov: among the tokens PPO does not already clip with lb < Cov_t < ub, pick
//   k = max(1, ⌊ratio·N⌋) uniformly at random (N = valid tokens; fewer if there are fewer candidates)
//   and zero their loss (and so their gradient); every other token gets PPO clip [1 − ε_low, 1 + ε_high].
// kl_cov: every token gets the unclipped −r·A; the k = max(1, ⌊k_ratio·N⌋) tokens with the largest
//   Cov_t get −r·A + β·|log r| instead (selected as Cov_t ≥ the k-th largest value, so exact ties at
//   that value are all selected).
// Both fix their statistics on the global batch in prepare(): the means, the k-th largest Cov
// (kl_cov) and the random selection itself (clip_cov, indexed by PolicyLossInput::rows), so a
// micro-batch split selects the same tokens as the whole batch.
#pragma once
#include <ATen/core/Generator.h>

#include <memory>

#include "rlpp/algo/objective.h"

namespace rlpp::algo {

struct ClipCovOptions {
  double ratio = 2e-4;  // fraction of valid tokens to detach
  double lb = 1.0;      // Cov window (lb, ub)
  double ub = 5.0;
  double eps_low = 0.2;
  double eps_high = 0.2;
  int64_t seed = 0;     // of the random selection

  void bind(core::Binder& b) {
    b.num("ratio", ratio, "fraction of valid tokens whose gradient is removed", core::Bounds{0.0, 1.0, true, false});
    b.num("lb", lb, "lower end of the covariance window");
    b.num("ub", ub, "upper end of the covariance window");
    b.num("eps_low", eps_low, "lower clip: r >= 1 - eps_low", core::Bounds{0.0, 1.0, true, true});
    b.num("eps_high", eps_high, "upper clip: r <= 1 + eps_high", core::Bounds::positive());
    b.integer("seed", seed, "seed of the random token selection", core::Bounds::at_least(0));
  }
};

struct KlCovOptions {
  double k_ratio = 2e-3;  // fraction of valid tokens that get the KL penalty
  double beta = 1.0;      // penalty coefficient

  void bind(core::Binder& b) {
    b.num("k_ratio", k_ratio, "fraction of valid tokens (largest covariance) that get the penalty",
          core::Bounds{0.0, 1.0, true, false});
    b.num("beta", beta, "coefficient of |log r| on the selected tokens", core::Bounds::non_negative());
  }
};

// Centring statistics over the valid tokens (double).
struct CovCentre {
  double mean_adv = 0;
  double mean_logp = 0;
  int64_t num_valid = 0;
};
CovCentre cov_centre(const PolicyLossInput& in);
// Cov_t of every position (same shape as logp, double, detached; meaningless at masked positions).
torch::Tensor token_covariance(const PolicyLossInput& in, const CovCentre& centre);

struct ClipCovStats {
  CovCentre centre;
  torch::Tensor selected;  // (B_global, L) bool: tokens whose loss is zeroed
};
// The candidates and the random selection on the global batch `in`, drawing from `gen`.
ClipCovStats clip_cov_stats(const PolicyLossInput& in, const ClipCovOptions& opts, at::Generator& gen);
// Metrics add cov_frac (fraction of valid tokens selected).
ObjectiveOutput clip_cov_loss(const PolicyLossInput& in, const ClipCovOptions& opts, const ClipCovStats& stats);

struct KlCovStats {
  CovCentre centre;
  double threshold = 0;  // the k-th largest Cov_t (+inf without valid tokens)
};
KlCovStats kl_cov_stats(const PolicyLossInput& in, const KlCovOptions& opts);
// Metrics add cov_frac (fraction of valid tokens penalised).
ObjectiveOutput kl_cov_loss(const PolicyLossInput& in, const KlCovOptions& opts, const KlCovStats& stats);

// clip_cov as a registered objective: owns the generator (seeded by `seed`) and the prepared selection.
class ClipCovObjective final : public PolicyObjective {
 public:
  explicit ClipCovObjective(ClipCovOptions opts);
  void prepare(const PolicyLossInput& global_batch) override;
  bool has_batch_statistics() const override { return true; }
  ObjectiveOutput compute(const PolicyLossInput& in) const override;

 private:
  ClipCovOptions opts_;
  mutable at::Generator gen_;  // compute() without prepare() draws a fresh selection
  std::shared_ptr<ClipCovStats> stats_;
};

}  // namespace rlpp::algo
