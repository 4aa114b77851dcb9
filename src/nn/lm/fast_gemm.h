// Row-major single-precision GEMM for the fast LM kernels: OpenBLAS's sgemm when the process has it
// loaded (LibTorch links it on Debian; its kernels pick AVX-512 at run time, which rlpp's fixed
// x86-64-v3 build cannot), Eigen otherwise. Looked up once with dlsym, so rlpp links no BLAS itself.
#pragma once
#include <cstdint>

namespace rlpp::nn::lm::fast {

// c = alpha · op(a) · op(b) + beta · c, every matrix row-major; op(x) = x or x^T.
//   op(a) (m, k), op(b) (k, n), c (m, n); lda, ldb, ldc: row strides (elements)
// beta = 0 ignores c's contents. Threads: OpenBLAS's (omp_get_max_threads(), which
// torch::set_num_threads sets); the Eigen fallback runs on the calling thread.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// The Eigen implementation gemm() falls back to (same contract), callable directly for its test.
void gemm_eigen(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// "openblas" or "eigen": which backend gemm() uses in this process.
const char* gemm_backend();

}  // namespace rlpp::nn::lm::fast
