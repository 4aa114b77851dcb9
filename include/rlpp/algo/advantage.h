// Advantage estimators: rollout tensors -> per-step (per-token) advantages and returns.
//
// Every estimator is registered by name in advantage_registry() (names as in docs/OBJECTIVES.md)
// and reads one AdvantageInput. Control estimators (gae, mc) use the time-major rollout fields;
// group estimators for language models (grpo, rloo, ...) use the per-sequence fields. An estimator
// checks the fields it needs and names the missing one.
//
// Control convention (same-step auto-reset, as the vectorised environments do it): at step t the
// environment returned r_t, terminated_t and truncated_t; done_t = terminated_t ∨ truncated_t. If
// not done_t, the next state's value is values[t+1] (next_value at t = T−1); if done_t the next row
// belongs to a new episode and is never bootstrapped from. With bootstrap_truncated, a step that
// was truncated but not terminated adds γ·V(final_obs) = γ·final_values[t] (SB3; CleanRL does not).
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rlpp/algo/component.h"
#include "rlpp/core/config.h"

namespace rlpp::algo {

struct AdvantageInput {
  // Control rollouts, time-major.
  torch::Tensor rewards;       // (T, N) r_t
  torch::Tensor values;        // (T, N) V(s_t) at rollout time
  torch::Tensor terminated;    // (T, N) bool or 0/1: the episode ended in a terminal state
  torch::Tensor truncated;     // (T, N) bool or 0/1: the episode was cut (time limit)
  torch::Tensor next_value;    // (N) V of the observation after the last step
  torch::Tensor final_values;  // (T, N) V(final_obs) where truncated; read only with bootstrap_truncated

  // Language batches: one scalar reward per response, G responses per prompt.
  torch::Tensor seq_rewards;    // (B) R_i
  torch::Tensor group_ids;      // (B) int64 prompt id; stable across steps for stateful estimators (spo)
  torch::Tensor lengths;        // (B) |o_i| response lengths
  torch::Tensor mask;           // (B, L) response mask, 0/1; sequence advantages are broadcast over it
  torch::Tensor token_rewards;  // (B, L) optional per-token rewards (KL-in-reward, reinforce_pp)
  torch::Tensor logp;           // (B, L) optional current log π (spo's per-prompt drift D)
  torch::Tensor logp_old;       // (B, L) optional log π_old
};

struct AdvantageOutput {
  torch::Tensor advantages;  // (T, N) or (B, L); float32 like the inputs
  torch::Tensor returns;     // same shape: critic targets (advantages + values); {} without a critic
};

// The control estimators read only the rollout fields; these names say so at call sites.
using GaeInput = AdvantageInput;
using GaeOutput = AdvantageOutput;

// ---- estimators ------------------------------------------------------------------------------

// Generalized advantage estimation (Schulman et al. 2015, arXiv 1506.02438):
//   δ_t = r_t + γ·V_next·(1 − done_t) + γ·final_values[t]·1[bootstrap ∧ truncated_t ∧ ¬terminated_t] − V(s_t)
//   A_t = δ_t + γλ·(1 − done_t)·A_{t+1},   returns = A + values.
// Computed in double on the CPU (the time recursion is sequential), returned in the input dtype.
struct GaeOptions {
  double gamma = 0.99;
  double lambda = 0.95;
  bool bootstrap_truncated = false;

  void bind(core::Binder& b) {
    b.num("gamma", gamma, "discount factor", core::Bounds::unit());
    b.num("lambda", lambda, "GAE lambda (1 = Monte-Carlo, 0 = TD(0))", core::Bounds::unit());
    b.flag("bootstrap_truncated", bootstrap_truncated, "add gamma * V(final_obs) on truncated steps (SB3)");
  }
};
AdvantageOutput gae(const AdvantageInput& in, const GaeOptions& opts);

// Discounted return-to-go with the same done handling:
//   G_t = r_t + γ·final_values[t]·1[bootstrap ∧ truncated_t ∧ ¬terminated_t] + γ·(1 − done_t)·G_{t+1},
//   G_T = next_value when given (a rollout cut mid-episode), else 0.
// returns = G; advantages = G − values when values are given (= gae with λ = 1), else G.
struct McOptions {
  double gamma = 0.99;
  bool bootstrap_truncated = false;

  void bind(core::Binder& b) {
    b.num("gamma", gamma, "discount factor", core::Bounds::unit());
    b.flag("bootstrap_truncated", bootstrap_truncated, "add gamma * V(final_obs) on truncated steps (SB3)");
  }
};
AdvantageOutput mc(const AdvantageInput& in, const McOptions& opts);

// ---- group estimators (language batches) ------------------------------------------------------
//
// Read seq_rewards (B), group_ids (B, any integer ids; a group is every response with the same id)
// and mask (B, L); lengths (B) only where named, and then defaulting to the mask's row sums.
// Computed per group with index_add/scatter over the group ids (no loops over groups or tokens),
// in double on the input's device. Output: the per-sequence advantage A_i broadcast over the
// response tokens, advantages[i, t] = A_i·1[mask[i, t] > 0.5] (B, L) in the dtype of seq_rewards;
// returns = advantages (there is no critic; the same tensor, as verl reports it).

// eps for the estimators that divide by a group standard deviation.
struct GroupNormOptions {
  double eps = 1e-6;

  void bind(core::Binder& b) {
    b.num("eps", eps, "added to the group standard deviation", core::Bounds::positive());
  }
};
// For estimators without options (dr_grpo, rloo, opo).
struct GroupBaselineOptions {
  void bind(core::Binder&) {}
};

// GRPO (DeepSeekMath, arXiv 2402.03300): A_i = (R_i − mean_g R)/(std_g R + eps), std unbiased
// (divisor G − 1); a group of one gets A = 0.
AdvantageOutput grpo(const AdvantageInput& in, const GroupNormOptions& opts);
// Dr. GRPO (arXiv 2503.20783): A_i = R_i − mean_g R (no std division).
AdvantageOutput dr_grpo(const AdvantageInput& in, const GroupBaselineOptions& opts);
// RLOO (arXiv 2402.14740): A_i = R_i − mean_{j≠i} R_j = G/(G−1)·(R_i − mean_g R); a group of one → 0.
AdvantageOutput rloo(const AdvantageInput& in, const GroupBaselineOptions& opts);
// OPO (arXiv 2505.23585): length-weighted baseline b_g = Σ_j |o_j| R_j / Σ_j |o_j|, A_i = R_i − b_g.
// Uses lengths. A group whose lengths are all 0 gets b_g = 0 (its tokens are all masked anyway).
AdvantageOutput opo(const AdvantageInput& in, const GroupBaselineOptions& opts);
// Pass@k-style (arXiv 2503.19595): only the best response of a group is credited,
// A = (r_max − r_2nd)/(std_g R + eps) (std unbiased), every other response 0. Ties for the best
// give r_max − r_2nd = 0, so the whole group is 0; a group of one → 0.
AdvantageOutput grpo_passk(const AdvantageInput& in, const GroupNormOptions& opts);
// HAPO token-level group average (arXiv 2509.16591), with w_i = |o_i| (lengths):
//   μ_g = Σ w_i R_i / Σ w_i,  σ_g = sqrt(Σ w_i (R_i − μ_g)² / Σ w_i),  A_i = (R_i − μ_g)/(σ_g + eps);
// a group where any |A_i| ≥ fallback_threshold uses grpo's A_i instead (a long outlier response can
// make σ_g tiny). A group with Σ w_i = 0 also uses grpo.
struct HapoTgaOptions {
  double eps = 1e-6;
  double fallback_threshold = 5.0;

  void bind(core::Binder& b) {
    b.num("eps", eps, "added to the group standard deviations", core::Bounds::positive());
    b.num("fallback_threshold", fallback_threshold, "fall back to grpo for a group with any |A| >= this",
          core::Bounds::positive());
  }
};
AdvantageOutput hapo_tga(const AdvantageInput& in, const HapoTgaOptions& opts);

// REINFORCE++ (arXiv 2501.03262). Token rewards r_{i,t} = token_rewards[i, t] (optional, e.g. a KL
// penalty folded in; 0 when absent) plus R_i on the last valid token of response i; discounted
// return G_{i,t} = Σ_{k≥t} γ^{k−t} r_{i,k} (the sequential scan shared with mc); advantages =
// (G − mean)/(std + eps) with mean and population std over every valid token of the batch, 0 on
// masked tokens. returns = G (0 on masked tokens). reinforce_pp_baseline first replaces R_i by
// R_i − mean_g R (needs group_ids), then proceeds the same way.
struct ReinforcePpOptions {
  double gamma = 1.0;
  double eps = 1e-8;

  void bind(core::Binder& b) {
    b.num("gamma", gamma, "discount factor over response tokens", core::Bounds::unit());
    b.num("eps", eps, "added to the batch standard deviation", core::Bounds::positive());
  }
};
AdvantageOutput reinforce_pp(const AdvantageInput& in, const ReinforcePpOptions& opts);
AdvantageOutput reinforce_pp_baseline(const AdvantageInput& in, const ReinforcePpOptions& opts);

// ---- registry ---------------------------------------------------------------------------------

class SpoTracker;

class AdvantageEstimator {
 public:
  virtual ~AdvantageEstimator() = default;
  // Not const: some estimators keep state across steps (spo's per-prompt Beta trackers).
  virtual AdvantageOutput compute(const AdvantageInput& in) = 0;
  // The per-prompt success estimates an estimator keeps across steps (spo), which a trainer
  // checkpoints and prioritized prompt sampling draws from; nullptr for stateless estimators.
  virtual SpoTracker* prompt_tracker() { return nullptr; }
};

using AdvantageFactory = Factory<AdvantageEstimator>;

// An estimator that is a pure function of its input and options.
template <class Options, AdvantageOutput (*Fn)(const AdvantageInput&, const Options&)>
class FunctionAdvantage final : public AdvantageEstimator {
 public:
  explicit FunctionAdvantage(Options opts) : opts_(std::move(opts)) {}
  AdvantageOutput compute(const AdvantageInput& in) override { return Fn(in, opts_); }
  const Options& options() const { return opts_; }

 private:
  Options opts_;
};

template <class Options, AdvantageOutput (*Fn)(const AdvantageInput&, const Options&)>
AdvantageFactory function_advantage() {
  return factory_of<AdvantageEstimator, FunctionAdvantage<Options, Fn>, Options>();
}

// Names as in docs/OBJECTIVES.md: gae, mc, grpo, dr_grpo, rloo, opo, grpo_passk, hapo_tga,
// reinforce_pp, reinforce_pp_baseline, spo (stateful: rlpp/algo/spo.h).
core::Registry<AdvantageFactory>& advantage_registry();
std::vector<std::pair<std::string, std::string>> list_advantages();  // (name, summary)

}  // namespace rlpp::algo
