#include "rlpp/algo/objectives/ppo_clip.h"

#include "rlpp/algo/ratio.h"

namespace rlpp::algo {

ObjectiveOutput ppo_clip_loss(const PolicyLossInput& in, const PpoClipOptions& opts) {
  check_policy_input("ppo_clip", in, /*needs_logp_old=*/true);
  const torch::Tensor r = ratio(in.logp, in.logp_old);  // (B, L)
  const auto scalar = [&](double v) { return constant_like(r, v); };
  const ClippedSurrogate s =
      clipped_surrogate(r, in.advantages, scalar(1.0 - opts.eps_low), scalar(1.0 + opts.eps_high),
                        opts.dual_clip ? scalar(opts.clip_c) : torch::Tensor());
  return {
      mask_token_loss(s.loss, in.mask),
      policy_metrics(in, s.clipped_low, s.clipped_high, opts.dual_clip ? s.clipped_dual : torch::Tensor())};
}

}  // namespace rlpp::algo
