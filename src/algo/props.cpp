#include "rlpp/algo/props.h"

namespace rlpp::algo {

PropsLossOutput props_loss(const torch::Tensor& logp_phi, const torch::Tensor& logp_theta,
                           const torch::Tensor& kl, const PropsLossOptions& opts) {
  const torch::Tensor ratio = torch::exp(logp_phi - logp_theta);  // (B)
  const torch::Tensor clipped = torch::clamp(ratio, 1.0 - opts.clip_coef, 1.0 + opts.clip_coef);
  const torch::Tensor clip_loss = torch::max(ratio, clipped).mean();
  const torch::Tensor kl_mean = kl.mean();
  PropsLossOutput out;
  out.loss = clip_loss + opts.kl_coef * kl_mean;
  torch::NoGradGuard no_grad;
  out.metrics["clip_loss"] = clip_loss.detach();
  out.metrics["kl"] = kl_mean.detach();
  out.metrics["clipfrac"] = ((ratio - 1.0).abs() > opts.clip_coef).to(torch::kFloat32).mean();
  return out;
}

torch::Tensor gaussian_kl(const torch::Tensor& mean_p, const torch::Tensor& log_std_p,
                          const torch::Tensor& mean_q, const torch::Tensor& log_std_q) {
  const torch::Tensor var_p = torch::exp(2.0 * log_std_p), var_q = torch::exp(2.0 * log_std_q);
  const torch::Tensor diff = mean_p - mean_q;  // (B, A)
  return (log_std_q - log_std_p + (var_p + diff * diff) / (2.0 * var_q) - 0.5).sum(-1);
}

torch::Tensor categorical_kl(const torch::Tensor& logits_p, const torch::Tensor& logits_q) {
  const torch::Tensor lp = torch::log_softmax(logits_p, -1), lq = torch::log_softmax(logits_q, -1);
  return (torch::exp(lp) * (lp - lq)).sum(-1);
}

double sampling_error(const torch::Tensor& logp_d, const torch::Tensor& logp_theta) {
  return (logp_d - logp_theta).to(torch::kFloat64).mean().item<double>();
}

}  // namespace rlpp::algo
