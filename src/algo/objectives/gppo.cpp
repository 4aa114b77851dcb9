// GPPO (Klear-Reasoner, arXiv 2508.07629): keep PPO's forward value but let clipped tokens keep a
// bounded gradient. On a clipped token the constant −(1±ε)·A becomes
//     −(1±ε)·A·(1 + β·(r/sg(r) − 1)),
// whose value is unchanged (r/sg(r) = 1) and whose gradient is −β·(1±ε)·A·∇log π.
#include "rlpp/algo/objectives/gppo.h"

#include "rlpp/algo/ratio.h"

namespace rlpp::algo {

ObjectiveOutput gppo_loss(const PolicyLossInput& in, const GppoOptions& opts) {
  check_policy_input("gppo", in, /*needs_logp_old=*/true);
  const torch::Tensor r = ratio(in.logp, in.logp_old);  // (B, L)
  const auto scalar = [&](double v) { return constant_like(r, v); };
  const double lo = 1.0 - opts.eps_low, hi = 1.0 + opts.eps_high;
  const ClippedSurrogate s = clipped_surrogate(r, in.advantages, scalar(lo), scalar(hi), torch::Tensor());
  const torch::Tensor a = in.advantages.detach();  // (B, L)
  const torch::Tensor unit = r / r.detach() - 1.0;  // (B, L): 0 in value, gradient ∇log π
  const torch::Tensor low_branch = -lo * a * (1.0 + opts.beta1 * unit);   // (B, L)
  const torch::Tensor high_branch = -hi * a * (1.0 + opts.beta2 * unit);  // (B, L)
  const torch::Tensor loss =
      torch::where(s.clipped_low, low_branch, torch::where(s.clipped_high, high_branch, s.loss));
  return {mask_token_loss(loss, in.mask), policy_metrics(in, s.clipped_low, s.clipped_high)};
}

}  // namespace rlpp::algo
