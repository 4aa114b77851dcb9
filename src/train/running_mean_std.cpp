#include "rlpp/train/running_mean_std.h"

#include <algorithm>
#include <cmath>

#include "rlpp/dist/comm.h"

namespace rlpp::train {

RunningMeanStd::RunningMeanStd(int64_t dim, double epsilon)
    : mean_(static_cast<size_t>(dim), 0.0), var_(static_cast<size_t>(dim), 1.0), count_(epsilon) {}

void RunningMeanStd::set(std::vector<double> mean, std::vector<double> var, double count) {
  mean_ = std::move(mean);
  var_ = std::move(var);
  count_ = count;
}

// Mean and population variance (numpy's var()) of the rows of x (n, dim), two passes; with a
// comm, of the rows of every rank (each pass's sums added over the ranks). Returns the row count.
template <class T>
static double batch_moments(const T* x, int64_t n, int64_t dim, dist::Comm* comm, std::vector<double>* mean,
                            std::vector<double>* var) {
  mean->assign(static_cast<size_t>(dim) + 1, 0.0);  // the sums, then the count
  var->assign(static_cast<size_t>(dim), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < dim; ++j) (*mean)[j] += x[i * dim + j];
  (*mean)[dim] = static_cast<double>(n);
  if (comm) comm->allreduce_sum(mean->data(), dim + 1);
  const double total = (*mean)[dim];
  mean->pop_back();
  for (auto& m : *mean) m /= total;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < dim; ++j) {
      const double d = x[i * dim + j] - (*mean)[j];
      (*var)[j] += d * d;
    }
  if (comm) comm->allreduce_sum(var->data(), dim);
  for (auto& v : *var) v /= total;
  return total;
}

void RunningMeanStd::update(const float* x, int64_t n) {
  std::vector<double> m, v;
  const double total = batch_moments(x, n, dim(), comm_, &m, &v);
  merge(m, v, total);
}

void RunningMeanStd::update(const double* x, int64_t n) {
  std::vector<double> m, v;
  const double total = batch_moments(x, n, dim(), comm_, &m, &v);
  merge(m, v, total);
}

// Parallel combination: delta = mb - m; M2 = va*na + vb*nb + delta^2 na nb / (na + nb).
void RunningMeanStd::merge(const std::vector<double>& bm, const std::vector<double>& bv, double n) {
  const double total = count_ + n;
  for (size_t j = 0; j < mean_.size(); ++j) {
    const double delta = bm[j] - mean_[j];
    const double m2 = var_[j] * count_ + bv[j] * n + delta * delta * count_ * n / total;
    mean_[j] += delta * n / total;
    var_[j] = m2 / total;
  }
  count_ = total;
}

void ObsNormalizer::normalize(const float* x, int64_t n, bool update, float* y) {
  if (update) rms_.update(x, n);
  const int64_t d = rms_.dim();
  const auto& mean = rms_.mean();
  const auto& var = rms_.var();
  for (int64_t j = 0; j < d; ++j) {
    const double inv = 1.0 / std::sqrt(var[j] + 1e-8);
    for (int64_t i = 0; i < n; ++i) {
      const double z = (x[i * d + j] - mean[j]) * inv;
      y[i * d + j] = static_cast<float>(std::clamp(z, -clip_, clip_));
    }
  }
}

RewardScaler::RewardScaler(int64_t num_envs, double gamma, double clip)
    : rms_(1), returns_(static_cast<size_t>(num_envs), 0.0), gamma_(gamma), clip_(clip) {}

void RewardScaler::scale(float* r, const uint8_t* done) {
  const int64_t n = static_cast<int64_t>(returns_.size());
  for (int64_t i = 0; i < n; ++i) returns_[i] = returns_[i] * gamma_ + r[i];
  rms_.update(returns_.data(), n);
  const double inv = 1.0 / std::sqrt(rms_.var()[0] + 1e-8);
  for (int64_t i = 0; i < n; ++i) {
    r[i] = static_cast<float>(std::clamp(r[i] * inv, -clip_, clip_));
    if (done[i]) returns_[i] = 0.0;
  }
}

}  // namespace rlpp::train
