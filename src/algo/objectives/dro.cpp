// Regularised REINFORCE: ℓ = −(A·log π − ½β(log r)²). The penalty's gradient β·log r·∇log π pulls
// π back towards π_old in proportion to how far it moved, a smooth alternative to clipping.
#include "rlpp/algo/objectives/dro.h"

#include "rlpp/algo/ratio.h"

namespace rlpp::algo {

ObjectiveOutput dro_loss(const PolicyLossInput& in, const DroOptions& opts) {
  check_policy_input("dro", in, /*needs_logp_old=*/true);
  const torch::Tensor lr = log_ratio(in.logp, in.logp_old);  // (B, L)
  const torch::Tensor loss = -(in.advantages.detach() * in.logp - 0.5 * opts.beta * lr * lr);
  return {mask_token_loss(loss, in.mask), policy_metrics(in)};
}

}  // namespace rlpp::algo
