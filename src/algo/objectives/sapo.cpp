// SAPO: a sigmoid gate on the ratio replaces PPO's hard clip. With g(r) = (4/τ)σ(τ(r − 1)),
// dg/dlog π = 4σ(1 − σ)·r, which is 1 at r = 1 (plain policy gradient on-policy) and decays
// smoothly as r leaves 1; a larger τ for A ≤ 0 damps negative updates faster.
#include "rlpp/algo/objectives/sapo.h"

#include "rlpp/algo/ratio.h"

namespace rlpp::algo {

ObjectiveOutput sapo_loss(const PolicyLossInput& in, const SapoOptions& opts) {
  check_policy_input("sapo", in, /*needs_logp_old=*/true);
  const torch::Tensor r = ratio(in.logp, in.logp_old);  // (B, L)
  const torch::Tensor a = in.advantages.detach();       // (B, L)
  const torch::Tensor tau = torch::where(a > 0, torch::full_like(r, opts.tau_pos).detach(),
                                         torch::full_like(r, opts.tau_neg).detach());  // (B, L)
  const torch::Tensor gate = (4.0 / tau) * torch::sigmoid(tau * (r - 1.0));          // (B, L)
  return {mask_token_loss(-gate * a, in.mask), policy_metrics(in)};
}

}  // namespace rlpp::algo
