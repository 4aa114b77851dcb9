// Shared inputs and helpers of the policy-objective tests: random batches with ragged lengths
// (including 0 and 1), element access in double, and gradients of the aggregated loss.
#pragma once
#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "rlpp/algo/aggregation.h"
#include "rlpp/algo/objective.h"

namespace rlpp::algo::test_util {

constexpr int64_t kB = 6, kL = 40;

// logp_old ∈ (−3.05, −0.05); log-ratios uniform in ±spread/2 (both clip sides and the middle
// populated for spread 1.4); advantages N(0, 1) of both signs; entropies in (0, 2); row lengths
// {40, 17, 1, 0, 33, 5}.
inline PolicyLossInput random_input(uint64_t seed, double spread = 1.4) {
  torch::manual_seed(seed);
  PolicyLossInput in;
  in.logp_old = -torch::rand({kB, kL}) * 3 - 0.05;
  in.logp = (in.logp_old + (torch::rand({kB, kL}) - 0.5) * spread).detach().requires_grad_(true);
  in.advantages = torch::randn({kB, kL});
  in.entropy = torch::rand({kB, kL}) * 2;
  const std::vector<int64_t> lengths = {kL, 17, 1, 0, 33, 5};
  in.mask = torch::zeros({kB, kL});
  for (int64_t i = 0; i < kB; ++i) in.mask.index_put_({i, torch::indexing::Slice(0, lengths[i])}, 1.f);
  return in;
}

inline double val(const torch::Tensor& x, int64_t i, int64_t t) { return x.index({i, t}).item<double>(); }
inline double scalar(const torch::Tensor& x) { return x.item<double>(); }
inline bool valid(const PolicyLossInput& in, int64_t i, int64_t t) { return val(in.mask, i, t) > 0.5; }

// d(aggregate)/d logp under `mode` (token-sum: the per-token gradient).
inline torch::Tensor grad_of(const PolicyLossInput& in, const ObjectiveOutput& out,
                             Aggregation mode = Aggregation::kTokenSum) {
  if (in.logp.grad().defined()) in.logp.grad().zero_();
  aggregate_loss(out.token_loss, in.mask, mode).backward();
  return in.logp.grad().clone();
}

// The same batch with large finite garbage at every masked position of every input.
inline PolicyLossInput with_garbage_at_padding(const PolicyLossInput& a) {
  PolicyLossInput b = a;
  const torch::Tensor pad = a.mask < 0.5;
  b.logp = torch::where(pad, torch::full_like(a.logp, 1e4), a.logp.detach()).requires_grad_(true);
  b.logp_old = torch::where(pad, torch::full_like(a.logp_old, -3e4), a.logp_old);
  b.advantages = torch::where(pad, torch::full_like(a.advantages, 1e6), a.advantages);
  if (a.entropy.defined()) b.entropy = torch::where(pad, torch::full_like(a.entropy, -1e5), a.entropy);
  if (a.logp_proxy.defined()) b.logp_proxy = torch::where(pad, torch::full_like(a.logp_proxy, 5e3), a.logp_proxy);
  return b;
}

// Rows of random_input with at least one valid token (row 3 is empty): the N_seqs of the sequence
// aggregations.
inline constexpr double kSeqs = 5;

// PPO clip from its definition: value and whether the token is clipped (A>0 high / A<0 low).
struct ClipRef {
  double loss;
  int side;  // 0 unclipped, -1 low, +1 high
};
inline ClipRef clip_ref(double r, double a, double el, double eh) {
  const double rc = std::min(std::max(r, 1 - el), 1 + eh);
  const double unclipped = -r * a, clipped = -rc * a;
  if (clipped > unclipped) return {clipped, a > 0 ? 1 : -1};
  return {unclipped, 0};
}

// Row statistics in double over the valid tokens: mean log r, mean A, count.
struct RowRef {
  double mean_lr, mean_a;
  int n;
};
inline RowRef row_ref(const PolicyLossInput& in, int64_t i) {
  RowRef ref{0, 0, 0};
  for (int64_t t = 0; t < kL; ++t) {
    if (!valid(in, i, t)) continue;
    ref.mean_lr += val(in.logp.detach(), i, t) - val(in.logp_old, i, t);
    ref.mean_a += val(in.advantages, i, t);
    ++ref.n;
  }
  if (ref.n > 0) {
    ref.mean_lr /= ref.n;
    ref.mean_a /= ref.n;
  }
  return ref;
}

}  // namespace rlpp::algo::test_util
