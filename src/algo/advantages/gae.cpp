#include "rlpp/algo/advantages/gae.h"

#include "control_rollout.h"

namespace rlpp::algo {

AdvantageOutput gae(const AdvantageInput& in, const GaeOptions& opts) {
  const detail::ControlRollout ro =
      detail::control_rollout("gae", in, /*need_values=*/true,
                              /*need_next_value=*/true, opts.bootstrap_truncated, opts.gamma);
  // V(s_{t+1}) within the rollout, next_value after its last step.
  const torch::Tensor v_next = torch::cat({ro.values.slice(0, 1), ro.next_value.unsqueeze(0)}, 0);  // (T, N)
  const torch::Tensor delta = ro.rewards + opts.gamma * v_next * ro.not_done + ro.truncation - ro.values;
  const torch::Tensor adv = detail::backward_scan(delta, opts.gamma * opts.lambda * ro.not_done);
  return {detail::like_input(adv, in.rewards), detail::like_input(adv + ro.values, in.rewards)};
}

}  // namespace rlpp::algo
