// Shared by the control estimators (gae, mc): validated rollout fields in double on the CPU, and
// the one sequential piece, a backward discounted scan.
#pragma once
#include <torch/torch.h>

#include <string>

#include "rlpp/algo/advantage.h"

namespace rlpp::algo::detail {

struct ControlRollout {
  torch::Tensor rewards;     // (T, N) double
  torch::Tensor values;      // (T, N) double; {} when the input has none
  torch::Tensor not_done;    // (T, N) double: 1 − (terminated ∨ truncated)
  torch::Tensor truncation;  // (T, N) double: γ·V(final_obs) on truncated, non-terminal steps; 0 elsewhere
  torch::Tensor next_value;  // (N) double; {} when the input has none
};

// Validates `in` for estimator `who` (shapes (T, N) and (N)) and converts it. final_values are
// read only when bootstrap_truncated is set, and are then required.
ControlRollout control_rollout(const std::string& who, const AdvantageInput& in, bool need_values,
                               bool need_next_value, bool bootstrap_truncated, double gamma);

// y_t = x_t + decay_t · y_{t+1} for t = T−1 … 0, with y_T = 0.
torch::Tensor backward_scan(const torch::Tensor& x,       // (T, N) double, CPU
                            const torch::Tensor& decay);  // (T, N) double, CPU

// Casts a double CPU result back to the dtype and device of `like`.
torch::Tensor like_input(const torch::Tensor& x, const torch::Tensor& like);

}  // namespace rlpp::algo::detail
