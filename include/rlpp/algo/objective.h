// Policy objectives: per-token losses ℓ (minimised) with fixed inputs and fixed metric names.
//
// Every objective is a pure function
//     ObjectiveOutput <name>_loss(const PolicyLossInput&, const <Name>Options&)
// registered by name in objective_registry(). Aggregation to a scalar is a separate step
// (aggregation.h), so objectives never see micro-batch or global counts. The same code serves
// language batches (B, L) with a response mask and control minibatches (M) or (T, N) (mask {}).
//
// Formulas: docs/OBJECTIVES.md. Ratio r = exp(clamp(log π − log π_old, −20, 20)) (ratio.h).
#pragma once
#include <torch/torch.h>

#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rlpp/algo/component.h"
#include "rlpp/core/config.h"

namespace rlpp::algo {

struct PolicyLossInput {
  torch::Tensor logp;        // (B, L) log π_θ of the taken tokens/actions; requires grad
  torch::Tensor logp_old;    // (B, L) log π_old at sampling time (temperature 1); {} only for `pg`
  torch::Tensor advantages;  // (B, L) per-token advantages (never differentiated)
  torch::Tensor mask;        // (B, L) float 0/1 valid tokens; {} = all valid
  torch::Tensor entropy;     // (B, L) optional: H of π at each position (metric `entropy`; HAPO, 80/20)
  // Objectives to come add optional fields here (e.g. log-probs of a proxy policy for lp_reg);
  // an objective that needs one checks it with check_defined.
};

struct ObjectiveOutput {
  torch::Tensor token_loss;                      // (B, L) ℓ, 0 at masked positions
  std::map<std::string, torch::Tensor> metrics;  // 0-dim, detached; names below
};

// Metric names every objective reports (masked means over the valid tokens it was given):
//   clipfrac       fraction of tokens whose gradient a clip removed (= low + high + dual)
//   clipfrac_low   A < 0 and r < lower bound
//   clipfrac_high  A > 0 and r > upper bound
//   clipfrac_dual  A < 0 and r > c (dual clip)
//   approx_kl      k3 = mean((r − 1) − log r)      (0 without logp_old)
//   approx_kl_k1   k1 = mean(−log r)               (0 without logp_old)
//   entropy        mean H (only when `entropy` is given)
// Objectives may add their own; these names never change meaning.
namespace metric {
inline constexpr const char* kClipFrac = "clipfrac";
inline constexpr const char* kClipFracLow = "clipfrac_low";
inline constexpr const char* kClipFracHigh = "clipfrac_high";
inline constexpr const char* kClipFracDual = "clipfrac_dual";
inline constexpr const char* kApproxKl = "approx_kl";
inline constexpr const char* kApproxKlK1 = "approx_kl_k1";
inline constexpr const char* kEntropy = "entropy";
}  // namespace metric

// ---- objectives ------------------------------------------------------------------------------

// REINFORCE: ℓ = −A·log π.
struct PgOptions {
  void bind(core::Binder&) {}
};
ObjectiveOutput pg_loss(const PolicyLossInput& in, const PgOptions& opts);

// Importance-weighted REINFORCE: ℓ = −sg(r)·A·log π (gradient −r·A·∇log π).
struct PgIsOptions {
  void bind(core::Binder&) {}
};
ObjectiveOutput pg_is_loss(const PolicyLossInput& in, const PgIsOptions& opts);

// PPO clip (arXiv 1707.06347) with asymmetric ε (clip-higher, arXiv 2503.14476) and optional dual
// clip (arXiv 1912.09729): ℓ = max(−rA, −clip(r, 1−ε_low, 1+ε_high)A); if A < 0, ℓ = min(ℓ, −cA).
struct PpoClipOptions {
  double eps_low = 0.2;
  double eps_high = 0.2;
  bool dual_clip = false;
  double clip_c = 3.0;

  void bind(core::Binder& b) {
    b.num("eps_low", eps_low, "lower clip: r >= 1 - eps_low", core::Bounds{0.0, 1.0, true, true});
    b.num("eps_high", eps_high, "upper clip: r <= 1 + eps_high", core::Bounds::positive());
    b.flag("dual_clip", dual_clip, "bound the loss of negative-advantage tokens at -c*A");
    b.num("clip_c", clip_c, "dual-clip constant c",
          core::Bounds{1.0, std::numeric_limits<double>::infinity(), true, false});
  }
};
ObjectiveOutput ppo_clip_loss(const PolicyLossInput& in, const PpoClipOptions& opts);

// ---- registry ---------------------------------------------------------------------------------

class PolicyObjective {
 public:
  virtual ~PolicyObjective() = default;
  // Called once per optimizer step with the whole (global) batch, before micro-batching, for
  // objectives whose parameters adapt to batch statistics (bapo's bounds, clip_cov's centring):
  // they fix them here so every micro-batch uses the same values. Default: nothing.
  virtual void prepare(const PolicyLossInput& global_batch) {}
  virtual ObjectiveOutput compute(const PolicyLossInput& in) const = 0;
};

using ObjectiveFactory = Factory<PolicyObjective>;

// An objective that is a pure function of its input and options.
template <class Options, ObjectiveOutput (*Fn)(const PolicyLossInput&, const Options&)>
class FunctionObjective final : public PolicyObjective {
 public:
  explicit FunctionObjective(Options opts) : opts_(std::move(opts)) {}
  ObjectiveOutput compute(const PolicyLossInput& in) const override { return Fn(in, opts_); }
  const Options& options() const { return opts_; }

 private:
  Options opts_;
};

template <class Options, ObjectiveOutput (*Fn)(const PolicyLossInput&, const Options&)>
ObjectiveFactory function_objective() {
  return factory_of<PolicyObjective, FunctionObjective<Options, Fn>, Options>();
}

// Names as in docs/OBJECTIVES.md: pg, pg_is, ppo_clip.
core::Registry<ObjectiveFactory>& objective_registry();
std::vector<std::pair<std::string, std::string>> list_objectives();  // (name, summary)

// ---- shared by objective implementations -------------------------------------------------------

// Zeroes ℓ at masked positions (with `where`, so garbage there cannot leak NaN into gradients).
torch::Tensor mask_token_loss(const torch::Tensor& token_loss, const torch::Tensor& mask);

// The fixed metrics: clip fractions from the given bool tensors ({} = never clipped), KL
// estimates from logp/logp_old (0 when logp_old is {}), entropy when given.
std::map<std::string, torch::Tensor> policy_metrics(const PolicyLossInput& in,
                                                    const torch::Tensor& clipped_low = {},
                                                    const torch::Tensor& clipped_high = {},
                                                    const torch::Tensor& clipped_dual = {});

// Validates shapes: logp, advantages, and logp_old / mask / entropy when given (or required).
void check_policy_input(const std::string& objective, const PolicyLossInput& in, bool needs_logp_old);

}  // namespace rlpp::algo
