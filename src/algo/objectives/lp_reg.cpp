// Lp-Reg (arXiv 2510.03222). Formulas: include/rlpp/algo/objectives/lp_reg.h.
#include "rlpp/algo/objectives/lp_reg.h"

#include <cmath>

#include "rlpp/algo/kl.h"
#include "rlpp/algo/ratio.h"
#include "rlpp/algo/stats.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {

torch::Tensor min_p_proxy_logp(const torch::Tensor& logits_old, const torch::Tensor& tokens, double kappa,
                               int64_t chunk_rows) {
  check_defined("min_p_proxy_logp", "logits_old", logits_old);
  check_defined("min_p_proxy_logp", "tokens", tokens);
  core::require(logits_old.dim() == 3 && tokens.dim() == 2 && tokens.size(0) == logits_old.size(0) &&
                    tokens.size(1) == logits_old.size(1),
                "min_p_proxy_logp: logits_old must be (B, L, V) and tokens (B, L) with the same B, L");
  core::require(kappa > 0 && kappa <= 1, "min_p_proxy_logp: kappa must be in (0, 1], got " + std::to_string(kappa));
  core::require(chunk_rows > 0, "min_p_proxy_logp: chunk_rows must be > 0");
  torch::NoGradGuard no_grad;
  const double log_kappa = std::log(kappa);
  std::vector<torch::Tensor> parts;
  for (int64_t b0 = 0; b0 < logits_old.size(0); b0 += chunk_rows) {
    const int64_t b1 = std::min(b0 + chunk_rows, logits_old.size(0));
    const torch::Tensor lp = torch::log_softmax(logits_old.slice(0, b0, b1).to(torch::kFloat), -1);  // (b, L, V)
    const torch::Tensor keep = lp >= std::get<0>(lp.max(-1, /*keepdim=*/true)) + log_kappa;           // (b, L, V)
    const torch::Tensor log_z = torch::where(keep, lp, torch::full_like(lp, -INFINITY)).logsumexp(-1);  // (b, L)
    const torch::Tensor tok = tokens.slice(0, b0, b1).to(torch::kLong).unsqueeze(-1);               // (b, L, 1)
    const torch::Tensor taken = lp.gather(-1, tok).squeeze(-1);
    const torch::Tensor kept = keep.gather(-1, tok).squeeze(-1);
    parts.push_back(torch::where(kept, taken - log_z, torch::full_like(taken, -INFINITY)));
  }
  if (parts.empty()) return torch::zeros(tokens.sizes(), logits_old.options().dtype(torch::kFloat));
  return torch::cat(parts, 0);
}

LpRegStats lp_reg_stats(const PolicyLossInput& in, const LpRegOptions& opts) {
  check_policy_input("lp_reg", in, /*needs_logp_old=*/true);
  torch::NoGradGuard no_grad;
  const torch::Tensor neg = valid_positions(in.logp, in.mask) & (in.advantages.detach() < 0);
  const torch::Tensor lp = in.logp.detach().masked_select(neg).to(torch::kDouble);
  LpRegStats s;
  if (lp.numel() > 0) s.log_delta = quantile_of(lp, opts.rho);
  return s;
}

ObjectiveOutput lp_reg_loss(const PolicyLossInput& in, const LpRegOptions& opts, const LpRegStats& stats) {
  check_policy_input("lp_reg", in, /*needs_logp_old=*/true);
  check_defined("objective lp_reg", "logp_proxy", in.logp_proxy);
  const torch::Tensor a = in.advantages.detach();      // (B, L)
  const torch::Tensor lpd = in.logp.detach();
  const torch::Tensor proxy = in.logp_proxy.detach();  // (B, L), −inf where filtered
  const torch::Tensor regularised =
      (a < 0) & (lpd.to(torch::kDouble) <= stats.log_delta) & torch::isfinite(proxy) & (lpd < proxy);  // (B, L)
  const torch::Tensor r = ratio(in.logp, in.logp_old);
  const ClippedSurrogate s = clipped_surrogate(r, in.advantages, constant_like(r, 1.0 - opts.eps_low),
                                               constant_like(r, 1.0 + opts.eps_high), constant_like(r, opts.clip_c));
  // Filtered proxies (−inf) are replaced by logp so the unused branch stays finite.
  const torch::Tensor safe_proxy = torch::where(regularised, proxy, lpd);
  const torch::Tensor reg_loss = -r * a + opts.beta * kl_k3(in.logp, safe_proxy);
  const torch::Tensor loss = torch::where(regularised, reg_loss, s.loss);
  const torch::Tensor keep_clip = regularised.logical_not();
  ObjectiveOutput out{mask_token_loss(loss, in.mask),
                      policy_metrics(in, s.clipped_low & keep_clip, s.clipped_high & keep_clip, s.clipped_dual & keep_clip)};
  torch::NoGradGuard no_grad;
  out.metrics["lp_reg_frac"] = masked_mean(regularised.to(in.logp.scalar_type()), in.mask);
  return out;
}

}  // namespace rlpp::algo
