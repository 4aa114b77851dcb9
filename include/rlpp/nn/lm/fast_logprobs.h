// Teacher-forced log-probabilities and entropies of a small Llama/Qwen2 model through hand-written
// fp32 CPU kernels (forward and hand-derived backward), the fast path of token_logprobs() when
// TransformerLm::fast_path() is on. Same definition as token_logprobs (transformer.h): logp[:, 0] =
// entropy[:, 0] = 0, logits divided by the temperature, left padding through `attention`; equal to
// the LibTorch path up to float rounding, not bit for bit.
//
// The pass keeps every activation its backward needs (per layer the residual input, both normed
// inputs, q|k|v after RoPE, the attention probabilities (B, nh, L, L), the attention output, the mid
// residual, gate|up, σ(gate), silu(gate)·up and two RMSNorm scales: about 4H + 2·nh·d + 2·nkv·d + 4I
// + nh·L floats per token and layer), so it suits the small models rlpp trains on the CPU, not long
// contexts. The projections run as a few large row-major GEMMs (q|k|v and gate|up stacked into one
// product each) through OpenBLAS's sgemm when LibTorch loaded it (else Eigen); attention runs per
// (sequence, kv head) with the query heads of a group together, over torch::get_num_threads()
// threads; RMSNorm, RoPE, SwiGLU and the residual adds are single fused passes. Buffers are reused
// between calls: up to two freed activation buffers process-wide and one scratch buffer per calling
// thread (about 2H + 2·(nh + nkv)·d + 3I floats per token of the largest batch) stay allocated.
#pragma once
#include <torch/torch.h>

#include "rlpp/nn/lm/transformer.h"

namespace rlpp::nn::lm {

// tokens (B, L) int64 (CPU); attention (B, L) bool or undefined. Differentiable with respect to
// every parameter of llama_parameters(model) (the autograd node returns all their gradients, the
// tied head's added into the embedding's). Throws core::UserError when fast_path_unsupported(model)
// gives a reason, or on tokens outside [0, vocab_size).
TokenLogProbs fast_token_logprobs(TransformerLm& model, const torch::Tensor& tokens,
                                  const torch::Tensor& attention = {}, double temperature = 1.0);

}  // namespace rlpp::nn::lm
