// Advantage estimators: rollout tensors -> per-step (per-token) advantages and returns.
//
// Every estimator is registered by name in advantage_registry() (names as in docs/objectives.md)
// and reads one AdvantageInput; a pure one is declared with its options in
// rlpp/algo/advantages/<name>.h (the group estimators' shared options: advantages/group.h).
// Control estimators (gae, mc) use the time-major rollout fields; group estimators for language
// models (grpo, rloo, ...) use the per-sequence fields. An estimator checks the fields it needs and
// names the missing one.
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

// Names as in docs/objectives.md: gae, mc, grpo, dr_grpo, rloo, opo, grpo_passk, hapo_tga,
// reinforce_pp, reinforce_pp_baseline, spo (stateful: rlpp/algo/spo.h).
core::Registry<AdvantageFactory>& advantage_registry();
std::vector<std::pair<std::string, std::string>> list_advantages();  // (name, summary)

}  // namespace rlpp::algo
