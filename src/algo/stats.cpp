#include "rlpp/algo/stats.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "rlpp/core/error.h"

namespace rlpp::algo {

static std::string shape_string(const torch::Tensor& t) {
  if (!t.defined()) return "undefined";
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

void check_defined(const std::string& where, const std::string& name, const torch::Tensor& t) {
  core::require(t.defined(), where + ": " + name + " is required");
}

void check_same_shape(const std::string& where, const std::string& name_a, const torch::Tensor& a,
                      const std::string& name_b, const torch::Tensor& b) {
  check_defined(where, name_a, a);
  check_defined(where, name_b, b);
  core::require(a.sizes() == b.sizes(), where + ": " + name_a + " " + shape_string(a) + " and " + name_b +
                                            " " + shape_string(b) + " must have the same shape");
}

torch::Tensor valid_positions(const torch::Tensor& like, const torch::Tensor& mask) {
  if (!mask.defined()) return torch::ones(like.sizes(), like.options().dtype(torch::kBool));
  check_same_shape("masked reduction", "data", like, "mask", mask);
  return mask > 0.5;
}

torch::Tensor masked_sum(const torch::Tensor& x, const torch::Tensor& mask) {
  if (!mask.defined()) return x.sum();
  return torch::where(valid_positions(x, mask), x, torch::zeros_like(x)).sum();
}

torch::Tensor masked_mean(const torch::Tensor& x, const torch::Tensor& mask) {
  const torch::Tensor valid = valid_positions(x, mask);
  const torch::Tensor count = valid.sum().clamp_min(1).to(x.scalar_type());
  return masked_sum(x, mask) / count;
}

torch::Tensor entropy_mean(const torch::Tensor& entropy, const torch::Tensor& mask) {
  return masked_mean(entropy, mask);
}

double quantile_of(const torch::Tensor& values, double q) {
  check_defined("quantile", "values", values);
  core::require(values.dim() == 1 && values.numel() > 0, "quantile: values must be a non-empty (N) tensor");
  core::require(q >= 0.0 && q <= 1.0, "quantile: q must be in [0, 1], got " + std::to_string(q));
  torch::NoGradGuard no_grad;
  const torch::Tensor v = values.detach().to(torch::kDouble);
  const double pos = q * static_cast<double>(v.numel() - 1);
  const auto lo = static_cast<int64_t>(std::floor(pos));
  const double frac = pos - static_cast<double>(lo);
  const double below = std::get<0>(v.kthvalue(lo + 1)).item<double>();  // kthvalue is 1-based
  if (frac == 0.0) return below;
  const double above = std::get<0>(v.kthvalue(lo + 2)).item<double>();
  return below + frac * (above - below);
}

double explained_variance(const torch::Tensor& y_pred, const torch::Tensor& y_true) {
  check_same_shape("explained_variance", "y_pred", y_pred, "y_true", y_true);
  const torch::Tensor y = y_true.detach().to(torch::kDouble).flatten();
  const torch::Tensor yhat = y_pred.detach().to(torch::kDouble).flatten();
  if (y.numel() == 0) return std::numeric_limits<double>::quiet_NaN();
  // Population variances (ddof 0); the ratio is the same for any ddof.
  const double var_y = y.var(/*unbiased=*/false).item<double>();
  if (var_y == 0.0) return std::numeric_limits<double>::quiet_NaN();
  return 1.0 - (y - yhat).var(/*unbiased=*/false).item<double>() / var_y;
}

}  // namespace rlpp::algo
