#include "nn/lm/fast_lm_kernels.h"

#include "nn/lm/fast_gemm.h"

// GCC 12 reports false "may be used uninitialized" warnings inside its own AVX-512 intrinsics when
// Eigen's matrix-product kernels are inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <ATen/Parallel.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace rlpp::nn::lm::fast {

namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowVec = Eigen::Matrix<float, 1, Eigen::Dynamic>;
using MapR = Eigen::Map<RowMat>;
using CMapR = Eigen::Map<const RowMat>;
// A (rows, cols) block of a wider row-major buffer (one head's columns of a (B·L, heads·d) buffer).
using Strided = Eigen::Map<RowMat, 0, Eigen::OuterStride<>>;
using CStrided = Eigen::Map<const RowMat, 0, Eigen::OuterStride<>>;
using Arr = Eigen::Array<float, Eigen::Dynamic, 1>;

// f(i0, i1) over rows [0, n) in tasks of at least ~32k elements (below that, threading costs more
// than it saves). Each row is written by one task only, so results do not depend on the split.
template <class F>
void parallel_rows(int64_t n, int64_t row_elems, const F& f) {
  at::parallel_for(0, n, std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(1, row_elems)), f);
}


}  // namespace

void linear_forward(float* y, const float* x, const float* w, const float* b, const float* res, int64_t n,
                    int64_t in, int64_t out) {
  // y starts as res + b (or b, or nothing) and the product adds to it.
  if (res != nullptr && res != y) std::copy(res, res + n * out, y);
  if (b != nullptr) {
    const Eigen::Map<const RowVec> bias(b, out);
    for (int64_t i = 0; i < n; ++i) {
      if (res != nullptr) {
        Eigen::Map<RowVec>(y + i * out, out) += bias;
      } else {
        Eigen::Map<RowVec>(y + i * out, out) = bias;
      }
    }
  }
  const float beta = (res != nullptr || b != nullptr) ? 1.0f : 0.0f;
  gemm(/*trans_a=*/false, /*trans_b=*/true, n, out, in, 1.0f, x, in, w, in, beta, y, out);
}

void linear_backward_input(float* dx, const float* dy, const float* w, int64_t n, int64_t in, int64_t out,
                           bool accumulate) {
  gemm(/*trans_a=*/false, /*trans_b=*/false, n, in, out, 1.0f, dy, out, w, in, accumulate ? 1.0f : 0.0f, dx, in);
}

void linear_backward_weight(float* dw, float* db, const float* dy, const float* x, int64_t n, int64_t in,
                            int64_t out) {
  gemm(/*trans_a=*/true, /*trans_b=*/false, out, in, n, 1.0f, dy, out, x, in, 1.0f, dw, in);
  if (db != nullptr) {
    Eigen::Map<RowVec> dB(db, out);
    for (int64_t i = 0; i < n; ++i) dB += Eigen::Map<const RowVec>(dy + i * out, out);
  }
}

void rms_norm_forward(float* y, float* r, const float* x, const float* w, int64_t n, int64_t h, double eps) {
  const Eigen::Map<const Arr> W(w, h);
  parallel_rows(n, h, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const Eigen::Map<const Arr> X(x + i * h, h);
      const float ms = X.square().sum() / static_cast<float>(h);
      r[i] = 1.0f / std::sqrt(ms + static_cast<float>(eps));
      Eigen::Map<Arr>(y + i * h, h) = W * (X * r[i]);
    }
  });
}

void rms_norm_backward(float* dx, float* dw, const float* dy, const float* x, const float* r, const float* w,
                       int64_t n, int64_t h) {
  const Eigen::Map<const Arr> W(w, h);
  Eigen::Map<Arr> dW(dw, h);
  const auto row = [&](int64_t i, bool with_dw) {
    const Eigen::Map<const Arr> X(x + i * h, h), dY(dy + i * h, h);
    const float ri = r[i];
    const float gx = (W * dY * X).sum();
    Eigen::Map<Arr>(dx + i * h, h) += ri * (W * dY) - (ri * ri * ri / static_cast<float>(h) * gx) * X;
    if (with_dw) dW += dY * X * ri;
  };
  // The weight's gradient sums over rows in row order on one thread, whatever the thread count:
  // in the same loop when single-threaded, in a second pass after the row-parallel one otherwise.
  if (at::get_num_threads() == 1) {
    for (int64_t i = 0; i < n; ++i) row(i, /*with_dw=*/true);
    return;
  }
  parallel_rows(n, h, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) row(i, /*with_dw=*/false);
  });
  for (int64_t i = 0; i < n; ++i) dW += Eigen::Map<const Arr>(dy + i * h, h) * Eigen::Map<const Arr>(x + i * h, h) * r[i];
}

void rope_forward(float* x, int64_t ld, const float* cos, const float* sin, int64_t n, int64_t heads, int64_t d) {
  const int64_t half = d / 2;
  parallel_rows(n, heads * d, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float* c = cos + i * d;
      const float* s = sin + i * d;
      for (int64_t h = 0; h < heads; ++h) {
        float* v = x + i * ld + h * d;
        for (int64_t j = 0; j < half; ++j) {
          const float a = v[j], b = v[j + half];
          v[j] = a * c[j] - b * s[j];
          v[j + half] = b * c[j + half] + a * s[j + half];
        }
      }
    }
  });
}

void rope_backward(float* dx, int64_t ld, const float* cos, const float* sin, int64_t n, int64_t heads, int64_t d) {
  const int64_t half = d / 2;
  parallel_rows(n, heads * d, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float* c = cos + i * d;
      const float* s = sin + i * d;
      for (int64_t h = 0; h < heads; ++h) {
        float* v = dx + i * ld + h * d;
        for (int64_t j = 0; j < half; ++j) {
          const float a = v[j], b = v[j + half];  // dx'_1, dx'_2
          v[j] = a * c[j] + b * s[j + half];
          v[j + half] = b * c[j + half] - a * s[j];
        }
      }
    }
  });
}

void attention_forward(float* o, float* p, const float* q, const float* k, const float* v, const uint8_t* real,
                       const AttentionShape& sh) {
  const int64_t L = sh.L, nh = sh.nh, nkv = sh.nkv, d = sh.d, rep = nh / nkv, ld = sh.ld;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  at::parallel_for(0, sh.B * nkv, 1, [&](int64_t task0, int64_t task1) {
    for (int64_t task = task0; task < task1; ++task) {
      const int64_t b = task / nkv, g = task % nkv;
      const uint8_t* rb = real + b * L;
      const CStrided K(k + b * L * ld + g * d, L, d, Eigen::OuterStride<>(ld));  // (L, d)
      const CStrided V(v + b * L * ld + g * d, L, d, Eigen::OuterStride<>(ld));  // (L, d)
      for (int64_t h = g * rep; h < (g + 1) * rep; ++h) {
        const CStrided Q(q + b * L * ld + h * d, L, d, Eigen::OuterStride<>(ld));  // (L, d)
        MapR P(p + (b * nh + h) * L * L, L, L);                                           // (L, L)
        // Scores on and below the diagonal only: the softmax below writes every entry above it.
        P.triangularView<Eigen::Lower>() = Q * K.transpose();
        for (int64_t t = 0; t < L; ++t) {
          float* row = P.data() + t * L;
          float m = -std::numeric_limits<float>::infinity();
          for (int64_t s = 0; s <= t; ++s) {
            if (rb[s]) m = std::max(m, row[s] * scale);
          }
          if (m == -std::numeric_limits<float>::infinity()) {  // no key: uniform over all L
            std::fill(row, row + L, 1.0f / static_cast<float>(L));
            continue;
          }
          float sum = 0.0f;
          for (int64_t s = 0; s <= t; ++s) {
            row[s] = rb[s] ? std::exp(row[s] * scale - m) : 0.0f;
            sum += row[s];
          }
          const float inv = 1.0f / sum;
          for (int64_t s = 0; s <= t; ++s) row[s] *= inv;
          std::fill(row + t + 1, row + L, 0.0f);
        }
        Strided O(o + b * L * nh * d + h * d, L, d, Eigen::OuterStride<>(nh * d));  // (L, d)
        O.noalias() = P * V;
      }
    }
  });
}

void attention_backward(float* dq, float* dk, float* dv, const float* do_, const float* p, const float* q,
                        const float* k, const float* v, const uint8_t* real, const AttentionShape& sh) {
  const int64_t L = sh.L, nh = sh.nh, nkv = sh.nkv, d = sh.d, rep = nh / nkv, ld = sh.ld;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  // One task per (sequence, kv head): the rep query heads of a group add into the same dk, dv rows.
  at::parallel_for(0, sh.B * nkv, 1, [&](int64_t task0, int64_t task1) {
    RowMat dS(L, L);  // (L, L): dP, then the scores' gradient
    for (int64_t task = task0; task < task1; ++task) {
      const int64_t b = task / nkv, g = task % nkv;
      const uint8_t* rb = real + b * L;
      const CStrided K(k + b * L * ld + g * d, L, d, Eigen::OuterStride<>(ld));  // (L, d)
      const CStrided V(v + b * L * ld + g * d, L, d, Eigen::OuterStride<>(ld));  // (L, d)
      Strided dK(dk + b * L * ld + g * d, L, d, Eigen::OuterStride<>(ld));       // (L, d)
      Strided dV(dv + b * L * ld + g * d, L, d, Eigen::OuterStride<>(ld));       // (L, d)
      dK.setZero();
      dV.setZero();
      for (int64_t h = g * rep; h < (g + 1) * rep; ++h) {
        const CStrided Q(q + b * L * ld + h * d, L, d, Eigen::OuterStride<>(ld));                  // (L, d)
        const CStrided dO(do_ + b * L * nh * d + h * d, L, d, Eigen::OuterStride<>(nh * d));  // (L, d)
        Strided dQ(dq + b * L * ld + h * d, L, d, Eigen::OuterStride<>(ld));                       // (L, d)
        const CMapR P(p + (b * nh + h) * L * L, L, L);                     // (L, L)
        dV.noalias() += P.transpose() * dO;
        dS.triangularView<Eigen::Lower>() = dO * V.transpose();  // the loop below zeroes the rest
        for (int64_t t = 0; t < L; ++t) {
          float* row = dS.data() + t * L;
          const float* prow = P.data() + t * L;
          bool any = false;
          for (int64_t s = 0; s <= t && !any; ++s) any = rb[s] != 0;
          if (!any) {  // the uniform row of a query with no key: its scores were masked out
            std::fill(row, row + L, 0.0f);
            continue;
          }
          float dot = 0.0f;
          for (int64_t s = 0; s <= t; ++s) dot += prow[s] * row[s];
          for (int64_t s = 0; s <= t; ++s) row[s] = prow[s] * (row[s] - dot) * scale;
          std::fill(row + t + 1, row + L, 0.0f);
        }
        dQ.noalias() = dS.triangularView<Eigen::Lower>() * K;
        dK.noalias() += dS.triangularView<Eigen::Lower>().transpose() * Q;
      }
    }
  });
}

void swiglu_forward(float* a, float* sig, const float* gu, int64_t n, int64_t i) {
  parallel_rows(n, 4 * i, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const Eigen::Map<const Arr> G(gu + r * 2 * i, i), U(gu + r * 2 * i + i, i);
      Eigen::Map<Arr> S(sig + r * i, i);
      S = 1.0f / (1.0f + (-G).exp());
      Eigen::Map<Arr>(a + r * i, i) = G * S * U;
    }
  });
}

void swiglu_backward(float* dgu, const float* da, const float* sig, const float* gu, int64_t n, int64_t i) {
  parallel_rows(n, 4 * i, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const Eigen::Map<const Arr> G(gu + r * 2 * i, i), U(gu + r * 2 * i + i, i), S(sig + r * i, i),
          dA(da + r * i, i);
      Eigen::Map<Arr>(dgu + r * 2 * i, i) = dA * U * S * (1.0f + G * (1.0f - S));
      Eigen::Map<Arr>(dgu + r * 2 * i + i, i) = dA * G * S;
    }
  });
}

namespace {

// Per scored row: lse = logsumexp(z), entropy = lse − Σ p z, in double over the V logits.
struct RowStats {
  double lse, entropy;
};
RowStats row_stats(const float* z, int64_t V) {
  double m = z[0];
  for (int64_t j = 1; j < V; ++j) m = std::max(m, static_cast<double>(z[j]));
  double sum = 0.0, pz = 0.0;
  for (int64_t j = 0; j < V; ++j) {
    const double e = std::exp(z[j] - m);
    sum += e;
    pz += e * z[j];
  }
  const double lse = m + std::log(sum);
  return {lse, lse - pz / sum};
}

}  // namespace

void lm_head_forward(float* logp, float* entropy, const float* h, const float* w, const int64_t* targets,
                     const HeadShape& sh, float* z_work, int64_t chunk_rows) {
  const int64_t L = sh.L, H = sh.H, V = sh.V, n = sh.B * L;
  const float inv_tau = static_cast<float>(1.0 / sh.tau);
  for (int64_t b = 0; b < sh.B; ++b) logp[b * L] = entropy[b * L] = 0.0f;
  for (int64_t r0 = 0; r0 < n; r0 += chunk_rows) {
    const int64_t r1 = std::min(n, r0 + chunk_rows);
    MapR Z(z_work, r1 - r0, V);  // (rows, V)
    Z.noalias() = CMapR(h + r0 * H, r1 - r0, H) * CMapR(w, V, H).transpose();
    if (sh.tau != 1.0) Z *= inv_tau;
    for (int64_t i = r0; i < r1; ++i) {
      if (i % L == L - 1) continue;
      const float* z = z_work + (i - r0) * V;
      const RowStats st = row_stats(z, V);
      logp[i + 1] = static_cast<float>(z[targets[i + 1]] - st.lse);
      entropy[i + 1] = static_cast<float>(st.entropy);
    }
  }
}

void lm_head_backward(float* dh, float* dw, const float* g_logp, const float* g_entropy, const float* h,
                      const float* w, const int64_t* targets, const HeadShape& sh, float* z_work,
                      int64_t chunk_rows) {
  const int64_t L = sh.L, H = sh.H, V = sh.V, n = sh.B * L;
  const float inv_tau = static_cast<float>(1.0 / sh.tau);
  for (int64_t r0 = 0; r0 < n; r0 += chunk_rows) {
    const int64_t r1 = std::min(n, r0 + chunk_rows);
    MapR Z(z_work, r1 - r0, V);  // (rows, V): logits, then their gradient
    const CMapR Hc(h + r0 * H, r1 - r0, H);
    Z.noalias() = Hc * CMapR(w, V, H).transpose();
    if (sh.tau != 1.0) Z *= inv_tau;
    for (int64_t i = r0; i < r1; ++i) {
      float* z = z_work + (i - r0) * V;
      if (i % L == L - 1) {
        std::fill(z, z + V, 0.0f);
        continue;
      }
      const RowStats st = row_stats(z, V);
      const double gl = g_logp[i + 1], ge = g_entropy[i + 1];
      const int64_t y = targets[i + 1];
      for (int64_t j = 0; j < V; ++j) {
        const double lsm = z[j] - st.lse, pj = std::exp(lsm);
        const double dz = gl * ((j == y ? 1.0 : 0.0) - pj) - ge * pj * (lsm + st.entropy);
        z[j] = static_cast<float>(dz * inv_tau);
      }
    }
    MapR(dh + r0 * H, r1 - r0, H).noalias() = Z * CMapR(w, V, H);
    MapR(dw, V, H).noalias() += Z.transpose() * Hc;
  }
}

}  // namespace rlpp::nn::lm::fast
