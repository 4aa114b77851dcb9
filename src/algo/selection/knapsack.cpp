#include "rlpp/algo/knapsack.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "common.h"

namespace rlpp::algo {

double knapsack_value(int64_t n, double p) {
  const double nd = static_cast<double>(n);
  const double p_nonzero = 1.0 - std::pow(p, nd) - std::pow(1.0 - p, nd);  // P(rewards not all equal)
  return p_nonzero * p * (1.0 - p) * (1.0 - p);
}

std::vector<int64_t> knapsack_allocate(const std::vector<double>& success_rates, int64_t budget, int64_t n_min,
                                       int64_t n_max) {
  const std::string who = "knapsack";
  core::require(n_min >= 1, who + ": n_min must be >= 1, got " + std::to_string(n_min));
  core::require(n_min <= n_max, who + ": n_min (" + std::to_string(n_min) + ") must be <= n_max (" +
                                    std::to_string(n_max) + ")");
  const auto P = static_cast<int64_t>(success_rates.size());
  for (int64_t i = 0; i < P; ++i) {
    const double p = success_rates[static_cast<size_t>(i)];
    core::require(p >= 0.0 && p <= 1.0,
                  who + ": success rate of prompt " + std::to_string(i) + " must be in [0, 1], got " + std::to_string(p));
  }
  core::require(budget >= n_min * P, who + ": budget " + std::to_string(budget) + " cannot give n_min = " +
                                         std::to_string(n_min) + " rollouts to each of " + std::to_string(P) +
                                         " prompts (needs " + std::to_string(n_min * P) + ")");
  if (P == 0) return {};
  // Budget beyond n_max per prompt buys nothing.
  const int64_t cap = std::min(budget, n_max * P);
  const auto W = static_cast<size_t>(cap + 1);
  const double kNone = -std::numeric_limits<double>::infinity();
  // best[b]: the largest Σ value of the prompts so far with Σ N = b; choice[i·W + b]: N_i there.
  std::vector<double> best(W, kNone), next(W);
  std::vector<int32_t> choice(static_cast<size_t>(P) * W, 0);
  best[0] = 0.0;
  for (int64_t i = 0; i < P; ++i) {
    const double p = success_rates[static_cast<size_t>(i)];
    std::vector<double> v(static_cast<size_t>(n_max + 1), 0.0);
    for (int64_t n = n_min; n <= n_max; ++n) v[static_cast<size_t>(n)] = knapsack_value(n, p);
    std::fill(next.begin(), next.end(), kNone);
    for (int64_t b = 0; b <= cap; ++b) {
      for (int64_t n = n_min; n <= std::min(n_max, b); ++n) {
        const double prev = best[static_cast<size_t>(b - n)];
        if (prev == kNone) continue;
        const double cand = prev + v[static_cast<size_t>(n)];
        // Strictly better (beyond rounding) wins; ties keep the smaller N_i.
        if (next[static_cast<size_t>(b)] == kNone ||
            cand > next[static_cast<size_t>(b)] + 1e-12 * std::max(1.0, std::abs(cand))) {
          next[static_cast<size_t>(b)] = cand;
          choice[static_cast<size_t>(i) * W + static_cast<size_t>(b)] = static_cast<int32_t>(n);
        }
      }
    }
    best.swap(next);
  }
  // The best total; ties go to the smallest spend.
  int64_t b_star = -1;
  for (int64_t b = 0; b <= cap; ++b) {
    const double val = best[static_cast<size_t>(b)];
    if (val == kNone) continue;
    if (b_star < 0 || val > best[static_cast<size_t>(b_star)] + 1e-12 * std::max(1.0, std::abs(val))) b_star = b;
  }
  std::vector<int64_t> alloc(static_cast<size_t>(P));
  for (int64_t i = P - 1, b = b_star; i >= 0; --i) {
    const int64_t n = choice[static_cast<size_t>(i) * W + static_cast<size_t>(b)];
    alloc[static_cast<size_t>(i)] = n;
    b -= n;
  }
  return alloc;
}

SelectionOutput knapsack_select(const SelectionInput& in, const KnapsackOptions& opts) {
  const std::string who = "knapsack";
  const int64_t B = selection::reward_rows(who, in);
  const auto g = selection::dense_groups(who, in.group_ids, B);
  const torch::Tensor r = in.seq_rewards.detach().to(torch::kCPU).to(torch::kDouble).clamp(0.0, 1.0);  // (B)
  core::require(!torch::isnan(r).any().item<bool>(), who + ": seq_rewards must not be NaN");
  const torch::Tensor p = (torch::zeros({g.num}, r.options()).index_add_(0, g.index, r) / g.count.to(torch::kDouble))
                              .contiguous();  // (K) success rates
  const std::vector<double> rates(p.data_ptr<double>(), p.data_ptr<double>() + g.num);
  const std::vector<int64_t> alloc = knapsack_allocate(rates, opts.budget_per_prompt * g.num, opts.n_min, opts.n_max);
  double value = 0;
  int64_t used = 0;
  for (size_t i = 0; i < alloc.size(); ++i) {
    value += knapsack_value(alloc[i], rates[i]);
    used += alloc[i];
  }
  SelectionOutput out = selection::pass_through(in, B);
  out.metrics["knapsack/group_ids"] = g.ids;
  out.metrics["knapsack/allocation"] = torch::tensor(alloc, torch::kLong);
  out.metrics["knapsack/value"] = selection::scalar(value);
  out.metrics["knapsack/budget_used"] = selection::scalar(static_cast<double>(used));
  return out;
}

}  // namespace rlpp::algo
