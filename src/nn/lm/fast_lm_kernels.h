// Building blocks of the hand-written fp32 CPU pass over a Llama/Qwen2 model (fast_llama_pass.h):
// each layer's forward and its hand-derived backward on flat row-major buffers, one row per token
// (n = B·L rows). The big products go through fast_gemm.h (OpenBLAS's sgemm when loaded, else
// Eigen); attention (per (sequence, kv head)) and the elementwise passes (per row) split over
// at::parallel_for, i.e. torch::get_num_threads() threads, each output written by one task; sums
// over rows (weight gradients) run in row order on one thread. Backward functions that say so
// accumulate (+=) into gradient buffers, so the caller zeroes those once.
#pragma once
#include <cstdint>

namespace rlpp::nn::lm::fast {

// ---- linear layers (LibTorch's (out, in) weight layout) ----------------------------------------

// y = x w^T + b (+ res: the residual stream).   y (n, out); x (n, in); w (out, in); b (out) or
// nullptr; res (n, out) or nullptr (may equal y)
void linear_forward(float* y, const float* x, const float* w, const float* b, const float* res, int64_t n,
                    int64_t in, int64_t out);

// dx (+)= dy w.   dx (n, in); dy (n, out); w (out, in)
void linear_backward_input(float* dx, const float* dy, const float* w, int64_t n, int64_t in, int64_t out,
                           bool accumulate);

// dw += dy^T x; db += sum over rows of dy.   dw (out, in); db (out) or nullptr; dy (n, out); x (n, in)
void linear_backward_weight(float* dw, float* db, const float* dy, const float* x, int64_t n, int64_t in,
                            int64_t out);

// ---- RMSNorm (arXiv:1910.07467): y = w ⊙ x · r, r = (mean(x²) + eps)^(-1/2) per row ---------------

// y (n, h); r (n) saved for the backward; x (n, h); w (h)
void rms_norm_forward(float* y, float* r, const float* x, const float* w, int64_t n, int64_t h, double eps);

// With g = w ⊙ dy:  dx += r g − (r³/h) x Σ_j g_j x_j;  dw += Σ_rows dy ⊙ x · r.
//   dx (n, h); dw (h); dy (n, h); x (n, h); r (n); w (h)
void rms_norm_backward(float* dx, float* dw, const float* dy, const float* x, const float* r, const float* w,
                       int64_t n, int64_t h);

// ---- RoPE, rotate_half convention (rope.h): x' = x ⊙ cos + rotate_half(x) ⊙ sin ------------------

// In place on the first heads·d columns of each row of x (row stride ld), row i with cos/sin (n, d)
// row i. Queries and keys sit side by side in the fused q|k|v rows, so one call rotates both.
void rope_forward(float* x, int64_t ld, const float* cos, const float* sin, int64_t n, int64_t heads, int64_t d);

// The transpose: dx = dx' ⊙ cos + rotate_half^T(dx' ⊙ sin), rotate_half^T([a, b]) = [b, -a]. In place.
void rope_backward(float* dx, int64_t ld, const float* cos, const float* sin, int64_t n, int64_t heads, int64_t d);

// ---- causal grouped-query attention --------------------------------------------------------------

// Shapes of one call: B sequences of L tokens (row b·L + t), nh query heads reading kv head
// h / (nh / nkv), head dim d; q, k, v rows (and their gradients') have stride ld. Query t attends to
// key s when s <= t and real[b, s]; a query with no such key (a left pad) attends uniformly to all
// L keys, as the LibTorch path's lowest-value mask makes it (its scores get no gradient).
struct AttentionShape {
  int64_t B, L, nh, nkv, d, ld;
};

// p = softmax(q k^T / sqrt(d) masked), o = p v.
//   o (B·L, nh·d) contiguous; p (B, nh, L, L) saved; q (B·L, nh·d), k, v (B·L, nkv·d) after RoPE,
//   row stride ld; real (B, L)
void attention_forward(float* o, float* p, const float* q, const float* k, const float* v, const uint8_t* real,
                       const AttentionShape& s);

// dP = dO v^T, dS = P ⊙ (dP − rowsum(P ⊙ dP)) / sqrt(d); dq = dS k, dk = Σ dS^T q, dv = Σ P^T dO
// (the nh / nkv query heads of a group summed into their kv head). dq, dk, dv are written.
//   dq, dk, dv: stride ld like q, k, v; do_ (B·L, nh·d) contiguous; p, q, k, v, real as in the forward
void attention_backward(float* dq, float* dk, float* dv, const float* do_, const float* p, const float* q,
                        const float* k, const float* v, const uint8_t* real, const AttentionShape& s);

// ---- SwiGLU (arXiv:2002.05202): a = silu(g) ⊙ u = g σ(g) u ----------------------------------------

// gu (n, 2i): gate columns [0, i), up columns [i, 2i) (one fused product). a (n, i); sig (n, i) = σ(g)
// saved, so the backward needs no exp.
void swiglu_forward(float* a, float* sig, const float* gu, int64_t n, int64_t i);

// dg = da ⊙ u ⊙ σ(g)(1 + g(1 − σ(g))), du = da ⊙ g σ(g), written into dgu (n, 2i) like gu.
void swiglu_backward(float* dgu, const float* da, const float* sig, const float* gu, int64_t n, int64_t i);

// ---- LM head: teacher-forced log-probabilities and entropies --------------------------------------

// Row n = b·L + t is scored when t < L − 1, against target[b, t + 1]; with z = h w^T / τ,
//   logp = z_y − logsumexp(z),  entropy = −Σ p log p,  p = softmax(z).
// logp, entropy (B, L) get column 0 = 0 and columns t + 1 from row t. Rows are processed in chunks
// of `chunk_rows`, the (chunk_rows, V) logits living in `z_work`.
//   h (B·L, H); w (V, H); targets (B, L) int64; z_work (chunk_rows·V)
struct HeadShape {
  int64_t B, L, H, V;
  double tau;
};
void lm_head_forward(float* logp, float* entropy, const float* h, const float* w, const int64_t* targets,
                     const HeadShape& s, float* z_work, int64_t chunk_rows);

// With g_l = dlogp, g_e = dentropy at (b, t + 1):
//   dz = g_l (onehot(y) − p) − g_e p (log p + entropy),  dlogits = dz / τ,
//   dh = dlogits w (written; rows t = L − 1 get 0),  dw += dlogits^T h.
//   dh (B·L, H); dw (V, H); g_logp, g_entropy (B, L)
void lm_head_backward(float* dh, float* dw, const float* g_logp, const float* g_entropy, const float* h,
                      const float* w, const int64_t* targets, const HeadShape& s, float* z_work,
                      int64_t chunk_rows);

}  // namespace rlpp::nn::lm::fast
