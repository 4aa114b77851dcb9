#include "rlpp/algo/off_policy.h"

#include <string>

#include "common.h"

namespace rlpp::algo {

namespace {

void check_seq_ratio(const std::string& who, const std::string& seq_ratio) {
  core::require(seq_ratio == "product" || seq_ratio == "geometric_mean",
                who + ": seq_ratio must be product or geometric_mean, got '" + seq_ratio + "'");
}

// Fraction of valid tokens where `hit` holds (0 without valid tokens).
double valid_frac(const torch::Tensor& hit, const torch::Tensor& valid) {
  const double n = valid.sum().item<double>();
  return n > 0 ? (hit & valid).sum().item<double>() / n : 0.0;
}

}  // namespace

torch::Tensor off_policy_log_ratio(const torch::Tensor& logp, const torch::Tensor& logp_old, const torch::Tensor& mask,
                                   bool sequence, const std::string& seq_ratio) {
  const std::string who = sequence ? "off-policy sequence ratio" : "off-policy token ratio";
  selection::check_tokens(who, "logp", logp, mask);
  check_same_shape(who, "logp", logp, "logp_old", logp_old);
  check_seq_ratio(who, seq_ratio);
  torch::NoGradGuard no_grad;
  const torch::Tensor valid = selection::valid_of(logp, mask);  // (B, L) bool
  const torch::Tensor zero = torch::zeros({}, logp.options().dtype(torch::kDouble));
  const torch::Tensor log_r =
      torch::where(valid, logp.detach().to(torch::kDouble) - logp_old.detach().to(torch::kDouble).to(logp.device()), zero)
          .clamp(-20.0, 20.0);  // (B, L)
  if (!sequence) return log_r;
  torch::Tensor seq = log_r.sum(1, /*keepdim=*/true);  // (B, 1) Σ_t log r_t
  if (seq_ratio == "geometric_mean") seq = seq / valid.sum(1, /*keepdim=*/true).clamp_min(1).to(torch::kDouble);
  // exp of a long sum overflows; the same ±20 bound as the token ratio keeps ρ finite.
  return torch::where(valid, seq.clamp(-20.0, 20.0).expand_as(log_r), zero);
}

torch::Tensor tis_weights(const torch::Tensor& logp, const torch::Tensor& logp_old, const torch::Tensor& mask,
                          bool sequence, const TisOptions& opts) {
  core::require(opts.cap > 0, "tis: cap must be > 0, got " + std::to_string(opts.cap));
  const torch::Tensor log_r = off_policy_log_ratio(logp, logp_old, mask, sequence, opts.seq_ratio);
  const torch::Tensor valid = selection::valid_of(logp, mask);
  const torch::Tensor w = torch::where(valid, log_r.exp().clamp_max(opts.cap), torch::zeros_like(log_r));
  return w.to(logp.scalar_type());
}

torch::Tensor ratio_mask(const torch::Tensor& logp, const torch::Tensor& logp_old, const torch::Tensor& mask,
                         bool sequence, const RatioMaskOptions& opts) {
  core::require(opts.lo <= opts.hi, "ratio_mask: lo (" + std::to_string(opts.lo) + ") must be <= hi (" +
                                        std::to_string(opts.hi) + ")");
  const torch::Tensor rho = off_policy_log_ratio(logp, logp_old, mask, sequence, opts.seq_ratio).exp();
  const torch::Tensor keep = selection::valid_of(logp, mask) & (rho >= opts.lo) & (rho <= opts.hi);
  return keep.to(mask.defined() ? mask.scalar_type() : torch::kFloat);
}

namespace {

SelectionOutput tis_select(const SelectionInput& in, const TisOptions& opts, bool sequence) {
  const std::string who = sequence ? "tis_sequence" : "tis_token";
  check_defined(who, "mask", in.mask);
  check_defined(who, "logp", in.logp);
  check_defined(who, "logp_old", in.logp_old);
  SelectionOutput out = selection::pass_through(in, selection::batch_rows(who, in));
  out.token_weight = tis_weights(in.logp, in.logp_old, in.mask, sequence, opts);
  const torch::Tensor valid = selection::valid_of(in.logp, in.mask);
  const torch::Tensor rho = off_policy_log_ratio(in.logp, in.logp_old, in.mask, sequence, opts.seq_ratio).exp();
  const double n = valid.sum().item<double>();
  out.metrics["tis/capped_frac"] = selection::scalar(valid_frac(rho > opts.cap, valid));
  out.metrics["tis/mean_weight"] =
      selection::scalar(n > 0 ? out.token_weight.to(torch::kDouble).sum().item<double>() / n : 0.0);
  out.metrics["tis/mean_ratio"] =
      selection::scalar(n > 0 ? torch::where(valid, rho, torch::zeros_like(rho)).sum().item<double>() / n : 0.0);
  return out;
}

SelectionOutput ratio_mask_select(const SelectionInput& in, const RatioMaskOptions& opts, bool sequence) {
  const std::string who = sequence ? "ratio_mask_sequence" : "ratio_mask_token";
  check_defined(who, "mask", in.mask);
  check_defined(who, "logp", in.logp);
  check_defined(who, "logp_old", in.logp_old);
  SelectionOutput out = selection::pass_through(in, selection::batch_rows(who, in));
  out.token_mask = ratio_mask(in.logp, in.logp_old, in.mask, sequence, opts);
  const torch::Tensor valid = selection::valid_of(in.logp, in.mask);
  if (sequence) out.row_keep = ~(valid & (out.token_mask < 0.5)).any(1).to(torch::kCPU);
  out.metrics["ratio_mask/masked_frac"] = selection::scalar(valid_frac(out.token_mask < 0.5, valid));
  return out;
}

}  // namespace

SelectionOutput tis_token_select(const SelectionInput& in, const TisOptions& opts) { return tis_select(in, opts, false); }
SelectionOutput tis_sequence_select(const SelectionInput& in, const TisOptions& opts) {
  return tis_select(in, opts, true);
}
SelectionOutput ratio_mask_token_select(const SelectionInput& in, const RatioMaskOptions& opts) {
  return ratio_mask_select(in, opts, false);
}
SelectionOutput ratio_mask_sequence_select(const SelectionInput& in, const RatioMaskOptions& opts) {
  return ratio_mask_select(in, opts, true);
}

}  // namespace rlpp::algo
