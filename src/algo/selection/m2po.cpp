#include "rlpp/algo/m2po.h"

#include <string>

#include "common.h"

namespace rlpp::algo {

torch::Tensor m2po_mask(const torch::Tensor& logp, const torch::Tensor& logp_old, const torch::Tensor& mask,
                        const M2poOptions& opts) {
  const torch::Tensor valid = mask.to(torch::kFloat64) > 0.5;                                          // (B, L)
  const torch::Tensor d = (logp.to(torch::kFloat64) - logp_old.to(torch::kFloat64)).pow(2);           // (B, L)
  const torch::Tensor flat_d = torch::where(valid, d, torch::zeros_like(d)).flatten();                 // (B·L)
  const torch::Tensor flat_valid = valid.flatten();
  const int64_t n = flat_valid.sum().item<int64_t>();
  torch::Tensor keep = flat_valid.clone();
  if (n > 0) {
    // Valid tokens by (log r)² descending (stable: ties in row-major order); remove the first k.
    const torch::Tensor idx = flat_valid.nonzero().select(1, 0);                                       // (n)
    const torch::Tensor vals = flat_d.index_select(0, idx);
    const torch::Tensor order = std::get<1>(vals.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
    const auto sorted = vals.index_select(0, order).contiguous();
    const double* v = sorted.data_ptr<double>();
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += v[i];
    int64_t k = 0;
    while (k < n && sum > opts.tau * static_cast<double>(n - k)) sum -= v[k++];
    if (k > 0) keep.index_fill_(0, idx.index_select(0, order.slice(0, 0, k)), false);
  }
  return keep.view(mask.sizes()).to(mask.scalar_type());
}

SelectionOutput m2po_select(const SelectionInput& in, const M2poOptions& opts) {
  const std::string who = "m2po";
  check_defined(who, "mask", in.mask);
  selection::check_tokens(who, "logp", in.logp, in.mask);
  selection::check_tokens(who, "logp_old", in.logp_old, in.mask);
  SelectionOutput out = selection::pass_through(in, selection::batch_rows(who, in));
  out.token_mask = m2po_mask(in.logp, in.logp_old, in.mask, opts);
  const torch::Tensor valid = in.mask.to(torch::kFloat64);
  const torch::Tensor kept = out.token_mask.to(torch::kFloat64);
  const torch::Tensor d = (in.logp.to(torch::kFloat64) - in.logp_old.to(torch::kFloat64)).pow(2);
  const double n = valid.sum().item<double>(), nk = kept.sum().item<double>();
  out.metrics["m2po/masked_frac"] = selection::scalar(n > 0 ? 1.0 - nk / n : 0.0);
  out.metrics["m2po/m2"] = selection::scalar(n > 0 ? (d * valid).sum().item<double>() / n : 0.0);
  out.metrics["m2po/m2_kept"] = selection::scalar(nk > 0 ? (d * kept).sum().item<double>() / nk : 0.0);
  return out;
}

}  // namespace rlpp::algo
