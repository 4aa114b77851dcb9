#include "nn/lm/fast_gemm.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <dlfcn.h>

#include <Eigen/Core>

namespace rlpp::nn::lm::fast {

namespace {

// Fortran BLAS sgemm (column-major).
using SgemmFn = void (*)(const char* transa, const char* transb, const int* m, const int* n, const int* k,
                         const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
                         const float* beta, float* c, const int* ldc);

// OpenBLAS's sgemm_ if a loaded library provides it (checked by its openblas_get_config), else null:
// the reference BLAS would be slower than Eigen.
SgemmFn find_openblas() {
  // The global scope first, then the libraries LibTorch loaded (a Python process loads it
  // RTLD_LOCAL, outside the global scope). RTLD_NOLOAD: never load a BLAS that is not there.
  void* handles[] = {RTLD_DEFAULT, dlopen("libopenblas.so.0", RTLD_NOW | RTLD_NOLOAD),
                     dlopen("libblas.so.3", RTLD_NOW | RTLD_NOLOAD)};
  for (int i = 0; i < 3; ++i) {
    void* h = handles[i];
    if (i > 0 && h == nullptr) continue;  // not loaded (RTLD_DEFAULT itself is a null pointer)
    if (dlsym(h, "openblas_get_config") == nullptr) continue;
    if (void* f = dlsym(h, "sgemm_")) return reinterpret_cast<SgemmFn>(f);
  }
  return nullptr;
}

SgemmFn sgemm() {
  static const SgemmFn fn = find_openblas();
  return fn;
}

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using CStrided = Eigen::Map<const RowMat, 0, Eigen::OuterStride<>>;
using Strided = Eigen::Map<RowMat, 0, Eigen::OuterStride<>>;

}  // namespace

void gemm_eigen(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  Strided C(c, m, n, Eigen::OuterStride<>(ldc));
  const CStrided A(a, trans_a ? k : m, trans_a ? m : k, Eigen::OuterStride<>(lda));
  const CStrided B(b, trans_b ? n : k, trans_b ? k : n, Eigen::OuterStride<>(ldb));
  if (beta == 0.0f) {
    C.setZero();
  } else if (beta != 1.0f) {
    C *= beta;
  }
  if (!trans_a && !trans_b) C.noalias() += alpha * (A * B);
  if (!trans_a && trans_b) C.noalias() += alpha * (A * B.transpose());
  if (trans_a && !trans_b) C.noalias() += alpha * (A.transpose() * B);
  if (trans_a && trans_b) C.noalias() += alpha * (A.transpose() * B.transpose());
}

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  const SgemmFn f = sgemm();
  if (f == nullptr) {
    gemm_eigen(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  // Row-major c = op(a) op(b) is column-major c^T = op(b)^T op(a)^T: swap the operands.
  const char ta = trans_b ? 'T' : 'N', tb = trans_a ? 'T' : 'N';
  const int M = static_cast<int>(n), N = static_cast<int>(m), K = static_cast<int>(k);
  const int LDA = static_cast<int>(ldb), LDB = static_cast<int>(lda), LDC = static_cast<int>(ldc);
  f(&ta, &tb, &M, &N, &K, &alpha, b, &LDA, a, &LDB, &beta, c, &LDC);
}

const char* gemm_backend() { return sgemm() != nullptr ? "openblas" : "eigen"; }

}  // namespace rlpp::nn::lm::fast
