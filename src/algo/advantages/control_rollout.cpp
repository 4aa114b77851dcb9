#include "control_rollout.h"

#include "rlpp/algo/stats.h"
#include "rlpp/core/error.h"

namespace rlpp::algo::detail {

static torch::Tensor as_double(const torch::Tensor& t) {
  return t.detach().to(torch::kCPU).to(torch::kDouble).contiguous();
}

ControlRollout control_rollout(const std::string& who, const AdvantageInput& in, bool need_values,
                               bool need_next_value, bool bootstrap_truncated, double gamma) {
  check_defined(who, "rewards", in.rewards);
  core::require(in.rewards.dim() == 2,
                who + ": rewards must be (T, N), got " + std::to_string(in.rewards.dim()) + " dims");
  core::require(in.rewards.size(0) >= 1, who + ": the rollout is empty (T = 0)");
  check_same_shape(who, "rewards", in.rewards, "terminated", in.terminated);
  check_same_shape(who, "rewards", in.rewards, "truncated", in.truncated);
  ControlRollout out;
  out.rewards = as_double(in.rewards);
  const torch::Tensor terminated = as_double(in.terminated) > 0.5;
  const torch::Tensor truncated = as_double(in.truncated) > 0.5;
  out.not_done = (~(terminated | truncated)).to(torch::kDouble);
  if (need_values || in.values.defined()) {
    check_same_shape(who, "rewards", in.rewards, "values", in.values);
    out.values = as_double(in.values);
  }
  if (need_next_value || in.next_value.defined()) {
    check_defined(who, "next_value", in.next_value);
    core::require(in.next_value.dim() == 1 && in.next_value.size(0) == in.rewards.size(1),
                  who + ": next_value must be (N) with N = " + std::to_string(in.rewards.size(1)));
    out.next_value = as_double(in.next_value);
  }
  out.truncation = torch::zeros_like(out.rewards);
  if (bootstrap_truncated) {
    check_same_shape(who + " (bootstrap_truncated)", "rewards", in.rewards, "final_values", in.final_values);
    // Only where truncated and not terminated: elsewhere final_values may hold anything.
    out.truncation =
        torch::where(truncated & ~terminated, gamma * as_double(in.final_values), out.truncation);
  }
  return out;
}

torch::Tensor backward_scan(const torch::Tensor& x, const torch::Tensor& decay) {
  torch::Tensor y = torch::empty_like(x);
  const auto xa = x.accessor<double, 2>();
  const auto da = decay.accessor<double, 2>();
  auto ya = y.accessor<double, 2>();
  const int64_t T = x.size(0), N = x.size(1);
  for (int64_t n = 0; n < N; ++n) {
    double next = 0.0;
    for (int64_t t = T - 1; t >= 0; --t) {
      next = xa[t][n] + da[t][n] * next;
      ya[t][n] = next;
    }
  }
  return y;
}

torch::Tensor like_input(const torch::Tensor& x, const torch::Tensor& like) {
  return x.to(like.device(), like.scalar_type());
}

}  // namespace rlpp::algo::detail
