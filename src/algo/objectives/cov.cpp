// Clip-Cov and KL-Cov (arXiv 2505.22617). Formulas: include/rlpp/algo/objectives/cov.h.
#include "rlpp/algo/objectives/cov.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "rlpp/algo/ratio.h"
#include "rlpp/algo/stats.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

// k = max(1, ⌊fraction·N⌋), 0 without valid tokens.
int64_t selection_size(double fraction, int64_t num_valid) {
  if (num_valid == 0) return 0;
  return std::max<int64_t>(1, static_cast<int64_t>(std::floor(fraction * static_cast<double>(num_valid))));
}

// PPO clip of clip_cov's untouched tokens.
ClippedSurrogate ppo_surrogate(const PolicyLossInput& in, const ClipCovOptions& opts, const torch::Tensor& r) {
  return clipped_surrogate(r, in.advantages, constant_like(r, 1.0 - opts.eps_low), constant_like(r, 1.0 + opts.eps_high),
                           torch::Tensor());
}

}  // namespace

CovCentre cov_centre(const PolicyLossInput& in) {
  torch::NoGradGuard no_grad;
  const torch::Tensor valid = valid_positions(in.logp, in.mask);
  CovCentre c;
  c.num_valid = valid.sum().item<int64_t>();
  if (c.num_valid == 0) return c;
  c.mean_adv = in.advantages.detach().masked_select(valid).to(torch::kDouble).mean().item<double>();
  c.mean_logp = in.logp.detach().masked_select(valid).to(torch::kDouble).mean().item<double>();
  return c;
}

torch::Tensor token_covariance(const PolicyLossInput& in, const CovCentre& centre) {
  torch::NoGradGuard no_grad;
  return (in.advantages.detach().to(torch::kDouble) - centre.mean_adv) *
         (in.logp.detach().to(torch::kDouble) - centre.mean_logp);
}

ClipCovStats clip_cov_stats(const PolicyLossInput& in, const ClipCovOptions& opts, at::Generator& gen) {
  check_policy_input("clip_cov", in, /*needs_logp_old=*/true);
  core::require(opts.lb < opts.ub, "objective clip_cov: lb must be < ub");
  torch::NoGradGuard no_grad;
  ClipCovStats s;
  s.centre = cov_centre(in);
  const torch::Tensor cov = token_covariance(in, s.centre);
  const ClippedSurrogate ppo = ppo_surrogate(in, opts, ratio(in.logp.detach(), in.logp_old));
  const torch::Tensor already = ppo.clipped_low | ppo.clipped_high;
  const torch::Tensor candidate =
      valid_positions(in.logp, in.mask) & already.logical_not() & (cov > opts.lb) & (cov < opts.ub);  // (B, L)
  const int64_t k = std::min(selection_size(opts.ratio, s.centre.num_valid), candidate.sum().item<int64_t>());
  s.selected = torch::zeros(candidate.sizes(), candidate.options());
  if (k == 0) return s;
  // A uniform random k-subset of the candidates: the k largest of uniform keys drawn for them.
  const torch::Tensor index = candidate.flatten().nonzero().squeeze(1).cpu();  // (n_candidates)
  const torch::Tensor keys = torch::rand({index.size(0)}, gen, torch::TensorOptions().dtype(torch::kDouble));
  const torch::Tensor chosen = index.index_select(0, std::get<1>(keys.topk(k)));
  s.selected = torch::zeros({candidate.numel()}, torch::kBool).index_fill_(0, chosen, true)
                   .view(candidate.sizes()).to(candidate.device());
  return s;
}

ObjectiveOutput clip_cov_loss(const PolicyLossInput& in, const ClipCovOptions& opts, const ClipCovStats& stats) {
  check_policy_input("clip_cov", in, /*needs_logp_old=*/true);
  const torch::Tensor selected = rows_of_global("clip_cov", stats.selected, in).to(in.logp.device());  // (B, L)
  const torch::Tensor r = ratio(in.logp, in.logp_old);
  const ClippedSurrogate s = ppo_surrogate(in, opts, r);
  const torch::Tensor loss = torch::where(selected, torch::zeros_like(s.loss), s.loss);
  ObjectiveOutput out{mask_token_loss(loss, in.mask), policy_metrics(in, s.clipped_low, s.clipped_high)};
  torch::NoGradGuard no_grad;
  out.metrics["cov_frac"] = masked_mean(selected.to(in.logp.scalar_type()), in.mask);
  return out;
}

KlCovStats kl_cov_stats(const PolicyLossInput& in, const KlCovOptions& opts) {
  check_policy_input("kl_cov", in, /*needs_logp_old=*/true);
  torch::NoGradGuard no_grad;
  KlCovStats s;
  s.centre = cov_centre(in);
  const int64_t k = selection_size(opts.k_ratio, s.centre.num_valid);
  if (k == 0) {
    s.threshold = std::numeric_limits<double>::infinity();
    return s;
  }
  const torch::Tensor cov = token_covariance(in, s.centre).masked_select(valid_positions(in.logp, in.mask));
  s.threshold = std::get<0>(cov.topk(k)).min().item<double>();
  return s;
}

ObjectiveOutput kl_cov_loss(const PolicyLossInput& in, const KlCovOptions& opts, const KlCovStats& stats) {
  check_policy_input("kl_cov", in, /*needs_logp_old=*/true);
  const torch::Tensor selected = token_covariance(in, stats.centre) >= stats.threshold;  // (B, L)
  const torch::Tensor lr = log_ratio(in.logp, in.logp_old);                             // (B, L)
  const torch::Tensor pg = -lr.exp() * in.advantages.detach();
  const torch::Tensor loss = torch::where(selected, pg + opts.beta * lr.abs(), pg);
  ObjectiveOutput out{mask_token_loss(loss, in.mask), policy_metrics(in)};
  torch::NoGradGuard no_grad;
  out.metrics["cov_frac"] = masked_mean(selected.to(in.logp.scalar_type()), in.mask);
  return out;
}

ClipCovObjective::ClipCovObjective(ClipCovOptions opts)
    : opts_(opts), gen_(at::detail::createCPUGenerator(static_cast<uint64_t>(opts.seed))) {}

void ClipCovObjective::prepare(const PolicyLossInput& global_batch) {
  stats_ = std::make_shared<ClipCovStats>(clip_cov_stats(global_batch, opts_, gen_));
}

ObjectiveOutput ClipCovObjective::compute(const PolicyLossInput& in) const {
  if (stats_) return clip_cov_loss(in, opts_, *stats_);
  return clip_cov_loss(in, opts_, clip_cov_stats(in, opts_, gen_));
}

}  // namespace rlpp::algo
