// nn::FastMlp against a double-precision MLP written out in this file: forward values, and the
// parameter gradient against central finite differences of that reference. Forward and backward
// allocate nothing after the first call.
#include <gtest/gtest.h>

#include <Eigen/Core>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>
#include <random>
#include <vector>

#include "rlpp/core/error.h"
#include "rlpp/nn/fast_mlp.h"

// Every heap allocation of this test binary is counted: C++ `new` and Eigen's aligned allocator
// both end in malloc, so malloc itself is interposed (glibc exports its implementation as
// __libc_malloc).
extern "C" void* __libc_malloc(std::size_t size);
namespace {
std::atomic<long> g_allocations{0};
}  // namespace
extern "C" void* malloc(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(size);
}

namespace rlpp::nn {
namespace {

// Reference MLP in double: widths (L + 1), params in the nn::Linear layout (W (out, in) row-major,
// then b), x (m, in) -> (m, out).
std::vector<double> reference_forward(const std::vector<int64_t>& widths, const std::vector<double>& params,
                                      const std::vector<double>& x, int64_t m, bool relu) {
  std::vector<double> h = x;
  size_t off = 0;
  const size_t layers = widths.size() - 1;
  for (size_t l = 0; l < layers; ++l) {
    const int64_t in = widths[l], out = widths[l + 1];
    std::vector<double> z(static_cast<size_t>(m * out));
    for (int64_t r = 0; r < m; ++r) {
      for (int64_t o = 0; o < out; ++o) {
        double s = params[off + in * out + o];  // b_o
        for (int64_t i = 0; i < in; ++i) s += params[off + o * in + i] * h[r * in + i];
        if (l + 1 < layers) s = relu ? std::max(s, 0.0) : std::tanh(s);
        z[r * out + o] = s;
      }
    }
    off += in * out + out;
    h = std::move(z);
  }
  return h;
}

struct Case {
  std::vector<int64_t> hidden;
  Activation activation;
};

class FastMlpTest : public ::testing::TestWithParam<Case> {};

TEST_P(FastMlpTest, ForwardAndGradientMatchReference) {
  const Case c = GetParam();
  const int64_t in = 3, out = 2, m = 5;
  FastMlp mlp(in, c.hidden, out, c.activation);
  std::vector<int64_t> widths{in};
  widths.insert(widths.end(), c.hidden.begin(), c.hidden.end());
  widths.push_back(out);
  int64_t expected_params = 0;
  for (size_t l = 0; l + 1 < widths.size(); ++l) expected_params += widths[l] * widths[l + 1] + widths[l + 1];
  ASSERT_EQ(mlp.num_params(), expected_params);

  std::mt19937 gen(7);
  std::normal_distribution<float> normal(0.0f, 0.6f);
  std::vector<float> params(static_cast<size_t>(mlp.num_params())), x(static_cast<size_t>(m * in)),
      dout(static_cast<size_t>(m * out));
  for (float& v : params) v = normal(gen);
  for (float& v : x) v = normal(gen) * 2.0f;
  for (float& v : dout) v = normal(gen);
  const std::vector<double> params_d(params.begin(), params.end()), x_d(x.begin(), x.end());
  const bool relu = c.activation == Activation::kRelu;

  const float* y = mlp.forward(params.data(), x.data(), m);
  const std::vector<double> y_ref = reference_forward(widths, params_d, x_d, m, relu);
  double max_diff = 0.0;
  for (int64_t k = 0; k < m * out; ++k) max_diff = std::max(max_diff, std::abs(y[k] - y_ref[k]));
  EXPECT_LT(max_diff, 1e-5) << "forward max |diff|";

  // L(θ) = Σ dout ⊙ f(x; θ), so dL/dθ is what backward(dout) returns.
  std::vector<float> grads(params.size(), -1.0f);
  mlp.backward(params.data(), dout.data(), grads.data());
  const auto loss = [&](const std::vector<double>& p) {
    const std::vector<double> f = reference_forward(widths, p, x_d, m, relu);
    double s = 0.0;
    for (size_t k = 0; k < f.size(); ++k) s += dout[k] * f[k];
    return s;
  };
  double worst = 0.0;
  for (size_t k = 0; k < params.size(); ++k) {
    std::vector<double> p = params_d;
    const double h = 1e-6;
    p[k] += h;
    const double up = loss(p);
    p[k] -= 2 * h;
    const double fd = (up - loss(p)) / (2 * h);
    worst = std::max(worst, std::abs(grads[k] - fd) / (1.0 + std::abs(fd)));
  }
  EXPECT_LT(worst, 2e-5) << "gradient vs finite differences, worst relative error";
}

INSTANTIATE_TEST_SUITE_P(Shapes, FastMlpTest,
                         ::testing::Values(Case{{7, 5}, Activation::kTanh}, Case{{7, 5}, Activation::kRelu},
                                           Case{{4}, Activation::kTanh}, Case{{}, Activation::kTanh},
                                           Case{{6, 6, 4}, Activation::kRelu}));

TEST(FastMlp, NoAllocationAfterWarmUp) {
  FastMlp mlp(4, {64, 64}, 2, Activation::kTanh);
  std::vector<float> params(static_cast<size_t>(mlp.num_params()), 0.01f), grads(params.size());
  std::vector<float> x(128 * 4, 0.5f), dout(128 * 2, 1.0f);
  mlp.forward(params.data(), x.data(), 128);  // warm-up: the workspace grows here
  mlp.backward(params.data(), dout.data(), grads.data());
  // The counter sees Eigen's heap allocations (the probe) ...
  const long probe_before = g_allocations.load();
  {
    Eigen::MatrixXf probe = Eigen::MatrixXf::Constant(32, 32, 1.0f);
    volatile float sink = probe(3, 3);
    (void)sink;
  }
  ASSERT_GT(g_allocations.load() - probe_before, 0);
  // ... and none happen in forward/backward at batch sizes up to the warm-up size.
  const long before = g_allocations.load();
  for (int64_t m : {128, 64, 4, 1, 128}) {
    mlp.forward(params.data(), x.data(), m);
    mlp.backward(params.data(), dout.data(), grads.data());
  }
  EXPECT_EQ(g_allocations.load() - before, 0);
}

TEST(FastMlp, RejectsBadShapesAndActivations) {
  EXPECT_THROW(FastMlp(0, {4}, 1, Activation::kTanh), core::UserError);
  EXPECT_THROW(FastMlp(3, {0}, 1, Activation::kTanh), core::UserError);
  EXPECT_EQ(parse_activation("relu"), Activation::kRelu);
  EXPECT_THROW(parse_activation("gelu"), core::UserError);
}

}  // namespace
}  // namespace rlpp::nn
