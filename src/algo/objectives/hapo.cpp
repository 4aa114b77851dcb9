// HAPO (arXiv 2509.16591): entropy-normalised advantage redistribution and asymmetric adaptive
// clipping on top of dual-clip PPO. Formulas: include/rlpp/algo/objectives/hapo.h.
#include "rlpp/algo/objectives/hapo.h"

#include <cmath>

#include "rlpp/algo/ratio.h"
#include "rlpp/algo/stats.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {

EntropyNormStats fit_entropy_norm(const torch::Tensor& entropy, const torch::Tensor& mask, double quantile,
                                  double h_floor) {
  check_defined("hapo entropy normalisation", "entropy", entropy);
  core::require(quantile > 0.0 && quantile < 1.0,
                "hapo entropy normalisation: quantile must be in (0, 1), got " + std::to_string(quantile));
  torch::NoGradGuard no_grad;
  EntropyNormStats s;
  s.h_floor = h_floor;
  const torch::Tensor x =
      entropy.detach().masked_select(valid_positions(entropy, mask)).to(torch::kDouble).clamp_min(h_floor).log();
  if (x.numel() == 0) return s;
  s.q = quantile_of(x, quantile);
  const torch::Tensor d = x - s.q;
  const double rms = (d * d).mean().sqrt().item<double>();
  if (!(rms > 0)) return s;  // all equal: every h is 0
  s.rms = rms;
  const double hmax = d.max().item<double>() / rms, hmin = d.min().item<double>() / rms;
  if (hmax > 0) s.pos_max = hmax;
  if (hmin < 0) s.neg_max = -hmin;
  return s;
}

EntropyNormStats fit_entropy_norm(const torch::Tensor& entropy, const torch::Tensor& mask, const HapoOptions& opts) {
  return fit_entropy_norm(entropy, mask, opts.quantile, opts.h_floor);
}

torch::Tensor normalized_entropy(const torch::Tensor& entropy, const EntropyNormStats& stats) {
  torch::NoGradGuard no_grad;
  // In the entropy's own dtype: the statistics are double scalars, the per-token map is elementwise.
  const torch::Tensor h = (entropy.detach().clamp_min(stats.h_floor).log() - stats.q) * (1.0 / stats.rms);
  return torch::where(h > 0, h * (1.0 / stats.pos_max), h * (1.0 / stats.neg_max)).clamp(-1.0, 1.0);
}

torch::Tensor hapo_adaptive_temperature(const torch::Tensor& entropy, const EntropyNormStats& stats,
                                        double temperature, double tau_t) {
  core::require(temperature > 0, "hapo adaptive temperature: temperature must be > 0");
  core::require(tau_t >= 0 && tau_t < 1, "hapo adaptive temperature: tau_t must be in [0, 1) so T stays > 0");
  return temperature * (1.0 + tau_t * normalized_entropy(entropy, stats));
}

EntropyNormStats hapo_stats(const PolicyLossInput& in, const HapoOptions& opts) {
  check_policy_input("hapo", in, /*needs_logp_old=*/true);
  check_defined("objective hapo", "entropy", in.entropy);
  return fit_entropy_norm(in.entropy, in.mask, opts);
}

ObjectiveOutput hapo_loss(const PolicyLossInput& in, const HapoOptions& opts, const EntropyNormStats& stats) {
  check_policy_input("hapo", in, /*needs_logp_old=*/true);
  check_defined("objective hapo", "entropy", in.entropy);
  const torch::Tensor h = normalized_entropy(in.entropy, stats);  // (B, L) ĥ in [−1, 1], constant
  const torch::Tensor r = ratio(in.logp, in.logp_old);            // (B, L)
  const torch::Tensor rd = r.detach();
  const torch::Tensor a = in.advantages.detach();  // (B, L)
  // Step 4: redistribution of the advantage by entropy, switched by the neutral band on r.
  const torch::Tensor in_band = (rd > 1.0 - opts.eps_low / 2) & (rd < 1.0 + opts.eps_high / 2);  // (B, L)
  const torch::Tensor use_ent = (h > 0).logical_xor(in_band);  // (B, L): ĥ > 0 outside the band, ĥ ≤ 0 inside
  const torch::Tensor adv = torch::where(use_ent, a * (1.0 + opts.beta * h), a);                   // (B, L)
  // Step 5: per-token asymmetric bounds; only the side named by the sign of ĥ widens.
  const torch::Tensor lo = 1.0 - opts.eps_low * (1.0 - opts.alpha * h.clamp_max(0));   // (B, L)
  const torch::Tensor hi = 1.0 + opts.eps_high * (1.0 + opts.alpha * h.clamp_min(0));  // (B, L)
  const ClippedSurrogate s = clipped_surrogate(r, adv, lo, hi, constant_like(r, opts.clip_c));
  ObjectiveOutput out{mask_token_loss(s.loss, in.mask), policy_metrics(in, s.clipped_low, s.clipped_high, s.clipped_dual)};
  torch::NoGradGuard no_grad;
  out.metrics["hapo_adv_redistributed"] = masked_mean(use_ent.to(in.logp.scalar_type()), in.mask);
  out.metrics["hapo_eps_low_mean"] = masked_mean(1.0 - lo, in.mask);
  out.metrics["hapo_eps_high_mean"] = masked_mean(hi - 1.0, in.mask);
  return out;
}

}  // namespace rlpp::algo
