#include "rlpp/algo/selector.h"

#include "common.h"
#include "rlpp/algo/capo.h"
#include "rlpp/algo/d3s.h"
#include "rlpp/algo/dynamic_sampling.h"
#include "rlpp/algo/entropy.h"
#include "rlpp/algo/m2po.h"
#include "rlpp/algo/off_policy.h"
#include "rlpp/algo/overlong.h"

namespace rlpp::algo {

namespace {

// The 80/20 top-entropy mask (arXiv 2506.01939) as a selector: keeps the ρ highest-entropy tokens.
SelectionOutput top_entropy_select(const SelectionInput& in, const TopEntropyOptions& opts) {
  const std::string who = "top_entropy";
  check_defined(who, "mask", in.mask);
  selection::check_tokens(who, "entropy", in.entropy, in.mask);
  SelectionOutput out = selection::pass_through(in, selection::batch_rows(who, in));
  out.token_mask = top_entropy_mask(in.entropy.detach(), in.mask, opts.rho).to(in.mask.scalar_type());
  const double n = selection::valid_of(in.mask, in.mask).sum().item<double>();
  out.metrics["top_entropy/kept_tokens_frac"] = selection::scalar(n > 0 ? out.token_mask.sum().item<double>() / n : 0.0);
  return out;
}

}  // namespace

SelectionInput chain(const SelectionInput& in, const SelectionOutput& out) {
  SelectionInput next = in;
  if (out.token_mask.defined()) next.mask = out.token_mask;
  if (out.seq_rewards.defined()) next.seq_rewards = out.seq_rewards;
  return next;
}

core::Registry<SelectorFactory>& selector_registry() {
  static core::Registry<SelectorFactory> registry = [] {
    core::Registry<SelectorFactory> r("selector");
    r.add("dynamic_sampling", function_selector<DynamicSamplingOptions, &dynamic_sampling_select>(),
          "drop groups whose rewards are all equal (DAPO, arXiv 2503.14476)");
    r.add("overlong_shaping", function_selector<OverlongOptions, &overlong_shaping_select>(),
          "soft overlong punishment added to R (DAPO, arXiv 2503.14476)");
    r.add("overlong_mask", function_selector<OverlongMaskOptions, &overlong_mask_select>(),
          "mask truncated responses (DAPO overlong filtering, arXiv 2503.14476)");
    r.add("d3s_sample", function_selector<D3sSampleOptions, &d3s_sample_select>(),
          "keep each group's maximum-variance subset, scheduled (D3S, arXiv 2509.22115)");
    r.add("d3s_token", function_selector<D3sTokenOptions, &d3s_token_select>(),
          "keep the tokens with the largest |A|*H, scheduled (D3S, arXiv 2509.22115)");
    r.add("capo", function_selector<CapoOptions, &capo_select>(),
          "reject tokens whose modelled last-layer step leaves a trust region (CAPO, arXiv 2510.00819; differs: an SGD step model, not Adam's; docs/objectives.md)");
    r.add("top_entropy", function_selector<TopEntropyOptions, &top_entropy_select>(),
          "keep the top rho highest-entropy tokens (80/20, arXiv 2506.01939)");
    r.add("tis_token", function_selector<TisOptions, &tis_token_select>(),
          "token weights min(r, cap), r = learner/behaviour ratio");
    r.add("tis_sequence", function_selector<TisOptions, &tis_sequence_select>(),
          "sequence weights min(rho, cap), rho = product or geometric mean of token ratios");
    r.add("ratio_mask_token", function_selector<RatioMaskOptions, &ratio_mask_token_select>(),
          "mask tokens whose learner/behaviour ratio is outside [lo, hi]");
    r.add("ratio_mask_sequence", function_selector<RatioMaskOptions, &ratio_mask_sequence_select>(),
          "mask responses whose sequence ratio is outside [lo, hi]");
    r.add("m2po", function_selector<M2poOptions, &m2po_select>(),
          "mask the largest (log r)^2 tokens until the batch's mean (log r)^2 <= tau (M2PO, arXiv 2510.01161)");
    return r;
  }();
  return registry;
}

std::vector<std::pair<std::string, std::string>> list_selectors() { return listing(selector_registry()); }

}  // namespace rlpp::algo
