// CAPO token filter (arXiv 2510.00819); formulas in include/rlpp/algo/capo.h.
#include "rlpp/algo/capo.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "common.h"

namespace rlpp::algo {
namespace {

const std::string kWho = "capo";

// `name` (B, L) like the advantages, detached, in double, 0 at masked positions.
torch::Tensor tokens_double(const std::string& name, const torch::Tensor& t, const torch::Tensor& like,
                            const torch::Tensor& valid) {
  check_same_shape(kWho, name, t, "advantages", like);
  const torch::Tensor zero = torch::zeros({}, torch::kDouble);
  return torch::where(valid, t.detach().to(torch::kCPU).to(torch::kDouble), zero);
}

}  // namespace

CapoTokenStats capo_token_stats(const torch::Tensor& logits, const torch::Tensor& actions) {
  const std::string who = "capo_token_stats";
  check_defined(who, "logits", logits);
  check_defined(who, "actions", actions);
  core::require(logits.dim() == 3, who + ": logits must be (B, L, V), got " + selection::shape_of(logits));
  core::require(actions.dim() == 2 && actions.size(0) == logits.size(0) && actions.size(1) == logits.size(1),
                who + ": actions must be (B, L) like the logits' first two dims, got " + selection::shape_of(actions));
  core::require(!actions.is_floating_point(), who + ": actions must be an integer tensor of token ids");
  torch::NoGradGuard no_grad;
  const int64_t B = logits.size(0), L = logits.size(1), V = logits.size(2);
  const torch::Tensor a = actions.to(torch::kCPU).to(torch::kLong);  // (B, L)
  core::require(a.numel() == 0 || (a.min().item<int64_t>() >= 0 && a.max().item<int64_t>() < V),
                who + ": actions must be token ids in [0, " + std::to_string(V) + ")");
  CapoTokenStats s;
  s.p_action = torch::empty({B, L}, torch::kDouble);
  s.sum_p2 = torch::empty({B, L}, torch::kDouble);
  s.sum_p3 = torch::empty({B, L}, torch::kDouble);
  // Row by row: one (L, V) double softmax at a time, whatever B is.
  for (int64_t i = 0; i < B; ++i) {
    const torch::Tensor p = torch::softmax(logits[i].detach().to(torch::kCPU).to(torch::kDouble), -1);  // (L, V)
    s.p_action[i].copy_(p.gather(1, a[i].unsqueeze(1)).squeeze(1));
    const torch::Tensor p2 = p * p;  // (L, V)
    s.sum_p2[i].copy_(p2.sum(1));
    s.sum_p3[i].copy_((p2 * p).sum(1));
  }
  return s;
}

CapoTokenStats capo_stats_from_entropy(const torch::Tensor& p_action, const torch::Tensor& entropy) {
  check_defined(kWho, "p_action", p_action);
  check_defined(kWho, "entropy", entropy);
  check_same_shape(kWho, "p_action", p_action, "entropy", entropy);
  torch::NoGradGuard no_grad;
  CapoTokenStats s;
  s.p_action = p_action.detach().to(torch::kDouble);
  const torch::Tensor h = entropy.detach().to(s.p_action.device()).to(torch::kDouble).clamp_min(0);
  s.sum_p2 = torch::maximum(s.p_action.square(), torch::exp(-h));
  s.sum_p3 = torch::maximum(s.p_action.pow(3), s.sum_p2.square());
  return s;
}

CapoShifts capo_shifts(const CapoInput& in, double step_size) {
  selection::check_tokens(kWho, "advantages", in.advantages, in.mask);
  check_defined(kWho, "p_action", in.p_action);
  core::require(in.sum_p2.defined() == in.sum_p3.defined(), kWho + ": give both sum_p2 and sum_p3, or neither");
  core::require(std::isfinite(step_size) && step_size >= 0,
                kWho + ": step_size must be >= 0, got " + std::to_string(step_size));
  torch::NoGradGuard no_grad;
  const torch::Tensor valid = selection::valid_of(in.advantages, in.mask).to(torch::kCPU);  // (B, L) bool
  const torch::Tensor a = tokens_double("advantages", in.advantages, in.advantages, valid);  // (B, L)
  const torch::Tensor pa = tokens_double("p_action", in.p_action, in.advantages, valid);     // (B, L)
  core::require(((pa >= 0) & (pa <= 1 + 1e-9)).all().item<bool>(),
                kWho + ": p_action must be a probability in [0, 1] at valid tokens");
  const torch::Tensor s2 = in.sum_p2.defined() ? tokens_double("sum_p2", in.sum_p2, in.advantages, valid) : pa * pa;
  const torch::Tensor s3 = in.sum_p3.defined() ? tokens_double("sum_p3", in.sum_p3, in.advantages, valid) : pa * pa * pa;
  const torch::Tensor h2 = in.hidden_sq_norm.defined()
                               ? tokens_double("hidden_sq_norm", in.hidden_sq_norm, in.advantages, valid)
                               : torch::ones_like(a);
  core::require((h2 >= 0).all().item<bool>(), kWho + ": hidden_sq_norm must be >= 0");

  const torch::Tensor s = step_size * h2;                             // (B, L) logit step η·‖h‖²
  const torch::Tensor v2 = (1.0 - 2.0 * pa + s2).clamp_min(0);         // ‖v‖²
  const torch::Tensor piv = pa - s2;                                   // πᵀv
  const torch::Tensor pv2 = pa * (1.0 - pa).square() + s3 - pa.pow(3);  // Σ_j π_j v_j²
  const torch::Tensor vfv = (pv2 - piv.square()).clamp_min(0);          // vᵀF v (F is PSD)
  const torch::Tensor a2 = a.square();
  const torch::Tensor zero = torch::zeros({}, torch::kDouble);
  CapoShifts out;
  out.objective = torch::where(valid, s * a2 * v2 + 0.5 * s.square() * a2 * a * (v2.square() - vfv), zero);
  out.policy = torch::where(valid, 0.5 * s.square() * a2 * v2.square(), zero);
  core::require(torch::isfinite(out.objective).all().item<bool>() && torch::isfinite(out.policy).all().item<bool>(),
                kWho + ": advantages and token statistics must be finite at valid tokens");
  return out;
}

CapoResult capo_mask(const CapoInput& in, const CapoOptions& opts) {
  core::require(opts.budget >= 0, kWho + ": budget must be >= 0, got " + std::to_string(opts.budget));
  core::require(opts.hessian_threshold >= 0,
                kWho + ": hessian_threshold must be >= 0, got " + std::to_string(opts.hessian_threshold));
  core::require(opts.max_reject_frac >= 0 && opts.max_reject_frac <= 1,
                kWho + ": max_reject_frac must be in [0, 1], got " + std::to_string(opts.max_reject_frac));
  const CapoShifts m = capo_shifts(in, opts.step_size);                                      // (B, L) double
  const torch::Tensor valid = selection::valid_of(in.advantages, in.mask).to(torch::kCPU);  // (B, L) bool
  const int64_t n = valid.sum().item<int64_t>();
  const auto out_type = in.mask.defined() ? in.mask.scalar_type() : torch::kFloat;
  const auto out_device = in.mask.defined() ? in.mask.device() : in.advantages.device();
  CapoResult res;
  if (n == 0) {
    res.keep = valid.to(out_device).to(out_type);
    return res;
  }
  const torch::Tensor bad_f = valid & (m.policy >= opts.budget);  // (B, L)
  const torch::Tensor in_h = opts.hessian_symmetric ? (m.objective > -opts.hessian_threshold)
                                                    : (m.objective >= 0);
  const torch::Tensor bad_h = valid & ~(in_h & (m.objective < opts.hessian_threshold));  // (B, L)
  torch::Tensor reject = bad_f | bad_h;                                                   // (B, L)
  const auto cap = static_cast<int64_t>(std::floor(opts.max_reject_frac * static_cast<double>(n) + 1e-9));
  if (reject.sum().item<int64_t>() > cap) {
    // Worst violations first: the larger of the two shifts relative to its threshold (a zero
    // threshold makes every violation of it infinitely bad).
    const auto relative = [&](const torch::Tensor& shift, const torch::Tensor& bad, double threshold) {
      if (threshold > 0) return shift / threshold;
      return torch::where(bad, torch::full({}, std::numeric_limits<double>::infinity(), torch::kDouble),
                          torch::zeros({}, torch::kDouble));
    };
    const torch::Tensor worst =
        torch::maximum(relative(m.policy, bad_f, opts.budget), relative(m.objective.abs(), bad_h, opts.hessian_threshold));
    const torch::Tensor key = torch::where(reject, worst, torch::full({}, -1.0, torch::kDouble)).flatten();  // (BL)
    const torch::Tensor order = std::get<1>(torch::sort(key, /*stable=*/true, /*dim=*/0, /*descending=*/true));
    torch::Tensor capped = torch::zeros({key.size(0)}, torch::kBool);
    capped.index_fill_(0, order.slice(0, 0, cap), true);
    reject = capped.reshape(valid.sizes());
  }
  const torch::Tensor keep = valid & ~reject;
  const double nd = static_cast<double>(n);
  res.keep = keep.to(out_device).to(out_type);
  res.rejected = reject.sum().item<int64_t>();
  res.rejected_policy = (reject & bad_f).sum().item<int64_t>();
  res.rejected_objective = (reject & bad_h).sum().item<int64_t>();
  res.predicted_kl_before = m.policy.sum().item<double>() / nd;
  res.predicted_kl_after = torch::where(keep, m.policy, torch::zeros({}, torch::kDouble)).sum().item<double>() / nd;
  res.objective_shift_mean = m.objective.sum().item<double>() / nd;
  return res;
}

SelectionOutput capo_select(const SelectionInput& in, const CapoOptions& opts) {
  check_defined(kWho, "mask", in.mask);
  core::require(in.logp.defined() || in.logp_old.defined(),
                kWho + ": needs logp (or logp_old): the sampled tokens' log-probabilities");
  SelectionOutput out = selection::pass_through(in, selection::batch_rows(kWho, in));
  CapoInput ci;
  ci.advantages = in.advantages;
  ci.mask = in.mask;
  const torch::Tensor lp = in.logp.defined() ? in.logp : in.logp_old;
  selection::check_tokens(kWho, in.logp.defined() ? "logp" : "logp_old", lp, in.mask);
  // Junk at masked positions must not overflow exp(): select first.
  ci.p_action = torch::where(in.mask > 0.5, lp.detach().to(torch::kDouble), torch::zeros({}, torch::kDouble))
                    .clamp_max(0.0)
                    .exp();
  if (in.entropy.defined()) {
    selection::check_tokens(kWho, "entropy", in.entropy, in.mask);
    const torch::Tensor h = torch::where(in.mask > 0.5, in.entropy.detach().to(torch::kDouble), torch::zeros({}, torch::kDouble));
    const CapoTokenStats st = capo_stats_from_entropy(ci.p_action, h);
    ci.sum_p2 = st.sum_p2;
    ci.sum_p3 = st.sum_p3;
  }
  const CapoResult r = capo_mask(ci, opts);
  out.token_mask = r.keep;
  const double n = selection::valid_of(in.mask, in.mask).sum().item<double>();
  const auto frac = [n](int64_t k) { return n > 0 ? static_cast<double>(k) / n : 0.0; };
  out.metrics["capo/reject_frac"] = selection::scalar(frac(r.rejected));
  out.metrics["capo/reject_frac_policy"] = selection::scalar(frac(r.rejected_policy));
  out.metrics["capo/reject_frac_objective"] = selection::scalar(frac(r.rejected_objective));
  out.metrics["capo/predicted_kl_before"] = selection::scalar(r.predicted_kl_before);
  out.metrics["capo/predicted_kl_after"] = selection::scalar(r.predicted_kl_after);
  out.metrics["capo/objective_shift_mean"] = selection::scalar(r.objective_shift_mean);
  return out;
}

}  // namespace rlpp::algo
