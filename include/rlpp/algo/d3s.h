// D³S, dynamic dual-level down-sampling (arXiv 2509.22115; only the abstract is public). The
// abstract: at the sample level, keep the subset of each group's rollouts that maximises the
// variance of the advantages; at the token level, keep the tokens with the largest |A|·H; start
// aggressive and relax the down-sampling over training. Every rule below that the abstract leaves
// open is a choice of ours, listed in docs/objectives.md.
//
// Sample level, exact rule. A group of G values v (the row advantages, or the rewards) keeps
//   k = min(G, max(2, ⌈f·G⌉))   rollouts (all of them when G ≤ 2),
// the subset S, |S| = k, maximising the population variance Var(S) = (1/k)Σ_S (v − mean_S)².
// Lemma: some maximiser is, in sorted order, the j smallest and the k − j largest values for some j
// in [0, k]. Proof: let S be optimal with mean μ, x ∈ S and y ∉ S with y < x ≤ μ (the case
// μ ≤ x < y is symmetric). Swapping x for y changes Var by
//   [(y − μ)² − (x − μ)²]/k − (x − y)²/k² ≥ (x − y)²/k − (x − y)²/k² > 0   (k ≥ 2),
// because (y − μ)² − (x − μ)² = (x − y)(2(μ − x) + (x − y)) ≥ (x − y)². So no selected value lies
// strictly between two unselected ones, and S is a bottom block plus a top block. The search is the
// k + 1 candidates j = 0..k, O(G log G) per group; ties go to the smallest j. Binary rewards, m
// ones and G − m zeros: a subset with a ones has Var = a(k − a)/k², maximised by the a closest to
// k/2 in [max(0, k − (G − m)), min(k, m)]: the most balanced split the group allows.
//
// Token level: keep exactly n = ⌈ρ·N_valid⌉ valid tokens of the whole batch with the largest
// |A_t|·H_t (ties broken by position, row-major), ρ the kept fraction.
//
// Schedule: the kept fraction goes from `keep_fraction` (aggressive) to `final_fraction` (1 = keep
// everything) over `schedule_steps` steps,
//   f(s) = f0 + (f1 − f0)·u(min(s/S, 1)),  u(t) = t (linear) or (1 − cos πt)/2 (cosine),
// and stays at f0 with schedule = "constant".
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "rlpp/algo/selector.h"
#include "rlpp/core/config.h"

namespace rlpp::algo {

struct D3sScheduleOptions {
  double keep_fraction = 0.5;    // f0: kept fraction at step 0
  double final_fraction = 1.0;   // f1: kept fraction after schedule_steps
  std::string schedule = "linear";  // constant | linear | cosine
  int64_t schedule_steps = 200;  // S

  void bind(core::Binder& b) {
    b.num("keep_fraction", keep_fraction, "kept fraction at step 0", core::Bounds{0.0, 1.0, true, false});
    b.num("final_fraction", final_fraction, "kept fraction after schedule_steps", core::Bounds{0.0, 1.0, true, false});
    b.choice("schedule", schedule, {"constant", "linear", "cosine"}, "how the kept fraction relaxes");
    b.integer("schedule_steps", schedule_steps, "steps from keep_fraction to final_fraction", core::Bounds::at_least(1));
  }
};

// f(step) as above.
double d3s_keep_fraction(int64_t step, const D3sScheduleOptions& opts);

// ---- sample level ------------------------------------------------------------------------------

// Rows of the maximum-variance k-subset of every group (B) bool; groups are ids of group_ids.
torch::Tensor d3s_sample_keep(const torch::Tensor& values,     // (B) per-rollout score v_i
                              const torch::Tensor& group_ids,  // (B) int64
                              double keep_fraction);           // f in (0, 1]

struct D3sSampleOptions {
  D3sScheduleOptions schedule;
  std::string score = "advantage";  // advantage: per-row mean of A over valid tokens; reward: R_i

  void bind(core::Binder& b) {
    schedule.bind(b);
    b.choice("score", score, {"advantage", "reward"}, "value whose within-group variance is maximised");
  }
};
// Metrics d3s_sample/keep_fraction (scheduled f), d3s_sample/kept_rows_frac.
SelectionOutput d3s_sample_select(const SelectionInput& in, const D3sSampleOptions& opts);

// ---- token level -------------------------------------------------------------------------------

// 1 for the ⌈ρ·N_valid⌉ valid tokens with the largest |A|·H, else 0 (B, L) float.
torch::Tensor d3s_token_mask(const torch::Tensor& advantages,  // (B, L)
                             const torch::Tensor& entropy,     // (B, L)
                             const torch::Tensor& mask,        // (B, L) 0/1, {} = all valid
                             double keep_fraction);            // ρ in (0, 1]

struct D3sTokenOptions {
  D3sScheduleOptions schedule;

  void bind(core::Binder& b) { schedule.bind(b); }
};
// Metrics d3s_token/keep_fraction, d3s_token/kept_tokens_frac.
SelectionOutput d3s_token_select(const SelectionInput& in, const D3sTokenOptions& opts);

}  // namespace rlpp::algo
