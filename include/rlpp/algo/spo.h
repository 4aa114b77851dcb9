// SPO: Single-stream Policy Optimization (arXiv 2509.13232) — a persistent per-prompt success
// tracker used as the advantage baseline and for prioritised prompt sampling.
//
// Per prompt x a Beta(α, β) with α = β = 0.5 at first sight; p̂(x) = α/(α+β).
//   advantage   A_i = R_i − p̂(x_i)  (p̂ before this batch's update), then over the whole batch
//               Â_i = (A_i − mean_B A)/(std_B A + eps), std the population one (divisor B);
//   decay       ρ(x) = clip(2^(−D(x)/d_scale), rho_min, rho_max), D(x) the mean |log π_old − log π|
//               over the valid tokens of x's responses in the batch (the policy drift since x was
//               last sampled); without logp/logp_old, or with no valid token, D = 0, i.e. ρ = rho_max;
//   update      α ← ρ·α + Σ_i r_i,  β ← ρ·β + Σ_i (1 − r_i), the sums over x's n responses in the
//               batch, one decay per prompt per batch (a batch's responses are simultaneous
//               observations; for n = 1 this is the paper's single-stream update). The update does
//               not depend on the order of the responses;
//   sampling    w(x) = sqrt(p̂(1 − p̂)) + sample_floor: prompts the policy solves about half the time
//               are drawn most often; the floor keeps solved and hopeless prompts reachable.
// Rewards are meant to lie in [0, 1] (binary or fractional). The advantage uses R as given; the
// tracker update uses clip(R, 0, 1) so α and β stay positive counts. Non-finite rewards are refused.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlpp/algo/advantage.h"
#include "rlpp/core/config.h"

namespace rlpp::algo {

struct SpoOptions {
  double rho_min = 0.875;     // fastest forgetting (large drift)
  double rho_max = 0.96;      // slowest forgetting (no drift)
  double d_scale = 0.06;      // D at which the decay halves the counts (ρ = 2^(−D/d_scale))
  double init_alpha = 0.5;    // Beta prior of an unseen prompt (Jeffreys)
  double init_beta = 0.5;
  double sample_floor = 0.05; // added to sqrt(p̂(1 − p̂)) in the sampling weight
  double eps = 1e-6;          // added to the batch standard deviation

  void bind(core::Binder& b) {
    b.num("rho_min", rho_min, "lower bound of the per-prompt decay", core::Bounds{0.0, 1.0, true, false});
    b.num("rho_max", rho_max, "upper bound of the per-prompt decay", core::Bounds{0.0, 1.0, true, false});
    b.num("d_scale", d_scale, "policy drift D at which the decay is 1/2: rho = 2^(-D/d_scale)",
          core::Bounds::positive());
    b.num("init_alpha", init_alpha, "Beta prior alpha of an unseen prompt", core::Bounds::positive());
    b.num("init_beta", init_beta, "Beta prior beta of an unseen prompt", core::Bounds::positive());
    b.num("sample_floor", sample_floor, "added to sqrt(p(1-p)) in the prompt sampling weight",
          core::Bounds::non_negative());
    b.num("eps", eps, "added to the batch standard deviation of R - p", core::Bounds::positive());
  }
};

// One prompt's Beta counts.
struct SpoPromptState {
  double alpha = 0.5;
  double beta = 0.5;
};

// The per-prompt tracker. Everything is double precision on the CPU; ids are any int64 values
// (stable across training steps).
class SpoTracker {
 public:
  explicit SpoTracker(const SpoOptions& opts = {});

  const SpoOptions& options() const { return opts_; }
  // p̂ = α/(α+β) of one prompt; init_alpha/(init_alpha + init_beta) for an unseen one.
  double p_hat(int64_t prompt) const;
  // p̂ of each id (P) double.
  torch::Tensor p_hat(const torch::Tensor& prompt_ids) const;  // (P) int64
  // Counts of one prompt (the prior for an unseen one).
  SpoPromptState state(int64_t prompt) const;
  // Number of prompts seen so far.
  size_t size() const { return states_.size(); }

  // ρ = clip(2^(−D/d_scale), rho_min, rho_max).
  double decay(double drift) const;

  // α ← ρα + Σ clip(r, 0, 1), β ← ρβ + Σ (1 − clip(r, 0, 1)) for one prompt and its rewards.
  void update(int64_t prompt, const std::vector<double>& rewards, double rho);
  // The batch update: groups the responses by id, ρ from each prompt's drift (see the top).
  void update(const torch::Tensor& prompt_ids,  // (B) int64
              const torch::Tensor& rewards,     // (B) R_i
              const torch::Tensor& drift_sum,   // (B) Σ_t |log π_old − log π| over row i's valid tokens, {} = none
              const torch::Tensor& drift_count);  // (B) number of valid tokens of row i, {} = none

  // Sampling weights w = sqrt(p̂(1 − p̂)) + sample_floor of each candidate (P) double.
  torch::Tensor sampling_weights(const torch::Tensor& candidates) const;  // (P) int64
  // k ids drawn from `candidates` with probability ∝ w (torch::multinomial with `gen`), without
  // replacement unless `replacement`; (k) int64. k ≤ P without replacement.
  torch::Tensor sample_prompts(const torch::Tensor& candidates, int64_t k, torch::Generator gen,
                               bool replacement = false) const;
  // The same with a fresh CPU generator seeded with `seed`: same seed and state → same ids.
  std::vector<int64_t> sample_prompts(const std::vector<int64_t>& candidates, int64_t k, uint64_t seed,
                                      bool replacement = false) const;

  // State for checkpoints: {"format": "rlpp.spo_tracker", "version": 1, "prompts": [[id, α, β], ...]}.
  // Doubles survive a JSON dump/parse round trip bit for bit.
  nlohmann::json save() const;
  // Replaces the state; a malformed document is a UserError naming the field.
  void load(const nlohmann::json& state);

 private:
  SpoOptions opts_;
  std::map<int64_t, SpoPromptState> states_;
};

// Â_i before any update, for the batch's prompts (B) double (see the top of this file).
torch::Tensor spo_batch_advantages(const SpoTracker& tracker,
                                   const torch::Tensor& prompt_ids,  // (B) int64
                                   const torch::Tensor& rewards);    // (B)

// The registered estimator `spo`: compute() returns Â broadcast over the valid response tokens
// (B, L) (returns = advantages, as the other group estimators) and then updates the tracker with
// this batch. Reads seq_rewards (B), group_ids (B, the prompt ids), mask (B, L), and logp/logp_old
// (B, L) when both are given.
class SpoAdvantage final : public AdvantageEstimator {
 public:
  explicit SpoAdvantage(const SpoOptions& opts) : tracker_(opts) {}
  AdvantageOutput compute(const AdvantageInput& in) override;
  SpoTracker* prompt_tracker() override { return &tracker_; }
  SpoTracker& tracker() { return tracker_; }
  const SpoTracker& tracker() const { return tracker_; }

 private:
  SpoTracker tracker_;
};

}  // namespace rlpp::algo
