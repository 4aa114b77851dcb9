// Knapsack rollout allocation against brute-force enumeration of every allocation, hand values of
// the value function, and the edge cases (p ∈ {0, 1}, infeasible budgets).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <numeric>
#include <random>
#include <vector>

#include "rlpp/algo/allocation.h"
#include "rlpp/algo/knapsack.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

double value_ref(int n, double p) {
  double pn = 1, qn = 1;
  for (int i = 0; i < n; ++i) pn *= p, qn *= 1 - p;
  return (1 - pn - qn) * p * (1 - p) * (1 - p);
}

double total_value(const std::vector<int64_t>& a, const std::vector<double>& p) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += value_ref(static_cast<int>(a[i]), p[i]);
  return s;
}

// Best Σ value over every allocation with N_i in [lo, hi] and Σ N_i ≤ budget.
double brute_best(const std::vector<double>& p, int64_t budget, int lo, int hi) {
  double best = -1;
  std::vector<int64_t> a(p.size(), lo);
  std::function<void(size_t, int64_t)> rec = [&](size_t i, int64_t used) {
    if (i == p.size()) {
      best = std::max(best, total_value(a, p));
      return;
    }
    for (int n = lo; n <= hi && used + n <= budget; ++n) {
      a[i] = n;
      rec(i + 1, used + n);
    }
  };
  rec(0, 0);
  return best;
}

TEST(Knapsack, ValueHandCases) {
  EXPECT_NEAR(knapsack_value(2, 0.5), 0.5 * 0.125, 1e-15);  // P = 1 − ¼ − ¼, InfoGain = ½·¼
  EXPECT_NEAR(knapsack_value(1, 0.3), 0.0, 1e-15);          // one rollout never has a spread
  EXPECT_NEAR(knapsack_value(3, 0.2), (1 - 0.008 - 0.512) * 0.2 * 0.64, 1e-15);
  EXPECT_EQ(knapsack_value(8, 0.0), 0.0);
  EXPECT_EQ(knapsack_value(8, 1.0), 0.0);
}

TEST(Knapsack, MatchesBruteForce) {
  std::mt19937_64 gen(5);
  std::uniform_real_distribution<double> u(0, 1);
  for (int trial = 0; trial < 40; ++trial) {
    const int P = 1 + trial % 4;
    const int lo = 1 + trial % 2, hi = lo + 2 + trial % 4;
    std::vector<double> p;
    for (int i = 0; i < P; ++i) p.push_back(trial % 5 == 0 && i == 0 ? 1.0 : u(gen));
    const int64_t budget = lo * P + trial % 7;
    const auto a = knapsack_allocate(p, budget, lo, hi);
    ASSERT_EQ(a.size(), p.size());
    EXPECT_LE(std::accumulate(a.begin(), a.end(), int64_t{0}), budget);
    for (int64_t n : a) {
      EXPECT_GE(n, lo);
      EXPECT_LE(n, hi);
    }
    EXPECT_NEAR(total_value(a, p), brute_best(p, budget, lo, hi), 1e-12) << "trial " << trial;
  }
}

TEST(Knapsack, SaturatedPromptsGetTheMinimum) {
  const std::vector<double> p = {0.0, 1.0, 0.5, 0.25};
  const auto a = knapsack_allocate(p, /*budget=*/40, /*n_min=*/2, /*n_max=*/16);
  EXPECT_EQ(a[0], 2);
  EXPECT_EQ(a[1], 2);
  EXPECT_NEAR(total_value(a, p), brute_best(p, 40, 2, 16), 1e-12);
  // All saturated: everything at n_min, budget left unspent.
  const auto b = knapsack_allocate({0.0, 1.0, 1.0}, 30, 3, 10);
  EXPECT_EQ(b, (std::vector<int64_t>{3, 3, 3}));
}

TEST(Knapsack, BadInputsAreUserErrors) {
  EXPECT_THROW(knapsack_allocate({0.5, 0.5, 0.5}, 5, 2, 8), core::UserError);  // 2·3 > 5
  EXPECT_THROW(knapsack_allocate({0.5, 1.5}, 10, 2, 8), core::UserError);
  EXPECT_THROW(knapsack_allocate({0.5, NAN}, 10, 2, 8), core::UserError);
  EXPECT_THROW(knapsack_allocate({0.5}, 10, 5, 4), core::UserError);
  EXPECT_TRUE(knapsack_allocate({}, 0, 2, 8).empty());
  try {
    knapsack_allocate({0.5, 0.5, 0.5}, 5, 2, 8);
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("budget 5"), std::string::npos) << e.what();
  }
}

TEST(Knapsack, SelectorAllocatesPerGroup) {
  SelectionInput in;
  // Groups 3: p = 0.5; 8: p = 1; 1: p = 0.25.
  in.seq_rewards = torch::tensor({1.f, 0.f, 1.f, 1.f, 1.f, 0.f, 0.f, 0.f});
  in.group_ids = torch::tensor(std::vector<int64_t>{3, 3, 8, 8, 1, 1, 1, 1});
  in.mask = torch::ones({8, 2});
  KnapsackOptions o;
  o.n_min = 2;
  o.n_max = 12;
  o.budget_per_prompt = 6;
  const SelectionOutput out = knapsack_select(in, o);
  EXPECT_TRUE(torch::equal(out.metrics.at("knapsack/group_ids"), torch::tensor(std::vector<int64_t>{1, 3, 8})));
  const torch::Tensor alloc = out.metrics.at("knapsack/allocation");
  std::vector<int64_t> a(alloc.data_ptr<int64_t>(), alloc.data_ptr<int64_t>() + 3);
  const std::vector<double> p = {0.25, 0.5, 1.0};
  EXPECT_EQ(a[2], 2);
  EXPECT_NEAR(total_value(a, p), brute_best(p, 18, 2, 12), 1e-12);
  EXPECT_LE(out.metrics.at("knapsack/budget_used").item<double>(), 18.0);
  EXPECT_TRUE(out.row_keep.all().item<bool>());
  EXPECT_TRUE(torch::equal(out.token_mask, in.mask));
  o.budget_per_prompt = 1;  // 3 prompts · 1 < 3 · n_min
  EXPECT_THROW(knapsack_select(in, o), core::UserError);
}

// The allocation registry ([rollout_allocation] name = ...): uniform gives G each; knapsack gives
// the DP's optimum for the estimates, checked against brute force; bad options are UserErrors.
TEST(RolloutAllocation, RegistryBuildsUniformAndKnapsack) {
  EXPECT_EQ(allocation_registry().names(), (std::vector<std::string>{"knapsack", "uniform"}));
  const std::vector<double> p = {0.25, 0.5, 1.0};
  const auto uniform = build_default(allocation_registry(), "uniform");
  EXPECT_EQ(uniform->allocate(p, 4), (std::vector<int64_t>{4, 4, 4}));
  EXPECT_FALSE(uniform->uses_success_estimates());
  const auto knap = build_component(
      allocation_registry(), "knapsack",
      core::Recipe::parse("[a]\nname = \"knapsack\"\nn_min = 2\nn_max = 12\nbudget_per_prompt = 6\n", "r.toml"), "a",
      {"name"});
  EXPECT_TRUE(knap->uses_success_estimates());
  const std::vector<int64_t> a = knap->allocate(p, 4);
  EXPECT_EQ(a[2], 2);
  EXPECT_NEAR(total_value(a, p), brute_best(p, 18, 2, 12), 1e-12);
  const auto bad = [](const std::string& body) {
    EXPECT_THROW(build_component(allocation_registry(), "knapsack", core::Recipe::parse("[o]\n" + body, "r.toml"), "o"),
                 core::UserError)
        << body;
  };
  bad("n_min = 0\n");
  bad("unknown_key = 1\n");
  bad("n_min = 9\nn_max = 8\n");
  EXPECT_THROW(allocation_registry().get("knapsak"), core::UserError);
}

}  // namespace
}  // namespace rlpp::algo
