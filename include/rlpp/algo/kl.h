// KL estimators between the policy π and a reference policy π_ref, per token, and the controllers
// that set the penalty coefficient.
//
// With Δ = log π − log π_ref clamped to ±20 (so exp(−Δ) cannot overflow), samples drawn from π:
//   k1  = Δ                                   unbiased, high variance, can be negative
//   k2  = ½Δ²                                 biased, ≥ 0; ∇k2 = Δ·∇log π
//   k3  = exp(−Δ) + Δ − 1  (clamped ≤ 10)     unbiased, ≥ 0, low variance (Schulman 2020)
//   k3+ = k2 + sg(k3 − k2)                    value of k3, gradient of k2 (straight-through)
// The penalty is used either as a loss term (ℓ += c·k, default c = 0.001) or folded into the token
// rewards (r_t −= c·sg(k)). Formulas: docs/objectives.md "KL estimators".
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rlpp/algo/component.h"
#include "rlpp/core/config.h"
#include "rlpp/core/registry.h"

namespace rlpp::algo {

inline constexpr double kKlLogRatioClamp = 20.0;  // |Δ| ≤ 20
inline constexpr double kKlK3Max = 10.0;          // k3 ≤ 10

// ---- estimators: (B, L) → (B, L), elementwise, differentiable through logp -------------------

// All take logp (B, L) log π_θ of the taken tokens and logp_ref (B, L) log π_ref of the same tokens.
torch::Tensor kl_k1(const torch::Tensor& logp, const torch::Tensor& logp_ref);       // Δ
torch::Tensor kl_k2(const torch::Tensor& logp, const torch::Tensor& logp_ref);       // ½Δ²
torch::Tensor kl_k3(const torch::Tensor& logp, const torch::Tensor& logp_ref);       // e^{−Δ}+Δ−1
torch::Tensor kl_k3_plus(const torch::Tensor& logp, const torch::Tensor& logp_ref);  // k3 value, k2 grad

using KlEstimatorFn = torch::Tensor (*)(const torch::Tensor& logp, const torch::Tensor& logp_ref);

// Names: k1, k2, k3, k3+.
core::Registry<KlEstimatorFn>& kl_registry();
std::vector<std::pair<std::string, std::string>> list_kl_estimators();  // (name, summary)

// ---- penalty ----------------------------------------------------------------------------------

// c·k(logp, logp_ref), 0 at masked positions (selected with `where`, so padding cannot leak NaN).
// Add it to the token loss ℓ before aggregation. `mask` may be {} (all valid).
torch::Tensor kl_token_penalty(const torch::Tensor& logp,      // (B, L)
                               const torch::Tensor& logp_ref,  // (B, L)
                               const torch::Tensor& mask,      // (B, L) 0/1
                               KlEstimatorFn estimator, double coef);
torch::Tensor kl_token_penalty(const torch::Tensor& logp, const torch::Tensor& logp_ref,
                               const torch::Tensor& mask, const std::string& estimator, double coef);

// Token rewards with the KL folded in: r − c·sg(k), k at masked positions treated as 0 (B, L).
torch::Tensor kl_penalized_rewards(const torch::Tensor& token_rewards,  // (B, L)
                                   const torch::Tensor& logp,           // (B, L)
                                   const torch::Tensor& logp_ref,       // (B, L)
                                   const torch::Tensor& mask,           // (B, L) 0/1
                                   const std::string& estimator, double coef);

// How a recipe's [kl] section asks for the penalty.
struct KlPenaltyOptions {
  std::string estimator = "k3";
  std::string use = "loss";  // "loss": ℓ += c·k; "reward": r −= c·sg(k)

  void bind(core::Binder& b) {
    b.choice("estimator", estimator, {"k1", "k2", "k3", "k3+"}, "KL estimator of log pi - log pi_ref");
    b.choice("use", use, {"loss", "reward"}, "add c*KL to the token loss, or subtract it from token rewards");
  }
};

// ---- coefficient controllers ------------------------------------------------------------------

class KlController {
 public:
  virtual ~KlController() = default;
  virtual double coef() const = 0;
  // Called after each optimizer step with the mean KL measured on the batch and the number of
  // environment steps (or tokens/samples, in the units of `horizon`) that batch covered.
  virtual void update(double current_kl, int64_t n_steps) = 0;
  // Restores the coefficient from a checkpoint.
  virtual void set_coef(double coef) = 0;
};

struct FixedKlOptions {
  double coef = 0.001;

  void bind(core::Binder& b) { b.num("coef", coef, "KL coefficient", core::Bounds::non_negative()); }
};

struct AdaptiveKlOptions {
  double coef = 0.001;  // initial coefficient
  double target = 0.1;
  double horizon = 10000;

  void bind(core::Binder& b) {
    b.num("coef", coef, "initial KL coefficient", core::Bounds::non_negative());
    b.num("target", target, "target KL", core::Bounds::positive());
    b.num("horizon", horizon, "steps over which a 20% error changes the coefficient by 20%",
          core::Bounds::positive());
  }
};

// c never changes.
class FixedKlController final : public KlController {
 public:
  explicit FixedKlController(const FixedKlOptions& opts) : coef_(opts.coef) {}
  double coef() const override { return coef_; }
  void update(double, int64_t) override {}
  void set_coef(double coef) override { coef_ = coef; }

 private:
  double coef_;
};

// Proportional controller (Ziegler et al., arXiv 1909.08593):
//   e = clip(KL/target − 1, −0.2, 0.2),  c ← c·(1 + e·n_steps/horizon).
class AdaptiveKlController final : public KlController {
 public:
  explicit AdaptiveKlController(const AdaptiveKlOptions& opts);
  double coef() const override { return coef_; }
  void update(double current_kl, int64_t n_steps) override;
  void set_coef(double coef) override { coef_ = coef; }

 private:
  double coef_;
  double target_;
  double horizon_;
};

using KlControllerFactory = Factory<KlController>;

// Names: fixed, adaptive.
core::Registry<KlControllerFactory>& kl_controller_registry();
std::vector<std::pair<std::string, std::string>> list_kl_controllers();  // (name, summary)

}  // namespace rlpp::algo
