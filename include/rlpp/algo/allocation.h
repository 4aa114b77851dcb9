// Rollout allocation: how many responses each prompt of an RL step gets, chosen in a recipe with
// `[rollout_allocation] name = "…"` and the component's options in the same table:
//   uniform   G = sample.num_return_sequences responses for every prompt
//   knapsack  Knapsack RL (arXiv 2509.25849): per-prompt budgets from the prompts' success
//             estimates p̂_i by an exact knapsack DP (knapsack.h); needs a fixed prompt pool
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "rlpp/algo/component.h"

namespace rlpp::algo {

class RolloutAllocation {
 public:
  virtual ~RolloutAllocation() = default;
  // (P) responses per prompt, from (P) success estimates p̂_i ∈ [0, 1] and the group size G.
  virtual std::vector<int64_t> allocate(const std::vector<double>& success, int64_t group_size) const = 0;
  // Whether the estimates p̂_i matter (they exist only for a fixed prompt pool).
  virtual bool uses_success_estimates() const = 0;
};

using AllocationFactory = Factory<RolloutAllocation>;

// Names: uniform, knapsack.
core::Registry<AllocationFactory>& allocation_registry();
std::vector<std::pair<std::string, std::string>> list_allocations();  // (name, summary)

}  // namespace rlpp::algo
