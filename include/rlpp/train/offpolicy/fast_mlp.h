// The ReLU MLP of the off-policy networks (networks.h relu_mlp: Linear, ReLU, ..., Linear) with a
// hand-written backward pass that also gives the gradient with respect to its input, for SAC's
// fast path (fast_sac_update.h): the actor's loss reaches the actor through the critics' input
// (the action), and only the input gradient of the critics is wanted there.
//
// It owns no parameters: they live in a caller's flat float buffer, laid out like LibTorch's
// Linear stack (per layer W (out, in) row-major, then b (out)), so one instance serves a network
// and its target copy. It owns its input and activation workspaces, grown to the largest batch
// and then reused (nothing is allocated after warm-up), all 64-byte aligned so that two runs in
// the same state compute the same bits.
//
//   h_0 = x                                  (m, in)
//   z_l = h_{l-1} W_l^T + b_l,  l = 1..L      W_l (out_l, in_l), b_l (out_l)
//   h_l = relu(z_l) for l < L,  out = z_L     (m, out)
//
// A batch of m rows is stored as an (m, width) row-major array, read by Eigen as a (width, m)
// column-major matrix, so z_l = W_l h_{l-1} is one matrix product per layer.
#pragma once
#include <cstdint>
#include <vector>

#include "rlpp/nn/fast_mlp.h"

namespace rlpp::train::offpolicy {

class FastReluMlp {
 public:
  FastReluMlp() = default;
  FastReluMlp(int64_t in, const std::vector<int64_t>& hidden, int64_t out);

  int64_t in_dim() const { return widths_.front(); }
  int64_t out_dim() const { return widths_.back(); }
  int64_t num_layers() const { return static_cast<int64_t>(widths_.size()) - 1; }
  int64_t num_params() const { return num_params_; }
  int64_t layer_in(int64_t l) const { return widths_[l]; }
  int64_t layer_out(int64_t l) const { return widths_[l + 1]; }
  int64_t weight_offset(int64_t l) const { return offsets_[l]; }
  int64_t bias_offset(int64_t l) const { return offsets_[l] + widths_[l] * widths_[l + 1]; }

  // Grows the workspaces to batches of m rows.
  void reserve(int64_t m);
  // The (m, in) input workspace: fill it, then forward(params, m).
  float* input(int64_t m);
  // params (num_params), the input workspace's first m rows -> out (m, out), valid until the next
  // forward; the activations are kept for backward.
  const float* forward(const float* params, int64_t m);
  // Copies x (m, in) into the input workspace, then forward.
  const float* forward(const float* params, const float* x, int64_t m);

  // Reverse pass of the last forward (same params): dL/dout (m, out) -> dL/dθ into grads
  // (num_params, overwritten) when grads is not null, and dL/dx into dx (m, in) when dx is not null.
  //   δ_L = dL/dout;  dW_l = δ_l^T h_{l-1};  db_l = Σ_rows δ_l;  δ_{l-1} = (δ_l W_l) ⊙ [h_{l-1} > 0];
  //   dL/dx = δ_1 W_1
  void backward(const float* params, const float* dout, float* grads, float* dx);

 private:
  std::vector<int64_t> widths_;   // (L + 1): in, hidden..., out
  std::vector<int64_t> offsets_;  // (L): start of W_l in the parameter block
  int64_t num_params_ = 0;
  int64_t capacity_ = 0;             // rows the workspaces hold
  int64_t m_ = 0;                    // rows of the last forward
  nn::AlignedFloats x_;              // (capacity, in) input
  std::vector<nn::AlignedFloats> h_; // (L) of (capacity, out_l): h_l, the last one = out
  nn::AlignedFloats delta_a_, delta_b_;  // (capacity, max width) ping-pong δ buffers
};

}  // namespace rlpp::train::offpolicy
