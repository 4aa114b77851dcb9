// GSPO (arXiv 2507.18071): importance ratio and clip at the sequence level, s_i = (π(y_i)/π_old(y_i))^{1/|y_i|}
// = exp(mean_t log r_{i,t}), so a single noisy token cannot swing the update of its sequence.
#include "rlpp/algo/objectives/gspo.h"

#include "rlpp/algo/ratio.h"
#include "rlpp/algo/stats.h"

namespace rlpp::algo {

// Upper bound on log s_i: exp(10) already clips for any ε, and keeps s finite in float.
constexpr double kMaxLogSeqRatio = 10.0;

torch::Tensor row_masked_mean(const torch::Tensor& x, const torch::Tensor& mask) {
  const torch::Tensor valid = valid_positions(x, mask);                          // (B, L) bool
  const torch::Tensor kept = torch::where(valid, x, torch::zeros_like(x));       // (B, L)
  const torch::Tensor count = valid.sum(-1, /*keepdim=*/true).clamp_min(1).to(x.scalar_type());  // (B, 1)
  return kept.sum(-1, /*keepdim=*/true) / count;
}

ObjectiveOutput gspo_loss(const PolicyLossInput& in, const GspoOptions& opts) {
  check_policy_input("gspo", in, /*needs_logp_old=*/true);
  check_sequences("gspo", in);
  const torch::Tensor log_s =
      row_masked_mean(log_ratio(in.logp, in.logp_old), in.mask).clamp_max(kMaxLogSeqRatio);  // (B, 1)
  const torch::Tensor seq_adv = row_masked_mean(in.advantages.detach(), in.mask);           // (B, 1)
  torch::Tensor s;  // (B, L): value s_i on every position of row i
  if (opts.token_level) {
    s = log_s.exp().detach() * (in.logp - in.logp.detach()).exp();
  } else {
    s = log_s.exp().expand_as(in.logp);
  }
  const auto scalar = [&](double v) { return constant_like(s, v); };
  const ClippedSurrogate c = clipped_surrogate(s, seq_adv.expand_as(s), scalar(1.0 - opts.eps_low),
                                               scalar(1.0 + opts.eps_high), torch::Tensor());
  return {mask_token_loss(c.loss, in.mask), policy_metrics(in, c.clipped_low, c.clipped_high)};
}

}  // namespace rlpp::algo
