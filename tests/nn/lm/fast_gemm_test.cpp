// fast::gemm (OpenBLAS's sgemm with row-major operands swapped into column-major, or Eigen) and its
// Eigen fallback against torch::matmul in double, for every transpose combination, row strides
// wider than the rows, and alpha / beta (beta = 0 must ignore NaNs already in c).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <limits>

#include "nn/lm/fast_gemm.h"

namespace rlpp::nn::lm::fast {
namespace {

using GemmFn = void (*)(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t,
                        float, float*, int64_t);

void check(GemmFn fn, const char* name) {
  torch::manual_seed(1);
  const int64_t m = 37, n = 29, k = 45, pad = 3;
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      for (float beta : {0.0f, 1.0f, 0.5f}) {
        const float alpha = 0.75f;
        // Stored (rows, cols + pad) row-major; op(a) (m, k), op(b) (k, n), c (m, n).
        const torch::Tensor a = torch::randn({ta ? k : m, (ta ? m : k) + pad});
        const torch::Tensor b = torch::randn({tb ? n : k, (tb ? k : n) + pad});
        torch::Tensor c = torch::randn({m, n + pad});
        const torch::Tensor c0 = c.clone();
        if (beta == 0.0f) c.slice(1, 0, n).fill_(std::numeric_limits<float>::quiet_NaN());
        fn(ta, tb, m, n, k, alpha, a.data_ptr<float>(), a.size(1), b.data_ptr<float>(), b.size(1), beta,
           c.data_ptr<float>(), c.size(1));
        torch::Tensor opa = a.slice(1, 0, ta ? m : k).to(torch::kDouble);
        torch::Tensor opb = b.slice(1, 0, tb ? k : n).to(torch::kDouble);
        if (ta) opa = opa.t();
        if (tb) opb = opb.t();
        torch::Tensor want = alpha * torch::matmul(opa, opb);
        if (beta != 0.0f) want = want + beta * c0.slice(1, 0, n).to(torch::kDouble);
        const double err = (c.slice(1, 0, n).to(torch::kDouble) - want).abs().max().item<double>();
        EXPECT_LT(err, 1e-4) << name << " ta " << ta << " tb " << tb << " beta " << beta;
        EXPECT_TRUE(c.slice(1, n).equal(c0.slice(1, n))) << name << ": wrote past the row's n columns";
      }
    }
  }
}

TEST(LmFastGemm, ActiveBackendMatchesMatmul) {
  std::printf("gemm backend: %s\n", gemm_backend());
  check(&gemm, "gemm");
}

TEST(LmFastGemm, EigenFallbackMatchesMatmul) { check(&gemm_eigen, "gemm_eigen"); }

}  // namespace
}  // namespace rlpp::nn::lm::fast
