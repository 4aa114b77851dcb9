#include "rlpp/algo/value_loss.h"

#include "rlpp/algo/stats.h"

namespace rlpp::algo {

torch::Tensor value_token_loss(const torch::Tensor& values, const torch::Tensor& returns,
                               const torch::Tensor& values_old, const ValueLossOptions& opts) {
  check_same_shape("value_loss", "values", values, "returns", returns);
  const torch::Tensor unclipped = (values - returns).square();
  if (!opts.clip) return 0.5 * unclipped;
  check_same_shape("value_loss (clipped)", "values", values, "values_old", values_old);
  const torch::Tensor v_clipped = values_old + (values - values_old).clamp(-opts.clip_coef, opts.clip_coef);
  return 0.5 * torch::max(unclipped, (v_clipped - returns).square());
}

torch::Tensor value_loss(const torch::Tensor& values, const torch::Tensor& returns,
                         const torch::Tensor& values_old, const ValueLossOptions& opts,
                         const torch::Tensor& mask) {
  return masked_mean(value_token_loss(values, returns, values_old, opts), mask);
}

}  // namespace rlpp::algo
