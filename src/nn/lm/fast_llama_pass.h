// One teacher-forced pass of a Llama/Qwen2 model over a (B, L) batch with the hand-written kernels
// of fast_lm_kernels.h: forward to log-probabilities and entropies, keeping the activations, then
// (at most once) the backward to every parameter's gradient. Shapes (N = B·L token rows):
//
//   x_0 = embed[tokens]                                              (N, H)
//   per layer:  xn = rms(x) · w_in
//               q|k|v = xn [W_q; W_k; W_v]^T (+ b), RoPE on q, k     (N, nh·d + 2·nkv·d), one product
//               o = attention(q, k, v)                               (N, nh·d)
//               m = x + o W_o^T (+ b_o)                              (N, H)
//               g|u = rms(m) · w_post [W_gate; W_up]^T (+ b)         (N, 2I), one product
//               x' = m + (silu(g) ⊙ u) W_down^T (+ b_down)           (N, H)
//   h = rms(x_L) · w_norm; logits = h W_head^T / τ                   (N, V)
// The stacked weights [W_q; W_k; W_v] and [W_gate; W_up] are copied per call (they are small) and
// kept with the activations, so the backward sees the weights the forward used.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "rlpp/nn/fast_mlp.h"  // AlignedAllocator
#include "rlpp/nn/lm/config.h"
#include "rlpp/nn/lm/llama_weights.h"

namespace rlpp::nn::lm::fast {

using FloatBuffer = nn::AlignedFloats;

// Derives from torch::CustomClassHolder so that an autograd context can hold it (IValue capsule).
class TeacherForcedPass : public torch::CustomClassHolder {
 public:
  // tokens (B, L) int64 CPU in [0, V); attention (B, L) bool or undefined. Computes positions
  // (cumulative count of real tokens − 1, clamped at 0), the pad mask and the RoPE tables.
  TeacherForcedPass(const LmConfig& cfg, const torch::Tensor& tokens, const torch::Tensor& attention, double tau);
  ~TeacherForcedPass() override;
  TeacherForcedPass(const TeacherForcedPass&) = delete;
  TeacherForcedPass& operator=(const TeacherForcedPass&) = delete;

  const LmConfig& config() const { return cfg_; }
  int64_t batch() const { return B_; }
  int64_t length() const { return L_; }

  // logp, entropy (B, L), written whole (column 0 = 0).
  void forward(const LlamaWeights& w, float* logp, float* entropy);

  // Adds the gradient of sum(g_logp ⊙ logp + g_entropy ⊙ entropy) into `grads` (bound like `w`,
  // zero on entry; with a tied head, grads.lm_head == grads.embed). Releases the activations.
  //   g_logp, g_entropy (B, L)
  void backward(const LlamaWeights& w, const LlamaWeights& grads, const float* g_logp, const float* g_entropy);

 private:
  // Offsets (in floats) of one layer's saved activations and stacked weights in acts_.
  struct LayerSlots {
    size_t x, r1, xn1, qkv, p, ao, mid, r2, xn2, gu, sig, act;  // activations
    size_t w_qkv, b_qkv, w_gu, b_gu;             // stacked weights (biases only when the model has them)
  };

  LmConfig cfg_;
  int64_t B_, L_, N_, H_, I_, V_, nh_, nkv_, d_;
  int64_t qkv_;  // nh·d + 2·nkv·d, the width of a fused q|k|v row
  double tau_;
  torch::Tensor tokens_;       // (B, L) int64, contiguous
  std::vector<uint8_t> real_;  // (B, L): 0 = padding
  torch::Tensor cos_, sin_;    // (B, L, d) fp32, contiguous
  std::vector<LayerSlots> slots_;
  size_t x_final_ = 0, r_final_ = 0, h_final_ = 0;  // (N, H), (N), (N, H)
  int64_t head_rows_ = 0;                            // rows per LM-head chunk
  FloatBuffer acts_;
  bool forward_done_ = false;
};

}  // namespace rlpp::nn::lm::fast
