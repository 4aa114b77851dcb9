#include "rlpp/nn/lm/fast_decode.h"

// GCC 12 reports false "may be used uninitialized" warnings inside its own AVX-512 intrinsics when
// Eigen's matrix-product kernels are inlined (as in fast_mlp.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <torch/version.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "nn/lm/fast_lm_kernels.h"
#include "rlpp/core/error.h"
#include "rlpp/nn/fast_mlp.h"  // AlignedFloats

namespace rlpp::nn::lm {

namespace {

// Activations as (rows, width) row-major matrices; weights in LibTorch's (out, in) row-major layout.
using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Arr = Eigen::Array<float, Eigen::Dynamic, 1>;

// Scratch buffers of one thread, grown to the largest call and then reused (no allocation per step).
// 64-byte aligned: Eigen's vectorised sums split a buffer into head/body/tail by its address, so
// plain std::vector storage (16-byte aligned) would round differently from one allocation to the
// next and make runs irreproducible.
struct Workspace {
  AlignedFloats x, xn, q, k, v, att, gate, up, cos, sin, scores, out, r;
  std::vector<int64_t> rows;
};

float* grow(AlignedFloats& buf, int64_t n) {
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(static_cast<size_t>(n));
  return buf.data();
}

// One query's attention over the first n slots of its kv head (the slots s < n with valid[s]):
//   out (d) = Σ_s p_s v_s,  p = softmax(q·k_s · scale)
// A query with no valid slot (a left pad; its output is never read by a real token) attends as
// transformer.cpp's path makes it: LibTorch 1.13 masks with the lowest float, so uniformly over all
// S filled slots; LibTorch 2 opens the row to every one of them.
//   q (d); k, v (L, d) of the kv head; valid (L); scores (S) scratch
void attend_one(float* out, const float* q, const float* k, const float* v, const bool* valid, int64_t n, int64_t S,
                int64_t d, float scale, float* scores) {
  using Vec = Eigen::Matrix<float, Eigen::Dynamic, 1>;
  const Eigen::Map<const Vec> qv(q, d);
  Eigen::Map<Vec> out_v(out, d);
  Eigen::Map<Vec> sc(scores, n);
  sc.noalias() = Eigen::Map<const RowMat>(k, n, d) * qv;  // (n) = K (n, d) q
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t s = 0; s < n; ++s) {
    if (valid[s]) {
      scores[s] *= scale;
      mx = std::max(mx, scores[s]);
    } else {
      scores[s] = -std::numeric_limits<float>::infinity();  // exp → 0, as the lowest-value mask gives
    }
  }
  if (mx == -std::numeric_limits<float>::infinity()) {
    Eigen::Map<Vec> all(scores, S);
#if TORCH_VERSION_MAJOR >= 2
    all.noalias() = Eigen::Map<const RowMat>(k, S, d) * qv;
    all = ((all.array() * scale) - (all.maxCoeff() * scale)).exp().matrix();
    all /= all.sum();
#else
    all.setConstant(1.0f / static_cast<float>(S));
#endif
    out_v.noalias() = Eigen::Map<const RowMat>(v, S, d).transpose() * all;
    return;
  }
  sc = (sc.array() - mx).exp().matrix();
  sc /= sc.sum();
  out_v.noalias() = Eigen::Map<const RowMat>(v, n, d).transpose() * sc;  // (d) = V^T (d, n) p
}

void require_cache_tensor(const torch::Tensor& t, const std::vector<int64_t>& shape, const char* what) {
  if (!t.defined() || !t.device().is_cpu() || t.scalar_type() != torch::kFloat || !t.is_contiguous() ||
      t.sizes() != c10::IntArrayRef(shape)) {
    throw core::UserError(std::string("fast_forward_cached: the cache's ") + what +
                          " must be a contiguous CPU fp32 tensor of shape " + c10::str(c10::IntArrayRef(shape)) +
                          " (the fast path keeps no bf16 or GPU cache), got " +
                          (t.defined() ? c10::str(t.sizes(), " ", t.scalar_type(), " ", t.device()) : "undefined"));
  }
}

}  // namespace

torch::Tensor fast_forward_cached(const LlamaWeights& w, const RopeFrequencies& rope, const torch::Tensor& tokens_in,
                                  const torch::Tensor& positions_in, const torch::Tensor& valid_in, KvCache& cache) {
  const char* where = "fast_forward_cached";
  const LmConfig& c = w.cfg;
  if (!tokens_in.defined() || tokens_in.dim() != 2 || tokens_in.scalar_type() != torch::kLong ||
      !tokens_in.device().is_cpu()) {
    throw core::UserError(std::string(where) + ": tokens must be a (B, T) int64 CPU tensor");
  }
  const int64_t B = tokens_in.size(0), T = tokens_in.size(1), M = B * T;
  for (const auto* t : {&positions_in, &valid_in}) {
    if (!t->defined() || t->dim() != 2 || t->size(0) != B || t->size(1) != T || !t->device().is_cpu()) {
      throw core::UserError(std::string(where) + ": positions and valid must be CPU tensors of the shape of tokens (B, T)");
    }
  }
  if (torch::GradMode::is_enabled()) {
    throw core::UserError(std::string(where) + ": the fast decode path has no backward; call it under "
                          "torch::NoGradGuard or c10::InferenceMode (as sample::Generator does)");
  }
  const int64_t H = c.hidden_size, V = c.vocab_size, I = c.intermediate_size, d = c.resolved_head_dim();
  const int64_t nh = c.num_attention_heads, nkv = c.num_key_value_heads, rep = nh / nkv;
  const int64_t Dq = nh * d, Dkv = nkv * d, half = d / 2;
  if (static_cast<int64_t>(cache.k.size()) != c.num_hidden_layers || static_cast<int64_t>(cache.v.size()) != c.num_hidden_layers ||
      !cache.key_valid.defined() || cache.batch() != B) {
    throw core::UserError(std::string(where) + ": the cache was not made for this model and batch size " + std::to_string(B));
  }
  const int64_t start = cache.length, S = start + T, L = cache.max_len;
  if (S > L) {
    throw core::UserError(std::string(where) + ": cache overflow: " + std::to_string(start) + " + " + std::to_string(T) +
                          " tokens exceed max_len " + std::to_string(L));
  }
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    require_cache_tensor(cache.k[l], {B, nkv, L, d}, "keys");
    require_cache_tensor(cache.v[l], {B, nkv, L, d}, "values");
  }
  if (!cache.key_valid.device().is_cpu() || cache.key_valid.scalar_type() != torch::kBool ||
      !cache.key_valid.is_contiguous() || cache.key_valid.size(1) != L) {
    throw core::UserError(std::string(where) + ": the cache's key_valid must be a contiguous CPU bool (B, max_len) tensor");
  }

  const torch::Tensor tokens = tokens_in.contiguous();
  const torch::Tensor positions = positions_in.to(torch::kLong).contiguous();
  const torch::Tensor valid = valid_in.to(torch::kBool).contiguous();
  const int64_t* tok = tokens.data_ptr<int64_t>();
  const int64_t* pos = positions.data_ptr<int64_t>();
  const bool* val = valid.data_ptr<bool>();
  for (int64_t i = 0; i < M; ++i) {
    if (tok[i] < 0 || tok[i] >= V) {
      throw core::UserError(std::string(where) + ": token " + std::to_string(tok[i]) + " at (" + std::to_string(i / T) +
                            ", " + std::to_string(i % T) + ") is outside the vocabulary [0, " + std::to_string(V) + ")");
    }
  }
  torch::Tensor logits = torch::empty({B, T, V}, torch::kFloat);  // (B, T, V)
  if (M == 0) return logits;

  thread_local Workspace ws;
  // The rows with at least one valid new token. A row whose every new token is invalid (a finished
  // row fed the pad while the others decode) is skipped: nothing reads its slots (key_valid is
  // false there) and the caller ignores its logits, which come back 0. Internal row i = a·T + t
  // stands for (rows[a], t).
  ws.rows.clear();
  for (int64_t b = 0; b < B; ++b) {
    if (std::any_of(val + b * T, val + (b + 1) * T, [](bool x) { return x; })) ws.rows.push_back(b);
  }
  const std::vector<int64_t>& rows = ws.rows;
  const int64_t A = static_cast<int64_t>(rows.size());
  const int64_t Mc = A * T;  // computed rows
  float* x = grow(ws.x, Mc * H);       // (Mc, H) residual stream
  float* xn = grow(ws.xn, Mc * H);       // (Mc, H) normed
  float* q = grow(ws.q, Mc * Dq);        // (Mc, nh, d)
  float* k = grow(ws.k, Mc * Dkv);       // (Mc, nkv, d)
  float* v = grow(ws.v, Mc * Dkv);       // (Mc, nkv, d)
  float* att = grow(ws.att, Mc * Dq);    // (Mc, nh, d)
  float* gate = grow(ws.gate, Mc * I);   // (Mc, I)
  float* up = grow(ws.up, Mc * I);       // (Mc, I)
  float* cs = grow(ws.cos, Mc * d);      // (Mc, d)
  float* sn = grow(ws.sin, Mc * d);      // (Mc, d)
  float* rn = grow(ws.r, Mc);            // (Mc) RMSNorm's 1 / rms (unused here)
  float* scores = grow(ws.scores, S);  // (S)

  // ---- RoPE tables: angle = float(position) · float(inv_freq), cos/sin in fp32 (rope.cpp) --------
  RopeFrequencies dynamic;
  const RopeFrequencies* rf = &rope;
  if (c.rope_scaling.kind == "dynamic") {  // the frequencies depend on the call's largest position
    dynamic = rope_frequencies(c, *std::max_element(pos, pos + M) + 1);  // every row, as LibTorch
    rf = &dynamic;
  }
  {
    const torch::Tensor inv_freq = rf->inv_freq.to(torch::kDouble).contiguous();
    const double* f64 = inv_freq.data_ptr<double>();
    const float af = static_cast<float>(rf->attention_factor);
    for (int64_t r = 0; r < Mc; ++r) {
      const float p = static_cast<float>(pos[rows[r / T] * T + r % T]);
      for (int64_t i = 0; i < half; ++i) {  // the two halves of a (d) row are equal
        const float a = p * static_cast<float>(f64[i]);
        float c_i = std::cos(a), s_i = std::sin(a);
        if (rf->attention_factor != 1.0) {
          c_i *= af;
          s_i *= af;
        }
        cs[r * d + i] = cs[r * d + half + i] = c_i;
        sn[r * d + i] = sn[r * d + half + i] = s_i;
      }
    }
  }

  // ---- the new slots' validity (read by every layer's attention) ---------------------------------
  bool* kv_valid = cache.key_valid.data_ptr<bool>();  // (B, L)
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T; ++t) kv_valid[b * L + start + t] = val[b * T + t];
  }

  // ---- embedding ---------------------------------------------------------------------------------
  for (int64_t i = 0; i < Mc; ++i) std::copy_n(w.embed + tok[rows[i / T] * T + i % T] * H, H, x + i * H);

  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const LlamaLayerWeights& lw = w.layers[static_cast<size_t>(l)];
    // -- attention: q, k, v (Mc, ·) = norm(x) W^T (+ b), RoPE on q and k
    fast::rms_norm_forward(xn, rn, x, lw.input_norm, Mc, H, c.rms_norm_eps);
    fast::linear_forward(q, xn, lw.q, lw.q_bias, /*res=*/nullptr, Mc, H, Dq);
    fast::linear_forward(k, xn, lw.k, lw.k_bias, /*res=*/nullptr, Mc, H, Dkv);
    fast::linear_forward(v, xn, lw.v, lw.v_bias, /*res=*/nullptr, Mc, H, Dkv);
    fast::rope_forward(q, /*ld=*/Dq, cs, sn, Mc, nh, d);
    fast::rope_forward(k, /*ld=*/Dkv, cs, sn, Mc, nkv, d);
    // -- the new keys/values into slots [start, S) of the cache, (B, nkv, L, d)
    float* kc = cache.k[l].data_ptr<float>();
    float* vc = cache.v[l].data_ptr<float>();
    for (int64_t a = 0; a < A; ++a) {
      const int64_t b = rows[a];
      for (int64_t t = 0; t < T; ++t) {
        for (int64_t g = 0; g < nkv; ++g) {
          const int64_t src = ((a * T + t) * nkv + g) * d, dst = ((b * nkv + g) * L + start + t) * d;
          std::copy_n(k + src, d, kc + dst);
          std::copy_n(v + src, d, vc + dst);
        }
      }
    }
    // -- softmax(q·k / sqrt(d)) v over the allowed slots s ≤ start + t with key_valid[b, s]
    for (int64_t a = 0; a < A; ++a) {
      const int64_t b = rows[a];
      const bool* kvb = kv_valid + b * L;
      for (int64_t h = 0; h < nh; ++h) {
        const int64_t g = h / rep;
        const float* kg = kc + (b * nkv + g) * L * d;  // (L, d)
        const float* vg = vc + (b * nkv + g) * L * d;  // (L, d)
        for (int64_t t = 0; t < T; ++t) {
          attend_one(att + ((a * T + t) * nh + h) * d, q + ((a * T + t) * nh + h) * d, kg, vg, kvb,
                     /*n=*/start + t + 1, S, d, scale, scores);
        }
      }
    }
    // -- x += o(att) (+ b)
    fast::linear_forward(x, att, lw.o, lw.o_bias, /*res=*/x, Mc, Dq, H);
    // -- x += down(silu(gate(norm(x))) * up(norm(x)))  (SwiGLU, arXiv:2002.05202)
    fast::rms_norm_forward(xn, rn, x, lw.post_norm, Mc, H, c.rms_norm_eps);
    fast::linear_forward(gate, xn, lw.gate, lw.gate_bias, /*res=*/nullptr, Mc, H, I);
    fast::linear_forward(up, xn, lw.up, lw.up_bias, /*res=*/nullptr, Mc, H, I);
    {
      Eigen::Map<Arr> gt(gate, Mc * I);
      const Eigen::Map<const Arr> u(up, Mc * I);
      gt = gt / (1.0f + (-gt).exp()) * u;  // silu(g) = g / (1 + e^-g)
    }
    fast::linear_forward(x, gate, lw.down, lw.down_bias, /*res=*/x, Mc, I, H);
  }
  fast::rms_norm_forward(xn, rn, x, w.final_norm, Mc, H, c.rms_norm_eps);
  float* out = logits.data_ptr<float>();  // (B, T, V)
  if (A == B) {
    fast::linear_forward(out, xn, w.lm_head, nullptr, nullptr, Mc, H, V);
  } else {
    float* part = grow(ws.out, Mc * V);  // (Mc, V)
    fast::linear_forward(part, xn, w.lm_head, nullptr, nullptr, Mc, H, V);
    std::fill_n(out, M * V, 0.0f);
    for (int64_t a = 0; a < A; ++a) std::copy_n(part + a * T * V, T * V, out + rows[a] * T * V);
  }
  cache.length = S;
  return logits;
}

}  // namespace rlpp::nn::lm
