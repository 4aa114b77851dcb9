#include "rlpp/algo/kl.h"

#include <algorithm>

#include "rlpp/algo/stats.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {

namespace {

// Δ = clamp(log π − log π_ref, ±20) (B, L).
torch::Tensor log_ratio(const std::string& where, const torch::Tensor& logp, const torch::Tensor& logp_ref) {
  check_same_shape(where, "logp", logp, "logp_ref", logp_ref);
  return (logp - logp_ref).clamp(-kKlLogRatioClamp, kKlLogRatioClamp);
}

}  // namespace

torch::Tensor kl_k1(const torch::Tensor& logp, const torch::Tensor& logp_ref) {
  return log_ratio("kl k1", logp, logp_ref);
}

torch::Tensor kl_k2(const torch::Tensor& logp, const torch::Tensor& logp_ref) {
  const torch::Tensor d = log_ratio("kl k2", logp, logp_ref);
  return 0.5 * d * d;
}

torch::Tensor kl_k3(const torch::Tensor& logp, const torch::Tensor& logp_ref) {
  const torch::Tensor d = log_ratio("kl k3", logp, logp_ref);
  // expm1(−Δ) + Δ equals exp(−Δ) + Δ − 1 but keeps the ½Δ² of small Δ instead of cancelling it
  // to rounding noise; the lower clamp removes any remaining −ulp so that k3 ≥ 0 always holds.
  return (torch::expm1(-d) + d).clamp(0.0, kKlK3Max);
}

torch::Tensor kl_k3_plus(const torch::Tensor& logp, const torch::Tensor& logp_ref) {
  const torch::Tensor k2 = kl_k2(logp, logp_ref);
  const torch::Tensor k3 = kl_k3(logp, logp_ref);
  return k2 + (k3 - k2).detach();
}

core::Registry<KlEstimatorFn>& kl_registry() {
  static core::Registry<KlEstimatorFn> registry = [] {
    core::Registry<KlEstimatorFn> r("kl estimator");
    r.add("k1", &kl_k1, "log pi - log pi_ref (unbiased, high variance)");
    r.add("k2", &kl_k2, "0.5 * (log pi - log pi_ref)^2");
    r.add("k3", &kl_k3, "exp(-d) + d - 1 (unbiased, >= 0, low variance), clamped <= 10");
    r.add("k3+", &kl_k3_plus, "value of k3, gradient of k2 (straight-through)");
    return r;
  }();
  return registry;
}

std::vector<std::pair<std::string, std::string>> list_kl_estimators() { return listing(kl_registry()); }

torch::Tensor kl_token_penalty(const torch::Tensor& logp, const torch::Tensor& logp_ref,
                               const torch::Tensor& mask, KlEstimatorFn estimator, double coef) {
  const torch::Tensor k = estimator(logp, logp_ref);  // (B, L)
  const torch::Tensor penalty = coef * k;
  if (!mask.defined()) return penalty;
  return torch::where(valid_positions(penalty, mask), penalty, torch::zeros_like(penalty));
}

torch::Tensor kl_token_penalty(const torch::Tensor& logp, const torch::Tensor& logp_ref,
                               const torch::Tensor& mask, const std::string& estimator, double coef) {
  return kl_token_penalty(logp, logp_ref, mask, kl_registry().get(estimator), coef);
}

torch::Tensor kl_penalized_rewards(const torch::Tensor& token_rewards, const torch::Tensor& logp,
                                   const torch::Tensor& logp_ref, const torch::Tensor& mask,
                                   const std::string& estimator, double coef) {
  check_same_shape("kl_penalized_rewards", "token_rewards", token_rewards, "logp", logp);
  torch::NoGradGuard no_grad;
  const torch::Tensor penalty = kl_token_penalty(logp.detach(), logp_ref.detach(), mask, estimator, coef);
  return token_rewards - penalty.to(token_rewards.scalar_type());
}

AdaptiveKlController::AdaptiveKlController(const AdaptiveKlOptions& opts)
    : coef_(opts.coef), target_(opts.target), horizon_(opts.horizon) {
  core::require(target_ > 0, "adaptive KL controller: target must be > 0, got " + std::to_string(target_));
  core::require(horizon_ > 0, "adaptive KL controller: horizon must be > 0, got " + std::to_string(horizon_));
}

void AdaptiveKlController::update(double current_kl, int64_t n_steps) {
  const double error = std::clamp(current_kl / target_ - 1.0, -0.2, 0.2);
  coef_ *= 1.0 + error * static_cast<double>(n_steps) / horizon_;
}

core::Registry<KlControllerFactory>& kl_controller_registry() {
  static core::Registry<KlControllerFactory> registry = [] {
    core::Registry<KlControllerFactory> r("kl controller");
    r.add("fixed", factory_of<KlController, FixedKlController, FixedKlOptions>(), "constant coefficient");
    r.add("adaptive", factory_of<KlController, AdaptiveKlController, AdaptiveKlOptions>(),
          "proportional controller toward a target KL (arXiv 1909.08593)");
    return r;
  }();
  return registry;
}

std::vector<std::pair<std::string, std::string>> list_kl_controllers() {
  return listing(kl_controller_registry());
}

}  // namespace rlpp::algo
