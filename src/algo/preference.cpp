#include "rlpp/algo/preference.h"

#include <sstream>

#include "rlpp/algo/stats.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {

namespace {

std::string shape_of(const torch::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

// h = Σ_t m_t (log π − log π_ref) per row (B); log π_ref is a constant of the loss.
torch::Tensor implicit_reward(const std::string& where, const std::string& side, const torch::Tensor& logp,
                              const torch::Tensor& ref, const torch::Tensor& mask) {
  check_defined(where, "logp_" + side, logp);
  check_defined(where, "ref_logp_" + side, ref);
  check_same_shape(where, "logp_" + side, logp, "ref_logp_" + side, ref);
  core::require(logp.dim() == 2, where + ": logp_" + side + " must be (B, L), got " + shape_of(logp));
  torch::Tensor d = logp - ref.detach();
  if (mask.defined()) {
    check_same_shape(where, "logp_" + side, logp, "mask_" + side, mask);
    d = d * mask.to(d.scalar_type());
  }
  return d.sum(1);
}

// (h_w, h_l), each (B), checked to pair up.
std::pair<torch::Tensor, torch::Tensor> pair_rewards(const std::string& where, const PreferenceInput& in) {
  torch::Tensor hw = implicit_reward(where, "chosen", in.logp_chosen, in.ref_logp_chosen, in.mask_chosen);
  torch::Tensor hl = implicit_reward(where, "rejected", in.logp_rejected, in.ref_logp_rejected, in.mask_rejected);
  core::require(hw.size(0) == hl.size(0) && hw.size(0) > 0,
                where + ": chosen and rejected must have the same number of pairs (> 0), got " +
                    std::to_string(hw.size(0)) + " and " + std::to_string(hl.size(0)));
  return {hw, hl};
}

void add_reward_metrics(PreferenceOutput& out, const torch::Tensor& rw, const torch::Tensor& rl) {
  torch::NoGradGuard ng;
  out.metrics[metric::kRewardChosen] = rw.detach().mean();
  out.metrics[metric::kRewardRejected] = rl.detach().mean();
  out.metrics[metric::kRewardMargin] = (rw - rl).detach().mean();
  out.metrics[metric::kRewardAccuracy] = (rw > rl).to(torch::kFloat).mean();
}

}  // namespace

void DpoOptions::bind(core::Binder& b) {
  b.num("beta", beta, "DPO inverse temperature beta", core::Bounds::positive());
  b.num("label_smoothing", label_smoothing, "probability that a preference label is flipped (cDPO)",
        core::Bounds{0.0, 0.5, false, true});
}

void IpoOptions::bind(core::Binder& b) {
  b.num("beta", beta, "IPO regularisation; target log-ratio margin 1/(2 beta)", core::Bounds::positive());
}

PreferenceOutput dpo_loss(const PreferenceInput& in, const DpoOptions& opts) {
  core::require(opts.beta > 0, "dpo: beta must be > 0, got " + std::to_string(opts.beta));
  core::require(opts.label_smoothing >= 0 && opts.label_smoothing < 0.5,
                "dpo: label_smoothing must be in [0, 0.5), got " + std::to_string(opts.label_smoothing));
  auto [hw, hl] = pair_rewards("dpo", in);
  const torch::Tensor z = opts.beta * (hw - hl);  // (B)
  // −log σ(z) = softplus(−z), stable for any z.
  torch::Tensor per_pair = (1.0 - opts.label_smoothing) * torch::softplus(-z);
  if (opts.label_smoothing > 0) per_pair = per_pair + opts.label_smoothing * torch::softplus(z);
  PreferenceOutput out;
  out.loss = per_pair.mean();
  add_reward_metrics(out, opts.beta * hw, opts.beta * hl);
  return out;
}

PreferenceOutput ipo_loss(const PreferenceInput& in, const IpoOptions& opts) {
  core::require(opts.beta > 0, "ipo: beta must be > 0, got " + std::to_string(opts.beta));
  auto [hw, hl] = pair_rewards("ipo", in);
  const torch::Tensor gap = (hw - hl) - 1.0 / (2.0 * opts.beta);
  PreferenceOutput out;
  out.loss = (gap * gap).mean();
  add_reward_metrics(out, opts.beta * hw, opts.beta * hl);
  return out;
}

PreferenceOutput bradley_terry_loss(const torch::Tensor& r_chosen, const torch::Tensor& r_rejected) {
  check_defined("bradley_terry", "r_chosen", r_chosen);
  check_defined("bradley_terry", "r_rejected", r_rejected);
  check_same_shape("bradley_terry", "r_chosen", r_chosen, "r_rejected", r_rejected);
  core::require(r_chosen.dim() == 1 && r_chosen.size(0) > 0,
                "bradley_terry: rewards must be (B) with B > 0, got " + shape_of(r_chosen));
  PreferenceOutput out;
  out.loss = torch::softplus(-(r_chosen - r_rejected)).mean();
  torch::NoGradGuard ng;
  out.metrics[metric::kRewardMargin] = (r_chosen - r_rejected).detach().mean();
  out.metrics[metric::kRewardAccuracy] = (r_chosen > r_rejected).to(torch::kFloat).mean();
  return out;
}

int64_t divergence_point(const torch::Tensor& tokens_a, const torch::Tensor& mask_a, const torch::Tensor& tokens_b,
                         const torch::Tensor& mask_b) {
  core::require(tokens_a.dim() == 1 && tokens_b.dim() == 1 && mask_a.sizes() == tokens_a.sizes() &&
                    mask_b.sizes() == tokens_b.sizes(),
                "divergence_point: tokens and masks must be matching (L) rows, got " + shape_of(tokens_a) + "/" +
                    shape_of(mask_a) + " and " + shape_of(tokens_b) + "/" + shape_of(mask_b));
  // Compare the valid tokens in order: a left-padded or right-padded row gives the same answer.
  const torch::Tensor a = tokens_a.masked_select(mask_a.to(torch::kBool)).to(torch::kCPU).contiguous();
  const torch::Tensor b = tokens_b.masked_select(mask_b.to(torch::kBool)).to(torch::kCPU).contiguous();
  const int64_t n = std::min(a.size(0), b.size(0));
  const int64_t* pa = a.data_ptr<int64_t>();
  const int64_t* pb = b.data_ptr<int64_t>();
  int64_t t = 0;
  while (t < n && pa[t] == pb[t]) ++t;
  return t;  // in units of valid tokens
}

std::pair<torch::Tensor, torch::Tensor> divergence_masks(const torch::Tensor& tokens_chosen,
                                                         const torch::Tensor& mask_chosen,
                                                         const torch::Tensor& tokens_rejected,
                                                         const torch::Tensor& mask_rejected) {
  check_same_shape("divergence_masks", "tokens_chosen", tokens_chosen, "mask_chosen", mask_chosen);
  check_same_shape("divergence_masks", "tokens_rejected", tokens_rejected, "mask_rejected", mask_rejected);
  core::require(tokens_chosen.dim() == 2 && tokens_rejected.dim() == 2 &&
                    tokens_chosen.size(0) == tokens_rejected.size(0),
                "divergence_masks: tokens must be (B, L) with the same B, got " + shape_of(tokens_chosen) + " and " +
                    shape_of(tokens_rejected));
  torch::Tensor mc = mask_chosen.to(torch::kFloat).clone();
  torch::Tensor mr = mask_rejected.to(torch::kFloat).clone();
  for (int64_t i = 0; i < tokens_chosen.size(0); ++i) {
    const int64_t d = divergence_point(tokens_chosen[i], mask_chosen[i], tokens_rejected[i], mask_rejected[i]);
    // Zero the first d valid tokens of each row: rank of a valid token = cumsum(mask) − 1.
    for (torch::Tensor* m : {&mc, &mr}) {
      torch::Tensor row = (*m)[i];
      const torch::Tensor rank = row.cumsum(0) - 1;
      row.mul_((rank >= d).to(torch::kFloat));
    }
  }
  return {mc, mr};
}

}  // namespace rlpp::algo
