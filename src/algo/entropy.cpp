#include "rlpp/algo/entropy.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "rlpp/algo/stats.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {

torch::Tensor entropy_bonus_token_loss(const torch::Tensor& entropy, const torch::Tensor& mask, double coef) {
  check_defined("entropy bonus", "entropy", entropy);
  const torch::Tensor loss = -coef * entropy;
  if (!mask.defined()) return loss;
  return torch::where(valid_positions(loss, mask), loss, torch::zeros_like(loss));
}

torch::Tensor entropy_bonus_loss(const torch::Tensor& entropy, const torch::Tensor& mask, double coef,
                                 Aggregation mode, const AggregationCounts& counts) {
  return aggregate_loss(entropy_bonus_token_loss(entropy, mask, coef), mask, mode, counts);
}

AdaptiveEntropyCoef::AdaptiveEntropyCoef(const AdaptiveEntropyOptions& opts)
    : coef_(opts.coef), target_(opts.target), step_(opts.step), min_coef_(opts.min_coef), max_coef_(opts.max_coef) {
  core::require(min_coef_ <= max_coef_, "adaptive entropy coefficient: min_coef (" + std::to_string(min_coef_) +
                                            ") must be <= max_coef (" + std::to_string(max_coef_) + ")");
  core::require(step_ >= 0, "adaptive entropy coefficient: step must be >= 0, got " + std::to_string(step_));
  coef_ = std::clamp(coef_, min_coef_, max_coef_);
}

double AdaptiveEntropyCoef::update(double mean_entropy) {
  core::require(std::isfinite(mean_entropy),
                "adaptive entropy coefficient: mean entropy must be finite, got " + std::to_string(mean_entropy));
  // Entropy below target: raise the bonus so it grows back; above: lower it.
  if (mean_entropy < target_) coef_ += step_;
  if (mean_entropy > target_) coef_ -= step_;
  coef_ = std::clamp(coef_, min_coef_, max_coef_);
  return coef_;
}

void AdaptiveEntropyCoef::set_coef(double coef) { coef_ = std::clamp(coef, min_coef_, max_coef_); }

double entropy_quantile(const torch::Tensor& entropy, const torch::Tensor& mask, double q) {
  check_defined("entropy_quantile", "entropy", entropy);
  core::require(q >= 0.0 && q <= 1.0, "entropy_quantile: q must be in [0, 1], got " + std::to_string(q));
  torch::NoGradGuard no_grad;
  const torch::Tensor values =
      entropy.detach().masked_select(valid_positions(entropy, mask)).to(torch::kDouble);  // (N_valid)
  if (values.numel() == 0) return std::numeric_limits<double>::infinity();
  return quantile_of(values, q);
}

torch::Tensor entropy_threshold_mask(const torch::Tensor& entropy, const torch::Tensor& mask, double threshold) {
  check_defined("entropy_threshold_mask", "entropy", entropy);
  torch::NoGradGuard no_grad;
  const torch::Tensor keep = valid_positions(entropy, mask) & (entropy.detach().to(torch::kDouble) >= threshold);
  return keep.to(entropy.scalar_type());
}

torch::Tensor top_entropy_mask(const torch::Tensor& entropy, const torch::Tensor& mask, double rho) {
  core::require(rho > 0.0 && rho <= 1.0, "top_entropy_mask: rho must be in (0, 1], got " + std::to_string(rho));
  return entropy_threshold_mask(entropy, mask, entropy_quantile(entropy, mask, 1.0 - rho));
}

}  // namespace rlpp::algo
