#include "rlpp/algo/normalize.h"

#include "rlpp/algo/stats.h"

namespace rlpp::algo {

torch::Tensor normalize_advantages(const torch::Tensor& advantages, const torch::Tensor& mask) {
  check_defined("normalize_advantages", "advantages", advantages);
  torch::NoGradGuard no_grad;
  const torch::Tensor valid = valid_positions(advantages, mask);
  const torch::Tensor x = advantages.to(torch::kDouble);
  const torch::Tensor zero = torch::zeros({}, x.options());
  const torch::Tensor a = torch::where(valid, x, zero);
  const torch::Tensor n = valid.sum().to(torch::kDouble);
  const torch::Tensor mean = a.sum() / n.clamp_min(1);
  const torch::Tensor centred = torch::where(valid, a - mean, zero);
  const torch::Tensor var = (centred * centred).sum() / (n - 1).clamp_min(1);
  const torch::Tensor std = torch::where(n > 1, var.sqrt(), zero);
  return (centred / (std + kAdvantageNormEps)).to(advantages.scalar_type());
}

}  // namespace rlpp::algo
