#include "rlpp/algo/advantages/mc.h"

#include "control_rollout.h"

namespace rlpp::algo {

AdvantageOutput mc(const AdvantageInput& in, const McOptions& opts) {
  const detail::ControlRollout ro =
      detail::control_rollout("mc", in, /*need_values=*/false,
                              /*need_next_value=*/false, opts.bootstrap_truncated, opts.gamma);
  torch::Tensor x = ro.rewards + ro.truncation;  // (T, N)
  if (ro.next_value.defined()) {
    // G_T = next_value enters through the last step: γ·(1 − done_{T−1})·V(s_T).
    x.select(0, x.size(0) - 1) += opts.gamma * ro.not_done.select(0, x.size(0) - 1) * ro.next_value;
  }
  const torch::Tensor g = detail::backward_scan(x, opts.gamma * ro.not_done);
  const torch::Tensor adv = ro.values.defined() ? g - ro.values : g;
  return {detail::like_input(adv, in.rewards), detail::like_input(g, in.rewards)};
}

}  // namespace rlpp::algo
