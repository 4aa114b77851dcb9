// Policy objectives: per-token losses ℓ (minimised) with fixed inputs and fixed metric names.
//
// Every objective is a pure function
//     ObjectiveOutput <name>_loss(const PolicyLossInput&, const <Name>Options&)
// declared with its options in rlpp/algo/objectives/<name>.h and registered by name in
// objective_registry(). Aggregation to a scalar is a separate step
// (aggregation.h), so objectives never see micro-batch or global counts. The same code serves
// language batches (B, L) with a response mask and control minibatches (M) or (T, N) (mask {}).
//
// Formulas: docs/objectives.md. Ratio r = exp(clamp(log π − log π_old, −20, 20)) (ratio.h).
#pragma once
#include <torch/torch.h>

#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rlpp/algo/component.h"
#include "rlpp/core/config.h"

namespace rlpp::algo {

struct PolicyLossInput {
  torch::Tensor logp;        // (B, L) log π_θ of the taken tokens/actions; requires grad
  // (B, L) log π_old, the proximal policy the ratio and clip are anchored to; {} only for `pg`.
  // In the language-model update it is logp_proximal (the engine's recorded log π at T = 1 for a
  // fresh batch, recomputed for a stale one), never logp_behaviour (log q after the samplers):
  // docs/language-models.md, "The three log-probs". Control trainers: log π at sampling time.
  torch::Tensor logp_old;
  torch::Tensor advantages;  // (B, L) per-token advantages (never differentiated)
  torch::Tensor mask;        // (B, L) float 0/1 valid tokens; {} = all valid
  torch::Tensor entropy;     // (B, L) optional: H of π at each position (metric `entropy`; HAPO, 80/20)
  torch::Tensor logp_proxy;  // (B, L) optional: log π_p of the taken tokens, −inf where π_p = 0 (lp_reg)
  // (B) optional int64: the row of the global batch (the one given to prepare()) that each row of
  // this micro-batch is. Only objectives that fix per-token decisions in prepare() read it
  // (clip_cov's random selection); {} means "this input is the global batch itself".
  torch::Tensor rows;
  // An objective that needs an optional field checks it with check_defined.
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

// Shared by the sequence-level objectives (gspo, gmpo): per-row mean of x over the valid positions,
// 0 for a row without any; garbage at masked positions reaches neither value nor gradient.
torch::Tensor row_masked_mean(const torch::Tensor& x,      // (B, L)
                              const torch::Tensor& mask);  // (B, L) 0/1, or {} = all valid; returns (B, 1)


// ---- registry ---------------------------------------------------------------------------------

// Statistics that normalise token entropies into ĥ ∈ [−1, 1] (HAPO, objectives/hapo.h):
// x = log max(H, h_floor), q = Q_p(x), rms = rms(x − q), and the extremes of (x − q)/rms.
struct EntropyNormStats {
  double q = 0;        // Q_p(log H)
  double rms = 1;      // rms(log H − q)
  double pos_max = 1;  // max h⁺ (1 when there is none)
  double neg_max = 1;  // |min h⁻| (1 when there is none)
  double h_floor = 1e-8;
};

class PolicyObjective {
 public:
  virtual ~PolicyObjective() = default;
  // Called once per optimizer step with the whole (global) batch, before micro-batching, for
  // objectives whose parameters adapt to batch statistics (bapo's bounds, clip_cov's centring):
  // they fix them here so every micro-batch uses the same values. Default: nothing.
  virtual void prepare(const PolicyLossInput& global_batch) {}
  // Whether prepare() fixes anything (a data-parallel update gathers the global batch only then).
  virtual bool has_batch_statistics() const { return false; }
  virtual ObjectiveOutput compute(const PolicyLossInput& in) const = 0;
  // What the objective needs beyond the fixed inputs, declared so that trainers never recognise
  // an objective by name: κ > 0 asks for logp_proxy, the log-probs of the taken tokens under the
  // min-p proxy (threshold κ·max π) of the policy the update starts from (lp_reg).
  virtual double proxy_min_p() const { return 0.0; }
  // The entropy statistics the objective normalises token entropies with (HAPO's ĥ), fitted on
  // `entropy` at the valid positions of `mask`, so that a sampler's adaptive temperature
  // (hapo_temperature) splits tokens where the loss does; nullopt for objectives without them.
  virtual std::optional<EntropyNormStats> entropy_norm_stats(const torch::Tensor& entropy,
                                                             const torch::Tensor& mask) const {
    return std::nullopt;
  }
};

// An options struct declares the min-p proxy it needs by overloading proxy_min_p_of (found by
// argument-dependent lookup; lp_reg.h), and its entropy statistics by overloading entropy_norm_of
// (hapo.h).
template <class Options>
double proxy_min_p_of(const Options&) {
  return 0.0;
}
template <class Options>
std::optional<EntropyNormStats> entropy_norm_of(const Options&, const torch::Tensor&, const torch::Tensor&) {
  return std::nullopt;
}

using ObjectiveFactory = Factory<PolicyObjective>;

// An objective that is a pure function of its input and options.
template <class Options, ObjectiveOutput (*Fn)(const PolicyLossInput&, const Options&)>
class FunctionObjective final : public PolicyObjective {
 public:
  explicit FunctionObjective(Options opts) : opts_(std::move(opts)) {}
  ObjectiveOutput compute(const PolicyLossInput& in) const override { return Fn(in, opts_); }
  double proxy_min_p() const override { return proxy_min_p_of(opts_); }
  std::optional<EntropyNormStats> entropy_norm_stats(const torch::Tensor& entropy,
                                                     const torch::Tensor& mask) const override {
    return entropy_norm_of(opts_, entropy, mask);
  }
  const Options& options() const { return opts_; }

 private:
  Options opts_;
};

template <class Options, ObjectiveOutput (*Fn)(const PolicyLossInput&, const Options&)>
ObjectiveFactory function_objective() {
  return factory_of<PolicyObjective, FunctionObjective<Options, Fn>, Options>();
}

// An objective whose loss depends on statistics of the whole (global) batch: bapo's bounds,
// hapo's entropy normalisation, the covariance centring and thresholds of clip_cov / kl_cov,
// lp_reg's low-probability threshold. `Prepare` computes the statistics from a batch; `Fn` is the
// loss given them. prepare() fixes them once per optimizer step on the global batch, so that
// every micro-batch (and, later, every data-parallel rank) uses the same values and the summed
// gradient of any split equals the gradient of the whole batch. compute() without a preceding
// prepare() treats its own input as the global batch.
template <class Options, class Stats, Stats (*Prepare)(const PolicyLossInput&, const Options&),
          ObjectiveOutput (*Fn)(const PolicyLossInput&, const Options&, const Stats&)>
class PreparedObjective final : public PolicyObjective {
 public:
  explicit PreparedObjective(Options opts) : opts_(std::move(opts)) {}
  void prepare(const PolicyLossInput& global_batch) override { stats_ = Prepare(global_batch, opts_); }
  bool has_batch_statistics() const override { return true; }
  ObjectiveOutput compute(const PolicyLossInput& in) const override {
    if (stats_) return Fn(in, opts_, *stats_);
    return Fn(in, opts_, Prepare(in, opts_));
  }
  double proxy_min_p() const override { return proxy_min_p_of(opts_); }
  std::optional<EntropyNormStats> entropy_norm_stats(const torch::Tensor& entropy,
                                                     const torch::Tensor& mask) const override {
    return entropy_norm_of(opts_, entropy, mask);
  }
  const Options& options() const { return opts_; }
  const std::optional<Stats>& stats() const { return stats_; }

 private:
  Options opts_;
  std::optional<Stats> stats_;
};

template <class Options, class Stats, Stats (*Prepare)(const PolicyLossInput&, const Options&),
          ObjectiveOutput (*Fn)(const PolicyLossInput&, const Options&, const Stats&)>
ObjectiveFactory prepared_objective() {
  return factory_of<PolicyObjective, PreparedObjective<Options, Stats, Prepare, Fn>, Options>();
}

// Names as in docs/objectives.md: pg, pg_is, ppo_clip, dapo, cispo, sapo, gppo, gspo, dro, gmpo,
// bapo, hapo, clip_cov, kl_cov, lp_reg.
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

// Validates shapes: logp, advantages, and logp_old / mask / entropy / logp_proxy when given (or
// required), and `rows` when given.
void check_policy_input(const std::string& objective, const PolicyLossInput& in, bool needs_logp_old);

// Throws core::UserError unless logp is (B, L): for objectives defined on sequences.
void check_sequences(const std::string& objective, const PolicyLossInput& in);

// The rows of a (B_global, ...) tensor fixed in prepare() that belong to this input: index_select
// by `in.rows`, or the tensor itself when `in.rows` is {} (then B must match).
torch::Tensor rows_of_global(const std::string& objective, const torch::Tensor& global, const PolicyLossInput& in);

// A 0-dim constant in the dtype/device of `like` that never requires grad (clip bounds).
torch::Tensor constant_like(const torch::Tensor& like, double value);

}  // namespace rlpp::algo
