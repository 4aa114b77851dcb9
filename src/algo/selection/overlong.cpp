#include "rlpp/algo/overlong.h"

#include <algorithm>
#include <string>

#include "common.h"

namespace rlpp::algo {

namespace {

void check_options(const OverlongOptions& o) {
  core::require(o.cache_length >= 1 && o.cache_length <= o.max_length,
                "overlong_shaping: cache_length must be in [1, max_length = " + std::to_string(o.max_length) +
                    "], got " + std::to_string(o.cache_length));
  core::require(o.factor >= 0, "overlong_shaping: factor must be >= 0, got " + std::to_string(o.factor));
}

// |y_i| (B): `lengths` when given, else the mask's row sums.
torch::Tensor lengths_of(const std::string& who, const SelectionInput& in, int64_t B) {
  if (in.lengths.defined()) {
    selection::check_rows(who, "lengths", in.lengths, B);
    return in.lengths;
  }
  check_defined(who, "lengths (or mask)", in.mask);
  return valid_positions(in.mask, in.mask).sum(1);
}

}  // namespace

torch::Tensor overlong_penalty(const torch::Tensor& lengths, const OverlongOptions& opts) {
  check_options(opts);
  check_defined("overlong_penalty", "lengths", lengths);
  core::require(lengths.dim() == 1, "overlong_penalty: lengths must be (B), got " + selection::shape_of(lengths));
  const double start = static_cast<double>(opts.max_length - opts.cache_length);  // L_max − L_cache
  const torch::Tensor y = lengths.detach().to(torch::kDouble);
  const torch::Tensor pen = -opts.factor * ((y - start) / static_cast<double>(opts.cache_length)).clamp(0.0, 1.0);
  return pen.to(lengths.is_floating_point() ? lengths.scalar_type() : torch::kFloat);
}

torch::Tensor overlong_truncation_mask(const torch::Tensor& mask, const torch::Tensor& truncated) {
  const std::string who = "overlong_mask";
  check_defined(who, "mask", mask);
  core::require(mask.dim() == 2, who + ": mask must be (B, L), got " + selection::shape_of(mask));
  selection::check_rows(who, "truncated", truncated, mask.size(0));
  const torch::Tensor keep = (truncated.to(mask.device()).to(torch::kDouble) < 0.5).unsqueeze(1);  // (B, 1)
  return torch::where(keep & (mask > 0.5), torch::ones({}, mask.options()), torch::zeros({}, mask.options()));
}

SelectionOutput overlong_shaping_select(const SelectionInput& in, const OverlongOptions& opts) {
  const std::string who = "overlong_shaping";
  const int64_t B = selection::reward_rows(who, in);
  const torch::Tensor pen = overlong_penalty(lengths_of(who, in, B).to(torch::kDouble), opts);  // (B) double
  SelectionOutput out = selection::pass_through(in, B);
  out.seq_rewards = (in.seq_rewards.to(torch::kDouble) + pen.to(in.seq_rewards.device())).to(in.seq_rewards.scalar_type());
  const double n = static_cast<double>(std::max<int64_t>(B, 1));
  out.metrics["overlong/penalized_frac"] = selection::scalar((pen < 0).sum().item<double>() / n);
  out.metrics["overlong/mean_penalty"] = selection::scalar(pen.sum().item<double>() / n);
  return out;
}

SelectionOutput overlong_mask_select(const SelectionInput& in, const OverlongMaskOptions&) {
  const std::string who = "overlong_mask";
  check_defined(who, "mask", in.mask);
  const int64_t B = selection::batch_rows(who, in);
  selection::check_rows(who, "truncated", in.truncated, B);
  SelectionOutput out = selection::pass_through(in, B);
  out.row_keep = in.truncated.to(torch::kCPU).to(torch::kDouble) < 0.5;
  out.token_mask = overlong_truncation_mask(in.mask, in.truncated);
  const double n = static_cast<double>(std::max<int64_t>(B, 1));
  out.metrics["overlong/truncated_frac"] = selection::scalar((~out.row_keep).sum().item<double>() / n);
  return out;
}

}  // namespace rlpp::algo
