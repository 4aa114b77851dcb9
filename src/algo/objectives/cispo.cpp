// CISPO (MiniMax-M1, arXiv 2506.13585): clip the importance-sampling weight, not the token update,
// so tokens PPO would clip still contribute a (capped) gradient.
#include "rlpp/algo/objectives/cispo.h"

#include "rlpp/algo/ratio.h"
#include "rlpp/algo/stats.h"

namespace rlpp::algo {

ObjectiveOutput cispo_loss(const PolicyLossInput& in, const CispoOptions& opts) {
  check_policy_input("cispo", in, /*needs_logp_old=*/true);
  const torch::Tensor r = ratio(in.logp.detach(), in.logp_old);  // (B, L), constant weight
  const torch::Tensor c = r.clamp(opts.min_ratio, opts.eps_max);  // (B, L) ĉ
  ObjectiveOutput out{mask_token_loss(-c * in.advantages.detach() * in.logp, in.mask), policy_metrics(in)};
  {
    torch::NoGradGuard no_grad;
    out.metrics["cispo_capfrac"] =
        masked_mean(((r > opts.eps_max) | (r < opts.min_ratio)).to(in.logp.scalar_type()), in.mask);
  }
  return out;
}

}  // namespace rlpp::algo
