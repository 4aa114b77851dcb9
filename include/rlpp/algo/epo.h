// EPO: entropy-regularised policy optimisation for multi-turn agents (arXiv 2509.22576).
//
// Two terms added to the per-token policy loss ℓ before aggregation, for a token at turn step k
// (the index of the agent turn the token belongs to) with entropy H_t:
//   bonus    −c·H_t                                        (entropy regularisation over all turns)
//   penalty  λ·β(p)·1[μ_k known]·( relu(H_t − κ_r·μ_k) + relu(κ_l·μ_k − H_t) )   (entropy smoothing)
// μ_k is the historical mean entropy of turn step k: the running mean, over past training steps, of
// each step's batch mean entropy of turn k (EpoEntropyTracker; cumulative, as the authors' code and
// rebuttal describe). The penalty is the paper's hinge [κ_l·H̄ − H]₊ + [H − κ_r·H̄]₊ on the current,
// differentiable H_t: zero with zero gradient inside the corridor [κ_l·μ_k, κ_r·μ_k], slope ±λβ
// outside (the public code's penalty is a constant with no gradient). It is token-wise against the
// token's own turn band (the authors' per-turn reference), so rows stay independent and splitting a
// batch into micro-batches changes nothing. A turn step never seen before has no μ_k and no penalty.
// Use the history from before this batch, then update the tracker with this batch.
//
// Corridor: κ_l = 0.5, κ_r = 1.5 by default, the two-sided band the paper describes (its launcher's
// defaults); the paper's reported runs used κ_l = 0, κ_r = 2 (its authors' rebuttal), i.e. an upper
// cap only.
//
// Phase weighting β(p), p = training progress in [0, 1] (`phase_schedule`):
//   "decay"    (default) the authors' scheduled decay of the smoothing weight:
//              β = 1 − 0.2·(1 − e^{−4p}) for p ≤ ½, β = 0.8·e^{−3(2p − 1)} for p > ½;
//   "ramp"     β = min(1, p/phase_ramp) (1 when phase_ramp = 0): the penalty phased in;
//   "constant" β = 1.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlpp/core/config.h"

namespace rlpp::algo {

struct EpoOptions {
  double entropy_coef = 0.01;             // c of the bonus
  double penalty_coef = 1.0;              // λ of the smoothing penalty
  double kappa_low = 0.5;                 // κ_l: lower edge of the corridor, as a multiple of μ_k
  double kappa_high = 1.5;                // κ_r: upper edge of the corridor
  double phase_ramp = 0.1;                // "ramp": fraction of training over which β rises to 1 (0: β = 1)
  std::string phase_schedule = "decay";   // β(p): decay (the authors'), ramp, constant

  void bind(core::Binder& b) {
    b.num("entropy_coef", entropy_coef, "entropy bonus coefficient c", core::Bounds::non_negative());
    b.num("penalty_coef", penalty_coef, "smoothing penalty coefficient lambda", core::Bounds::non_negative());
    b.num("kappa_low", kappa_low, "lower band edge as a multiple of the historical turn-step entropy",
          core::Bounds::non_negative());
    b.num("kappa_high", kappa_high, "upper band edge as a multiple of the historical turn-step entropy",
          core::Bounds::non_negative());
    b.num("phase_ramp", phase_ramp, "phase_schedule = ramp: fraction of training over which the penalty weight rises to 1",
          core::Bounds::unit());
    b.choice("phase_schedule", phase_schedule, {"decay", "ramp", "constant"},
             "penalty weight over training: the authors' decay from 1 to ~0.04, a ramp up, or 1");
  }
};

// Historical mean entropy per turn step: μ_k = (Σ_s H̄_{k,s}) / n_k over the training steps s whose
// batch had a valid token at turn k (each step counts once, whatever its token count).
class EpoEntropyTracker {
 public:
  // Adds one training step's per-turn batch means H̄_k = Σ_{valid, turn = k} H / N_k (detached);
  // turns without a valid token are not updated. Returns H̄ (K) double for K = max turn + 1
  // (NaN where a turn had no token).
  torch::Tensor update(const torch::Tensor& entropy,  // (B, L)
                       const torch::Tensor& turn,     // (B, L) int64 turn step, >= 0 at valid tokens
                       const torch::Tensor& mask);    // (B, L) 0/1, {} = all valid
  // Adds one observation of turn k's step mean.
  void observe(int64_t turn, double step_mean);
  bool known(int64_t turn) const { return sums_.count(turn) > 0; }
  double mean(int64_t turn) const;          // μ_k; a UserError for an unknown turn
  int64_t count(int64_t turn) const;        // n_k (0 for an unknown turn)
  // μ (K) double and known (K) bool for turns 0..K−1.
  torch::Tensor means(int64_t num_turns) const;
  torch::Tensor known_mask(int64_t num_turns) const;

  // {"format": "rlpp.epo_tracker", "version": 1, "turns": [[k, Σ, n], ...]}; exact round trip.
  nlohmann::json save() const;
  void load(const nlohmann::json& state);  // UserError naming the bad field; state unchanged then

 private:
  std::map<int64_t, double> sums_;
  std::map<int64_t, int64_t> counts_;
};

// β(p) of the configured phase_schedule; p must lie in [0, 1].
double epo_phase_weight(double progress, const EpoOptions& opts);

struct EpoLoss {
  torch::Tensor token_loss;  // (B, L) bonus + penalty, 0 at masked positions; add to ℓ before aggregation
  // 0-dim, detached: mean over valid tokens of the bonus term, of the penalty term, the fraction of
  // valid tokens (with a known μ) outside the band, and β.
  std::map<std::string, torch::Tensor> metrics;  // "epo/bonus", "epo/penalty", "epo/out_of_band", "epo/phase"
};

EpoLoss epo_token_loss(const torch::Tensor& entropy,  // (B, L) H, differentiable
                       const torch::Tensor& turn,     // (B, L) int64 turn step of each token
                       const torch::Tensor& mask,     // (B, L) 0/1, {} = all valid
                       const EpoEntropyTracker& history, const EpoOptions& opts, double progress);

}  // namespace rlpp::algo
