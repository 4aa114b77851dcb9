// GMPO (arXiv 2507.20673): maximise the geometric rather than arithmetic mean of token rewards
// r_t·A, which is far less sensitive to outlier ratios; each token's ratio is clipped in log space
// on the pessimistic side (as PPO's min does), then the row's log-ratios are averaged.
#include "rlpp/algo/objectives/gmpo.h"

#include "rlpp/algo/ratio.h"

namespace rlpp::algo {

ObjectiveOutput gmpo_loss(const PolicyLossInput& in, const GmpoOptions& opts) {
  check_policy_input("gmpo", in, /*needs_logp_old=*/true);
  check_sequences("gmpo", in);
  const torch::Tensor lr = log_ratio(in.logp, in.logp_old);                   // (B, L)
  const torch::Tensor seq_adv = row_masked_mean(in.advantages.detach(), in.mask);  // (B, 1)
  const torch::Tensor sgn = torch::where(seq_adv >= 0, torch::ones_like(seq_adv), -torch::ones_like(seq_adv));
  // Pessimistic: for A ≥ 0 keep min(log r, clamp(log r)), for A < 0 max(·): clipping removes the
  // gradient only when it would push further in the advantage's direction.
  const torch::Tensor clipped_lr = sgn * torch::min(sgn * lr, sgn * lr.clamp(-opts.eps_low, opts.eps_high));
  const torch::Tensor rho = row_masked_mean(clipped_lr, in.mask).exp();  // (B, 1)
  const torch::Tensor loss = (-rho * seq_adv).expand_as(in.logp);        // (B, L)
  torch::Tensor low, high;
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor a = seq_adv.expand_as(lr);
    low = (a < 0) & (lr < -opts.eps_low);
    high = (a > 0) & (lr > opts.eps_high);
  }
  return {mask_token_loss(loss, in.mask), policy_metrics(in, low, high)};
}

}  // namespace rlpp::algo
