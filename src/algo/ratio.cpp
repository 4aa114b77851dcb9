#include "rlpp/algo/ratio.h"

#include "rlpp/algo/stats.h"

namespace rlpp::algo {

torch::Tensor log_ratio(const torch::Tensor& logp, const torch::Tensor& logp_old) {
  check_same_shape("log_ratio", "logp", logp, "logp_old", logp_old);
  return (logp - logp_old.detach()).clamp(-kLogRatioClamp, kLogRatioClamp);
}

torch::Tensor ratio(const torch::Tensor& logp, const torch::Tensor& logp_old) {
  return log_ratio(logp, logp_old).exp();
}

ClippedSurrogate clipped_surrogate(const torch::Tensor& r, const torch::Tensor& advantages,
                                   const torch::Tensor& lo, const torch::Tensor& hi,
                                   const torch::Tensor& dual_c) {
  check_same_shape("clipped_surrogate", "ratio", r, "advantages", advantages);
  const torch::Tensor a = advantages.detach();
  const torch::Tensor rd = r.detach();
  ClippedSurrogate out;
  out.clipped_high = (a > 0) & (rd > hi);
  out.clipped_low = (a < 0) & (rd < lo);
  out.clipped_dual = dual_c.defined() ? (a < 0) & (rd > dual_c) : torch::zeros_like(out.clipped_low);
  // The bound that replaces r on a clipped token is a constant, so the gradient there is exactly 0.
  torch::Tensor bound = torch::where(out.clipped_high, hi.to(r.scalar_type()), rd);
  bound = torch::where(out.clipped_low, lo.to(r.scalar_type()), bound);
  if (dual_c.defined()) bound = torch::where(out.clipped_dual, dual_c.to(r.scalar_type()), bound);
  const torch::Tensor clipped = out.clipped_low | out.clipped_high | out.clipped_dual;
  out.loss = -a * torch::where(clipped, bound, r);
  return out;
}

}  // namespace rlpp::algo
