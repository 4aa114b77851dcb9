#include "rlpp/algo/mismatch.h"

#include <algorithm>
#include <cmath>

#include "rlpp/algo/stats.h"

namespace rlpp::algo {

MismatchSums mismatch_sums(const torch::Tensor& logp_recorded, const torch::Tensor& logp_learner,
                           const torch::Tensor& mask, double threshold) {
  check_same_shape("mismatch meter", "logp_recorded", logp_recorded, "logp_learner", logp_learner);
  check_same_shape("mismatch meter", "logp_recorded", logp_recorded, "mask", mask);
  torch::NoGradGuard no_grad;
  const torch::Tensor on = mask.to(torch::kFloat64) > 0;  // (B, N) bool
  const torch::Tensor d = (logp_learner.to(torch::kFloat64) - logp_recorded.to(torch::kFloat64)).masked_select(on);
  MismatchSums s;
  s.tokens = static_cast<double>(d.numel());
  if (d.numel() == 0) return s;
  const torch::Tensor a = d.abs();
  s.abs_sum = a.sum().item<double>();
  s.abs_max = a.max().item<double>();
  s.k3_sum = (d.exp() - 1.0 - d).sum().item<double>();
  s.above = (a > threshold).sum().item<double>();
  return s;
}

MismatchSums merge(MismatchSums a, const MismatchSums& b) {
  a.tokens += b.tokens;
  a.abs_sum += b.abs_sum;
  a.k3_sum += b.k3_sum;
  a.above += b.above;
  a.abs_max = std::max(a.abs_max, b.abs_max);
  return a;
}

std::vector<std::pair<std::string, double>> mismatch_metrics(const MismatchSums& s) {
  const double nan = std::nan(""), n = s.tokens;
  return {
      {metric::kMismatchMeanAbs, n > 0 ? s.abs_sum / n : nan},
      {metric::kMismatchMaxAbs, n > 0 ? s.abs_max : nan},
      {metric::kMismatchK3, n > 0 ? s.k3_sum / n : nan},
      {metric::kMismatchFracAbove, n > 0 ? s.above / n : nan},
      {metric::kMismatchTokens, n},
  };
}

}  // namespace rlpp::algo
