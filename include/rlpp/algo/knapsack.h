// Knapsack rollout budget allocation (Knapsack RL, arXiv 2509.25849): prompt i with estimated
// success rate p_i gets N_i ∈ [n_min, n_max] rollouts, chosen to
//   maximise Σ_i value(N_i, p_i)   subject to Σ_i N_i ≤ budget,
//   value(N, p) = P(non-zero gradient)·InfoGain = (1 − p^N − (1 − p)^N)·p(1 − p)².
// P is the probability that N binary rollouts are not all equal (a group with equal rewards gives
// no gradient); InfoGain ≈ p(1 − p)² is the paper's approximation of the gain of one update.
//
// Solved exactly by dynamic programming over integers (a multiple-choice knapsack): best[i][b] is
// the largest value of prompts 0..i−1 with Σ N = b, O(P·budget·(n_max − n_min + 1)) time. Ties are
// resolved toward fewer rollouts (so prompts with p ∈ {0, 1}, whose value is 0, get n_min, and
// budget that buys nothing stays unspent).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "rlpp/algo/selector.h"
#include "rlpp/core/config.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {

// value(N, p) in double.
double knapsack_value(int64_t n, double p);

struct KnapsackOptions {
  int64_t n_min = 2;               // fewest rollouts per prompt
  int64_t n_max = 64;              // most rollouts per prompt
  int64_t budget_per_prompt = 8;   // budget = budget_per_prompt · #prompts (the uniform allocation's cost)

  void bind(core::Binder& b) {
    b.integer("n_min", n_min, "fewest rollouts per prompt", core::Bounds::at_least(1));
    b.integer("n_max", n_max, "most rollouts per prompt", core::Bounds::at_least(1));
    b.integer("budget_per_prompt", budget_per_prompt, "total budget = budget_per_prompt * prompts",
              core::Bounds::at_least(1));
    if (b.mode() == core::Binder::Mode::kRead) {
      core::require(n_min <= n_max, "knapsack: n_min (" + std::to_string(n_min) + ") must be <= n_max (" +
                                        std::to_string(n_max) + ")");
    }
  }
};

// N_i for every prompt (size P). UserError when n_min > n_max, a p_i is outside [0, 1], or
// n_min·P > budget.
std::vector<int64_t> knapsack_allocate(const std::vector<double>& success_rates,  // (P) p_i
                                       int64_t budget, int64_t n_min, int64_t n_max);

// Selector form: p_g = mean reward of group g (rewards clamped to [0, 1]); budget =
// budget_per_prompt·K. Keeps every row; metrics knapsack/group_ids (K), knapsack/allocation (K)
// int64, knapsack/value, knapsack/budget_used.
SelectionOutput knapsack_select(const SelectionInput& in, const KnapsackOptions& opts);

}  // namespace rlpp::algo
