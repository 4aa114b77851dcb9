// CAPO token filter (Curvature-Aware Policy Optimization, arXiv 2510.00819, ICLR 2026): a
// second-order model of each token's own update, restricted to the last layer, rejects the tokens
// whose update would leave a local trust region.
//
// Last-layer model. The logits are z_t = W·h_t (W: V × d, the LM head; h_t: the final hidden state).
// The token's policy-gradient term A_t·log π(a_t | z_t) has the W-gradient g_t = A_t·v_t h_tᵀ with
// v_t = e_{a_t} − π_t (π_t the softmax of z_t). A gradient step of size η on that token alone,
// Δψ = η·g_t, changes the logits by Δz_t = Δψ·h_t = s_t·A_t·v_t with s_t = η·‖h_t‖². Two
// quadratic models of the step are then evaluated (the paper's m_H and m_F):
//   objective shift  m_H = gᵀΔψ + ½ΔψᵀHΔψ
//                        = s·A²·‖v‖² + ½·s²·A³·(‖v‖⁴ − vᵀF v)
//   policy shift     m_F = ½ΔψᵀF̃Δψ = ½·(vᵀΔz)² = ½·s²·A²·‖v‖⁴
// where F = diag(π) − ππᵀ is the softmax curvature of log π (the Hessian of A·log π in z is −A·F) and
// the (vᵀΔz)² terms come from the score-function part of the policy-gradient Hessian (Δ log π(a) ≈
// vᵀΔz). m_H is A·(r − 1) to second order and m_F is ½(Δ log π(a))²: a predicted objective change and
// a predicted per-token KL. Every quantity needs only the sampled token's probability and two power
// sums of π_t:
//   ‖v‖² = 1 − 2π_a + S₂,  πᵀv = π_a − S₂,  Σ_j π_j v_j² = π_a(1 − π_a)² + S₃ − π_a³,
//   vᵀF v = Σ_j π_j v_j² − (πᵀv)²,          S_k = Σ_j π_j^k.
//
// Rule (the paper's token-level filter): keep a valid token iff m_F < δ_F and −δ_H < m_H < δ_H
// (symmetric, the CAPO recipe) or 0 ≤ m_H < δ_H (hessian_symmetric = false). Rejected tokens leave
// the mask; the policy gradient is then computed on the kept tokens.
//
// Where rlpp differs from the paper (docs/objectives.md): the optimizer model is SGD (the paper's CAPO
// recipe models Adam's preconditioned step, which needs per-vocabulary-row moments of the LM head);
// the distribution is the full softmax of the given logits (the paper restricts it to the sampler's
// top-k, which a caller gets by passing top-k-filtered logits); the selector, which has no logits,
// bounds S₂/S₃ from the entropy (capo_stats_from_entropy) and uses ‖h‖² = 1, so step_size is then
// the logit-space step s; max_reject_frac is an optional cap (off by default).
#pragma once
#include <torch/torch.h>

#include <cstdint>

#include "rlpp/algo/selector.h"
#include "rlpp/core/config.h"

namespace rlpp::algo {

struct CapoOptions {
  double step_size = 0.1;           // η of the modelled SGD step on the LM head
  double budget = 0.01;             // δ_F: keep tokens with predicted KL m_F < δ_F
  double max_reject_frac = 1.0;     // optional cap on the rejected fraction of valid tokens (1 = none)
  double hessian_threshold = 0.15;  // δ_H: keep tokens with |m_H| < δ_H (0 <= m_H < δ_H if not symmetric)
  bool hessian_symmetric = true;    // the CAPO recipe's two-sided bound on m_H

  void bind(core::Binder& b) {
    b.num("step_size", step_size, "eta: SGD step on the LM head (times |h|^2: the logit step)",
          core::Bounds::non_negative());
    b.num("budget", budget, "delta_F: reject tokens whose predicted KL 1/2 (d log pi(a))^2 reaches it",
          core::Bounds::non_negative());
    b.num("max_reject_frac", max_reject_frac, "cap on the fraction of valid tokens rejected (1 = no cap)",
          core::Bounds::unit());
    b.num("hessian_threshold", hessian_threshold,
          "delta_H: reject tokens whose predicted objective shift m_H is outside (-delta_H, delta_H)",
          core::Bounds::non_negative());
    b.flag("hessian_symmetric", hessian_symmetric, "two-sided bound on m_H; false: 0 <= m_H < delta_H");
  }
};

// Per-token statistics of the current next-token distributions, all (B, L) double.
struct CapoTokenStats {
  torch::Tensor p_action;  // π(a_t): probability of the sampled token
  torch::Tensor sum_p2;    // S₂ = Σ_j π_j²
  torch::Tensor sum_p3;    // S₃ = Σ_j π_j³
};

// From logits (B, L, V) (any float dtype; −inf entries are tokens outside the support) and the
// sampled token ids (B, L) int64. Computed row by row in double; no gradient.
CapoTokenStats capo_token_stats(const torch::Tensor& logits, const torch::Tensor& actions);

// Lower bounds of S₂ and S₃ when only π(a) and the entropy H of π are known (no logits):
// S₂ ≥ max(π_a², e^{−H}) (the collision entropy −log S₂ is at most H) and S₃ ≥ max(π_a³, S₂²)
// (Cauchy–Schwarz: S₂² ≤ S₁·S₃); both (B, L) double. Exact for a uniform distribution over its
// support; they underestimate ‖v‖², so the filter built on them rejects fewer tokens.
CapoTokenStats capo_stats_from_entropy(const torch::Tensor& p_action, const torch::Tensor& entropy);

struct CapoInput {
  torch::Tensor advantages;      // (B, L) A_t
  torch::Tensor mask;            // (B, L) 0/1, {} = all valid
  torch::Tensor p_action;        // (B, L) π(a_t) under the policy being updated, in [0, 1]
  torch::Tensor sum_p2;          // (B, L) S₂; {} = π_a² (both S₂ and S₃ or neither)
  torch::Tensor sum_p3;          // (B, L) S₃; {} = π_a³
  torch::Tensor hidden_sq_norm;  // (B, L) ‖h_t‖² of the LM head's input; {} = 1
};

// The two second-order shifts, (B, L) double, 0 at masked positions.
struct CapoShifts {
  torch::Tensor objective;  // m_H
  torch::Tensor policy;     // m_F
};

CapoShifts capo_shifts(const CapoInput& in, double step_size);

struct CapoResult {
  torch::Tensor keep;               // (B, L) float 0/1: valid and not rejected
  int64_t rejected = 0;             // rejected valid tokens
  int64_t rejected_policy = 0;      // of which m_F >= δ_F
  int64_t rejected_objective = 0;   // of which m_H outside its bound
  double predicted_kl_before = 0;   // Σ_valid m_F / N_valid
  double predicted_kl_after = 0;    // Σ_kept m_F / N_valid
  double objective_shift_mean = 0;  // Σ_valid m_H / N_valid
};

// The filter. With max_reject_frac < 1 and more violators than ⌊max_reject_frac·N_valid⌋, only that
// many are rejected: those with the largest max(m_F/δ_F, |m_H|/δ_H) (ties by position).
CapoResult capo_mask(const CapoInput& in, const CapoOptions& opts);

// The registered selector: p_action = exp(logp) (exp(logp_old) without logp), S₂/S₃ from the
// entropy by capo_stats_from_entropy (π_a², π_a³ without entropy), ‖h‖² = 1. Metrics capo/reject_frac, capo/reject_frac_policy, capo/reject_frac_objective,
// capo/predicted_kl_before, capo/predicted_kl_after, capo/objective_shift_mean.
SelectionOutput capo_select(const SelectionInput& in, const CapoOptions& opts);

}  // namespace rlpp::algo
