#include "rlpp/train/offpolicy/fast_mlp.h"

// GCC 12 reports false "may be used uninitialized" warnings inside its own AVX-512 intrinsics when
// Eigen's matrix-product kernels are inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>
#include <algorithm>
#include <string>

#include "rlpp/core/error.h"

namespace rlpp::train::offpolicy {

namespace {
using ColMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vec = Eigen::Matrix<float, Eigen::Dynamic, 1>;
}  // namespace

FastReluMlp::FastReluMlp(int64_t in, const std::vector<int64_t>& hidden, int64_t out) {
  core::require(in > 0 && out > 0, "FastReluMlp: input and output widths must be positive, got " +
                                       std::to_string(in) + " and " + std::to_string(out));
  widths_.push_back(in);
  for (int64_t h : hidden) {
    core::require(h > 0, "FastReluMlp: hidden widths must be positive, got " + std::to_string(h));
    widths_.push_back(h);
  }
  widths_.push_back(out);
  for (int64_t l = 0; l < num_layers(); ++l) {
    offsets_.push_back(num_params_);
    num_params_ += layer_out(l) * layer_in(l) + layer_out(l);
  }
  h_.resize(static_cast<size_t>(num_layers()));
}

void FastReluMlp::reserve(int64_t m) {
  if (m <= capacity_) return;
  const int64_t max_width = *std::max_element(widths_.begin(), widths_.end());
  x_.assign(static_cast<size_t>(m * in_dim()), 0.0f);
  for (int64_t l = 0; l < num_layers(); ++l) h_[l].assign(static_cast<size_t>(m * layer_out(l)), 0.0f);
  delta_a_.assign(static_cast<size_t>(m * max_width), 0.0f);
  delta_b_.assign(static_cast<size_t>(m * max_width), 0.0f);
  capacity_ = m;
}

float* FastReluMlp::input(int64_t m) {
  reserve(m);
  return x_.data();
}

const float* FastReluMlp::forward(const float* params, const float* x, int64_t m) {
  std::copy_n(x, m * in_dim(), input(m));
  return forward(params, m);
}

const float* FastReluMlp::forward(const float* params, int64_t m) {
  reserve(m);
  m_ = m;
  const float* prev = x_.data();
  for (int64_t l = 0; l < num_layers(); ++l) {
    const int64_t in = layer_in(l), out = layer_out(l);
    Eigen::Map<const RowMat> w(params + weight_offset(l), out, in);  // (out, in)
    Eigen::Map<const Vec> b(params + bias_offset(l), out);           // (out)
    Eigen::Map<const ColMat> h_in(prev, in, m);                       // (in, m)
    Eigen::Map<ColMat> z(h_[l].data(), out, m);                       // (out, m)
    z.noalias() = w * h_in;
    z.colwise() += b;
    if (l + 1 < num_layers()) z = z.cwiseMax(0.0f);
    prev = h_[l].data();
  }
  return prev;
}

void FastReluMlp::backward(const float* params, const float* dout, float* grads, float* dx) {
  const int64_t m = m_;
  const float* delta = dout;  // δ_l, (out_l, m)
  float* next = delta_a_.data();
  for (int64_t l = num_layers() - 1; l >= 0; --l) {
    const int64_t in = layer_in(l), out = layer_out(l);
    Eigen::Map<const ColMat> d(delta, out, m);                                    // (out, m)
    Eigen::Map<const ColMat> h_in(l == 0 ? x_.data() : h_[l - 1].data(), in, m);  // (in, m)
    if (grads != nullptr) {
      Eigen::Map<RowMat> dw(grads + weight_offset(l), out, in);  // (out, in)
      Eigen::Map<Vec> db(grads + bias_offset(l), out);           // (out)
      dw.noalias() = d * h_in.transpose();
      db = d.rowwise().sum();
    }
    Eigen::Map<const RowMat> w(params + weight_offset(l), out, in);  // (out, in)
    if (l == 0) {
      if (dx != nullptr) {
        Eigen::Map<ColMat> d_x(dx, in, m);  // (in, m)
        d_x.noalias() = w.transpose() * d;
      }
      break;
    }
    Eigen::Map<ColMat> d_in(next, in, m);  // (in, m)
    d_in.noalias() = w.transpose() * d;
    d_in.array() = (h_in.array() > 0.0f).select(d_in.array(), 0.0f);
    delta = next;
    next = (next == delta_a_.data()) ? delta_b_.data() : delta_a_.data();
  }
}

}  // namespace rlpp::train::offpolicy
