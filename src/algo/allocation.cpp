#include "rlpp/algo/allocation.h"

#include "rlpp/algo/knapsack.h"

namespace rlpp::algo {

namespace {

struct UniformOptions {
  void bind(core::Binder&) {}
};

class UniformAllocation final : public RolloutAllocation {
 public:
  explicit UniformAllocation(const UniformOptions&) {}
  std::vector<int64_t> allocate(const std::vector<double>& success, int64_t group_size) const override {
    return std::vector<int64_t>(success.size(), group_size);
  }
  bool uses_success_estimates() const override { return false; }
};

class KnapsackAllocation final : public RolloutAllocation {
 public:
  explicit KnapsackAllocation(const KnapsackOptions& opts) : opts_(opts) {}
  std::vector<int64_t> allocate(const std::vector<double>& success, int64_t) const override {
    return knapsack_allocate(success, opts_.budget_per_prompt * static_cast<int64_t>(success.size()), opts_.n_min,
                             opts_.n_max);
  }
  bool uses_success_estimates() const override { return true; }

 private:
  KnapsackOptions opts_;
};

}  // namespace

core::Registry<AllocationFactory>& allocation_registry() {
  static core::Registry<AllocationFactory> registry = [] {
    core::Registry<AllocationFactory> r("rollout allocation");
    r.add("uniform", factory_of<RolloutAllocation, UniformAllocation, UniformOptions>(),
          "G = sample.num_return_sequences responses per prompt");
    r.add("knapsack", factory_of<RolloutAllocation, KnapsackAllocation, KnapsackOptions>(),
          "per-prompt rollout budgets by exact knapsack DP on success estimates (Knapsack RL, arXiv 2509.25849)");
    return r;
  }();
  return registry;
}

std::vector<std::pair<std::string, std::string>> list_allocations() { return listing(allocation_registry()); }

}  // namespace rlpp::algo
