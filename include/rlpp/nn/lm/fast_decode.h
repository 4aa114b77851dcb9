// The incremental (KV-cache) forward of a Llama / Qwen2 TransformerLm in hand-written fp32 CPU
// kernels: what TransformerLmImpl::forward_cached runs when set_fast_path(true). On the small
// models rlpp trains on CPU (a few layers, hidden 128, a character vocabulary) a LibTorch decode
// step is mostly per-op dispatch (~40 ops per layer); here one step is a handful of GEMMs over flat
// buffers (fast_lm_kernels.h, shared with the teacher-forced fast path: OpenBLAS's sgemm when the
// process has it, Eigen otherwise) plus loops for RMSNorm, RoPE, attention over the cache and SwiGLU.
//
// It computes exactly what transformer.cpp's path computes, in fp32 (not bit for bit: the
// summation orders differ, ~1e-6 relative):
//   x = embed[tokens]                                               (M = B·T rows, H)
//   per layer: q, k, v = norm(x) W^T (+ b); RoPE on q, k (rotate_half, fp32 cos/sin of
//              position · inv_freq, times the attention factor); k, v written to cache slots
//              [length, length + T); attention of query t of row b over the slots s ≤ length + t
//              with key_valid[b, s], softmax(q·k / sqrt(d)), GQA head h reading kv head h / (nh/nkv);
//              a query with no such slot (a left pad) attends uniformly to all length + T slots, as
//              the LibTorch 1.13 path's lowest-value mask gives; x += o(attn) (+ b);
//              x += down(silu(gate(norm(x))) * up(norm(x)))
//   logits = norm(x) lm_head^T                                      (B, T, V)
// RMSNorm as Hugging Face: w · x / sqrt(mean(x²) + eps). The cache is the same KvCache, written in
// place, so the two paths can take turns in one generation (and the partial-rollout re-encode,
// which resets the cache, works unchanged).
// One difference by design: a row whose every new token is invalid (a finished row that the
// generator feeds the pad while other rows decode) is not computed. Its logits come back 0 and its
// new slots keep whatever they held (marked invalid in key_valid, so no real token reads them);
// the LibTorch path computes the pad's logits and keys, which no one uses either. Decoding then
// costs the live rows only.
#pragma once
#include <torch/torch.h>

#include "rlpp/nn/lm/kv_cache.h"
#include "rlpp/nn/lm/llama_weights.h"
#include "rlpp/nn/lm/rope.h"

namespace rlpp::nn::lm {

// logits (B, T, V) fp32 of the T new tokens per row, appended to `cache` (cache.length grows by T).
//   w        the model's parameters (bind_llama of llama_parameters)
//   rope     the model's fixed frequencies; with rope_scaling "dynamic" they are recomputed from
//            the call's largest position, as transformer.cpp does
//   tokens (B, T) int64, positions (B, T) int64 (RoPE), valid (B, T) bool (false: pad)
//   cache    CPU fp32 contiguous buffers made for this model and batch B
// Has no backward: call it without grad mode (the generator runs under NoGradGuard). Scratch buffers
// are per thread and grow to the largest call seen, so a decode loop allocates only the logits.
// core::UserError on a bad shape, token, dtype, device or a full cache.
torch::Tensor fast_forward_cached(const LlamaWeights& w, const RopeFrequencies& rope, const torch::Tensor& tokens,
                                  const torch::Tensor& positions, const torch::Tensor& valid, KvCache& cache);

}  // namespace rlpp::nn::lm
