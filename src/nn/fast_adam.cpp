#include "rlpp/nn/fast_adam.h"

// GCC 12 reports false "may be used uninitialized" warnings inside its own AVX-512 intrinsics when
// Eigen's vectorised kernels are inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>
#include <cmath>

namespace rlpp::nn {

namespace {
constexpr double kBeta1 = 0.9;
constexpr double kBeta2 = 0.999;
constexpr double kClipNormEps = 1e-6;  // clip_grad_norm_: coef = max_norm / (total_norm + 1e-6)
}  // namespace

void FastAdam::reset(int64_t count) {
  m_.assign(static_cast<size_t>(count), 0.0f);
  v_.assign(static_cast<size_t>(count), 0.0f);
  step_ = 0;
}

double FastAdam::clip_and_step(float* params, const float* grads, double max_grad_norm, double lr) {
  const size_t count = m_.size();
  // Σ g² in double over 8 interleaved partial sums (a fixed order the compiler can vectorise).
  constexpr size_t kLanes = 8;
  double partial[kLanes] = {};
  size_t k = 0;
  for (; k + kLanes <= count; k += kLanes) {
    for (size_t j = 0; j < kLanes; ++j) partial[j] += static_cast<double>(grads[k + j]) * grads[k + j];
  }
  for (; k < count; ++k) partial[0] += static_cast<double>(grads[k]) * grads[k];  // tail
  double sq = 0.0;
  for (double p : partial) sq += p;
  const double total_norm = std::sqrt(sq);
  const double clip = max_grad_norm / (total_norm + kClipNormEps);
  const float g_scale = clip < 1.0 ? static_cast<float>(clip) : 1.0f;

  ++step_;
  const double t = static_cast<double>(step_);
  const float step_size = static_cast<float>(lr / (1.0 - std::pow(kBeta1, t)));
  const float sqrt_bc2 = static_cast<float>(std::sqrt(1.0 - std::pow(kBeta2, t)));
  const float eps = static_cast<float>(eps_);
  const float b1 = static_cast<float>(kBeta1), one_minus_b1 = static_cast<float>(1.0 - kBeta1);
  const float b2 = static_cast<float>(kBeta2), one_minus_b2 = static_cast<float>(1.0 - kBeta2);
  // Written with Eigen arrays so that the loop vectorises (std::sqrt's errno path blocks that).
  using Array = Eigen::Array<float, Eigen::Dynamic, 1>;
  const auto n = static_cast<Eigen::Index>(count);
  Eigen::Map<Array> p(params, n), mo(m_.data(), n), vo(v_.data(), n);
  const auto g = Eigen::Map<const Array>(grads, n) * g_scale;
  mo = mo * b1 + one_minus_b1 * g;
  vo = vo * b2 + one_minus_b2 * g * g;
  p -= step_size * mo / (vo.sqrt() / sqrt_bc2 + eps);
  return total_norm;
}

}  // namespace rlpp::nn
