#include "rlpp/nn/fast_mlp.h"

// GCC 12 reports false "may be used uninitialized" warnings inside its own AVX-512 intrinsics when
// Eigen's matrix-product kernels are inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>
#include <algorithm>

#include "rlpp/core/error.h"

namespace rlpp::nn {

namespace {
// A batch as a (width, m) column-major matrix (= (m, width) row-major rows); a weight as the
// LibTorch (out, in) row-major matrix.
using ColMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vec = Eigen::Matrix<float, Eigen::Dynamic, 1>;
}  // namespace

Activation parse_activation(const std::string& name) {
  if (name == "tanh") return Activation::kTanh;
  if (name == "relu") return Activation::kRelu;
  throw core::UserError("policy.activation: expected \"tanh\" or \"relu\", got \"" + name + "\"");
}

FastMlp::FastMlp(int64_t in, const std::vector<int64_t>& hidden, int64_t out, Activation activation,
                 bool tanh_out)
    : activation_(activation), tanh_out_(tanh_out) {
  core::require(in > 0 && out > 0, "FastMlp: input and output widths must be positive, got " +
                                       std::to_string(in) + " and " + std::to_string(out));
  widths_.push_back(in);
  for (int64_t h : hidden) {
    core::require(h > 0, "FastMlp: hidden widths must be positive, got " + std::to_string(h));
    widths_.push_back(h);
  }
  widths_.push_back(out);
  for (int64_t l = 0; l < num_layers(); ++l) {
    offsets_.push_back(num_params_);
    num_params_ += layer_out(l) * layer_in(l) + layer_out(l);
  }
  h_.resize(static_cast<size_t>(num_layers()));
}

void FastMlp::reserve(int64_t m) {
  if (m <= capacity_) return;
  const int64_t max_width = *std::max_element(widths_.begin(), widths_.end());
  for (int64_t l = 0; l < num_layers(); ++l) h_[l].assign(static_cast<size_t>(m * layer_out(l)), 0.0f);
  delta_a_.assign(static_cast<size_t>(m * max_width), 0.0f);
  delta_b_.assign(static_cast<size_t>(m * max_width), 0.0f);
  if (tanh_out_) delta_out_.assign(static_cast<size_t>(m * widths_.back()), 0.0f);
  capacity_ = m;
}

const float* FastMlp::forward(const float* params, const float* x, int64_t m) {
  reserve(m);
  m_ = m;
  x_ = x;
  const float* prev = x;
  for (int64_t l = 0; l < num_layers(); ++l) {
    const int64_t in = layer_in(l), out = layer_out(l);
    Eigen::Map<const RowMat> w(params + weight_offset(l), out, in);  // (out, in)
    Eigen::Map<const Vec> b(params + bias_offset(l), out);           // (out)
    Eigen::Map<const ColMat> h_in(prev, in, m);                       // (in, m)
    Eigen::Map<ColMat> z(h_[l].data(), out, m);                       // (out, m)
    z.noalias() = w * h_in;
    z.colwise() += b;
    if (l + 1 < num_layers()) {
      if (activation_ == Activation::kTanh) {
        z = z.array().tanh();
      } else {
        z = z.cwiseMax(0.0f);
      }
    } else if (tanh_out_) {
      z = z.array().tanh();
    }
    prev = h_[l].data();
  }
  return prev;
}

void FastMlp::backward(const float* params, const float* dout, float* grads) {
  const int64_t m = m_;
  const float* delta = dout;  // δ_l, (out_l, m)
  if (tanh_out_) {
    const int64_t out = widths_.back();
    Eigen::Map<const ColMat> g(dout, out, m), y(h_.back().data(), out, m);  // (out, m)
    Eigen::Map<ColMat> d(delta_out_.data(), out, m);
    d.array() = g.array() * (1.0f - y.array().square());
    delta = delta_out_.data();
  }
  float* next = delta_a_.data();
  for (int64_t l = num_layers() - 1; l >= 0; --l) {
    const int64_t in = layer_in(l), out = layer_out(l);
    Eigen::Map<const ColMat> d(delta, out, m);                              // (out, m)
    Eigen::Map<const ColMat> h_in(l == 0 ? x_ : h_[l - 1].data(), in, m);  // (in, m)
    Eigen::Map<RowMat> dw(grads + weight_offset(l), out, in);               // (out, in)
    Eigen::Map<Vec> db(grads + bias_offset(l), out);                        // (out)
    dw.noalias() = d * h_in.transpose();
    db = d.rowwise().sum();
    if (l == 0) break;
    Eigen::Map<const RowMat> w(params + weight_offset(l), out, in);  // (out, in)
    Eigen::Map<ColMat> d_in(next, in, m);                             // (in, m)
    d_in.noalias() = w.transpose() * d;
    if (activation_ == Activation::kTanh) {
      d_in.array() *= 1.0f - h_in.array().square();
    } else {
      d_in.array() = (h_in.array() > 0.0f).select(d_in.array(), 0.0f);
    }
    delta = next;
    next = (next == delta_a_.data()) ? delta_b_.data() : delta_a_.data();
  }
}

}  // namespace rlpp::nn
