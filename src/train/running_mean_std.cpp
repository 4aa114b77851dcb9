#include "rlpp/train/running_mean_std.h"

#include <algorithm>
#include <cmath>

#include "rlpp/dist/comm.h"

namespace rlpp::train {

RunningMeanStd::RunningMeanStd(int64_t dim, double epsilon)
    : mean_(static_cast<size_t>(dim), 0.0),
      var_(static_cast<size_t>(dim), 1.0),
      count_(epsilon),
      synced_mean_(mean_),
      synced_var_(var_),
      synced_count_(count_) {}

void RunningMeanStd::set(std::vector<double> mean, std::vector<double> var, double count) {
  mean_ = std::move(mean);
  var_ = std::move(var);
  count_ = count;
  // a restored checkpoint is a synced state
  synced_mean_ = mean_;
  synced_var_ = var_;
  synced_count_ = count_;
  pending_n_ = 0;
  pending_sum_.clear();
  pending_sq_.clear();
}

template <class T>
static void batch_moments(const T* x, int64_t n, int64_t dim, std::vector<double>* mean, std::vector<double>* var) {
  mean->assign(static_cast<size_t>(dim), 0.0);
  var->assign(static_cast<size_t>(dim), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < dim; ++j) (*mean)[j] += x[i * dim + j];
  for (auto& m : *mean) m /= static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < dim; ++j) {
      const double d = x[i * dim + j] - (*mean)[j];
      (*var)[j] += d * d;
    }
  for (auto& v : *var) v /= static_cast<double>(n);  // population variance, as numpy's var()
}

template <class T>
static void add_pending(const T* x, int64_t n, int64_t dim, double* count, std::vector<double>* sum,
                        std::vector<double>* sq) {
  sum->resize(static_cast<size_t>(dim), 0.0);
  sq->resize(static_cast<size_t>(dim), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < dim; ++j) {
      const double v = x[i * dim + j];
      (*sum)[j] += v;
      (*sq)[j] += v * v;
    }
  *count += static_cast<double>(n);
}

void RunningMeanStd::update(const float* x, int64_t n) {
  std::vector<double> m, v;
  batch_moments(x, n, dim(), &m, &v);
  merge(m, v, static_cast<double>(n));
  if (comm_) add_pending(x, n, dim(), &pending_n_, &pending_sum_, &pending_sq_);
}

void RunningMeanStd::update(const double* x, int64_t n) {
  std::vector<double> m, v;
  batch_moments(x, n, dim(), &m, &v);
  merge(m, v, static_cast<double>(n));
  if (comm_) add_pending(x, n, dim(), &pending_n_, &pending_sum_, &pending_sq_);
}

void RunningMeanStd::sync() {
  if (!comm_) return;
  const int64_t d = dim();
  pending_sum_.resize(static_cast<size_t>(d), 0.0);
  pending_sq_.resize(static_cast<size_t>(d), 0.0);
  std::vector<double> all(static_cast<size_t>(2 * d + 1));  // n, Σx, Σx² over every rank's rows
  all[0] = pending_n_;
  std::copy(pending_sum_.begin(), pending_sum_.end(), all.begin() + 1);
  std::copy(pending_sq_.begin(), pending_sq_.end(), all.begin() + 1 + d);
  comm_->allreduce_sum(all.data(), 2 * d + 1);
  mean_ = synced_mean_;
  var_ = synced_var_;
  count_ = synced_count_;
  const double n = all[0];
  if (n > 0) {
    std::vector<double> bm(static_cast<size_t>(d)), bv(static_cast<size_t>(d));
    for (int64_t j = 0; j < d; ++j) {
      bm[j] = all[1 + j] / n;
      bv[j] = std::max(all[1 + d + j] / n - bm[j] * bm[j], 0.0);
    }
    merge(bm, bv, n);
  }
  synced_mean_ = mean_;
  synced_var_ = var_;
  synced_count_ = count_;
  pending_n_ = 0;
  std::fill(pending_sum_.begin(), pending_sum_.end(), 0.0);
  std::fill(pending_sq_.begin(), pending_sq_.end(), 0.0);
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
