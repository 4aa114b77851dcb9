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

torch::Tensor normalized_entropy(const torch::Tensor& entropy, const EntropyNormStats& stats) {
  torch::NoGradGuard no_grad;
  // In the entropy's own dtype: the statistics are double scalars, the per-token map is elementwise.
  const torch::Tensor h = (entropy.detach().clamp_min(stats.h_floor).log() - stats.q) / stats.rms;
  return (h / torch::where(h > 0, torch::full_like(h, stats.pos_max), torch::full_like(h, stats.neg_max)))
      .clamp(-1.0, 1.0);
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
  return fit_entropy_norm(in.entropy, in.mask, opts.quantile, opts.h_floor);
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
  const torch::Tensor use_ent = torch::where(h > 0, in_band.logical_not(), in_band);               // (B, L)
  const torch::Tensor adv = torch::where(use_ent, a * (1.0 + opts.beta * h), a);                   // (B, L)
  // Step 5: per-token asymmetric bounds.
  const torch::Tensor eps_l = torch::where(h <= 0, opts.eps_low * (1.0 - opts.alpha * h), torch::full_like(h, opts.eps_low));
  const torch::Tensor eps_h = torch::where(h > 0, opts.eps_high * (1.0 + opts.alpha * h), torch::full_like(h, opts.eps_high));
  const ClippedSurrogate s = clipped_surrogate(r, adv, 1.0 - eps_l, 1.0 + eps_h, constant_like(r, opts.clip_c));
  ObjectiveOutput out{mask_token_loss(s.loss, in.mask), policy_metrics(in, s.clipped_low, s.clipped_high, s.clipped_dual)};
  torch::NoGradGuard no_grad;
  out.metrics["hapo_adv_redistributed"] = masked_mean(use_ent.to(in.logp.scalar_type()), in.mask);
  out.metrics["hapo_eps_low_mean"] = masked_mean(eps_l, in.mask);
  out.metrics["hapo_eps_high_mean"] = masked_mean(eps_h, in.mask);
  return out;
}

}  // namespace rlpp::algo
