// Building blocks of the hand-written fp32 CPU pass over a Llama/Qwen2 model (fast_logprobs.cpp):
// each layer's forward and its hand-derived backward on flat row-major buffers, one row per token
// (n = B·L rows). Matrix products go through Eigen; the big ones split their rows (or, for weight
// gradients, their output features) over at::parallel_for, so they use torch::get_num_threads()
// threads and give the same bits for any thread count. Backward functions accumulate (+=) into
// gradient buffers, so the caller zeroes those once.
#pragma once
#include <cstdint>

namespace rlpp::nn::lm::fast {

// ---- linear layers (LibTorch's (out, in) weight layout) ----------------------------------------

// y = x w^T + b (+ res: the residual stream).   y (n, out); x (n, in); w (out, in); b (out) or
// nullptr; res (n, out) or nullptr
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

// y = w ⊙ x · r again from the saved r (the backward needs the normed input of the next matmul).
void rms_norm_apply(float* y, const float* r, const float* x, const float* w, int64_t n, int64_t h);

// With g = w ⊙ dy:  dx += r g − (r³/h) x Σ_j g_j x_j;  dw += Σ_rows dy ⊙ x · r.
//   dx (n, h); dw (h); dy (n, h); x (n, h); r (n); w (h)
void rms_norm_backward(float* dx, float* dw, const float* dy, const float* x, const float* r, const float* w,
                       int64_t n, int64_t h);

// ---- RoPE, rotate_half convention (rope.h): x' = x ⊙ cos + rotate_half(x) ⊙ sin ------------------

// In place on x (n, heads·d), each row with its own cos/sin (n, d).
void rope_forward(float* x, const float* cos, const float* sin, int64_t n, int64_t heads, int64_t d);

// The transpose: dx = dx' ⊙ cos + rotate_half^T(dx' ⊙ sin), rotate_half^T([a, b]) = [b, -a]. In place.
void rope_backward(float* dx, const float* cos, const float* sin, int64_t n, int64_t heads, int64_t d);

// ---- causal grouped-query attention --------------------------------------------------------------

// Shapes of one call: B sequences of L tokens (row b·L + t), nh query heads reading kv head
// h / (nh / nkv), head dim d. Query t attends to key s when s <= t and real[b, s]; a query with no
// such key (a left pad) attends uniformly to all L keys, as the LibTorch path's lowest-value mask
// makes it (the output of such a row is never scored; its scores get no gradient).
struct AttentionShape {
  int64_t B, L, nh, nkv, d;
};

// p = softmax(q k^T / sqrt(d) masked), o = p v.
//   o (B·L, nh·d); p (B, nh, L, L) saved; q (B·L, nh·d), k, v (B·L, nkv·d) after RoPE; real (B, L)
void attention_forward(float* o, float* p, const float* q, const float* k, const float* v, const uint8_t* real,
                       const AttentionShape& s);

// dP = dO v^T, dS = P ⊙ (dP − rowsum(P ⊙ dP)) / sqrt(d); dq = dS k, dk += dS^T q, dv += P^T dO
// (the nh / nkv query heads of a group summed into their kv head). dq is written; dk, dv must be
// zero on entry.
//   dq (B·L, nh·d); dk, dv (B·L, nkv·d); do_ (B·L, nh·d); p, q, k, v, real as in the forward
void attention_backward(float* dq, float* dk, float* dv, const float* do_, const float* p, const float* q,
                        const float* k, const float* v, const uint8_t* real, const AttentionShape& s);

// ---- SwiGLU (arXiv:2002.05202): a = silu(g) ⊙ u ---------------------------------------------------

// a, g, u (n·i)
void swiglu_forward(float* a, const float* g, const float* u, int64_t count);

// dg = da ⊙ u ⊙ σ(g)(1 + g(1 − σ(g))), du = da ⊙ silu(g). dg may alias da.
void swiglu_backward(float* dg, float* du, const float* da, const float* g, const float* u, int64_t count);

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
