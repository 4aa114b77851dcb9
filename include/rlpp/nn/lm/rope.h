// Rotary position embedding (RoPE, arXiv:2104.09864) exactly as Hugging Face's Llama/Qwen2 apply
// it: the head dimension d is split in two halves (the "rotate_half" convention, not interleaved
// pairs), inv_freq_i = theta^(-2i/d) for i < d/2, and
//   q' = q * cos(p * f) + rotate_half(q) * sin(p * f),  rotate_half([x1, x2]) = [-x2, x1],
// with f = [inv_freq, inv_freq] (length d) and p the token's position.
// Scaling variants ("rope_scaling"):
//   linear  (Position Interpolation, arXiv:2306.15595): inv_freq / factor
//   dynamic (dynamic NTK): when the sequence is longer than the original context L0,
//           theta' = theta * (factor * s / L0 - (factor - 1))^(d / (d - 2)), s = max position + 1
//           of the call (stateless; Hugging Face keeps the largest s seen until s drops below L0)
//   llama3  (Llama 3.1): wavelengths 2 pi / f below L0 / high_freq_factor kept, above
//           L0 / low_freq_factor divided by factor, in between a smooth blend
//   yarn    (arXiv:2309.00071): per-frequency ramp between interpolated (f / factor) and original f
//           over the dimension range given by beta_fast / beta_slow, and cos/sin multiplied by the
//           attention factor 0.1 ln(factor) + 1 (or the configured / mscale-derived one)
// L0 = rope_scaling.original_max_position_embeddings when set, else max_position_embeddings.
#pragma once
#include <torch/torch.h>

#include <utility>

#include "rlpp/nn/lm/config.h"

namespace rlpp::nn::lm {

struct RopeFrequencies {
  torch::Tensor inv_freq;         // (d/2) float64, CPU
  double attention_factor = 1.0;  // multiplies cos and sin (yarn); 1 otherwise
};

// The frequencies for a call whose largest position is seq_len - 1 (seq_len matters for dynamic
// scaling only).
RopeFrequencies rope_frequencies(const LmConfig& cfg, int64_t seq_len);

// positions (B, T) int64, inv_freq (d/2) -> cos, sin (B, T, d) fp32 on the positions' device,
// computed in fp32 as Hugging Face does.
std::pair<torch::Tensor, torch::Tensor> rope_cos_sin(const torch::Tensor& positions, const torch::Tensor& inv_freq,
                                                     double attention_factor);

// x (B, heads, T, d), cos/sin (B, T, d) -> x rotated, in x's dtype.
torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);

}  // namespace rlpp::nn::lm
