// A small multilayer perceptron with a hand-written backward pass, for the fast CPU control path
// (train/fast_actor_critic_learner.h). It owns no parameters: they live in a caller's flat float
// buffer, laid out exactly like LibTorch's nn::Linear stack (make_mlp in nn/actor_critic.h), so
// weights copy one to one between the two. It owns only its activation workspace, which grows to
// the largest batch seen and is then reused: forward and backward allocate nothing after warm-up.
//
//   h_0 = x                                  (m, in)
//   z_l = h_{l-1} W_l^T + b_l,  l = 1..L      W_l (out_l, in_l), b_l (out_l)
//   h_l = act(z_l) for l < L,   out = z_L     (m, out)
//   (tanh_out: out = tanh(z_L), the bounded Gaussian mean of MlpPolicyOptions::mean_tanh)
//
// Internally a batch of m rows is stored feature-major, i.e. an (m, width) row-major array read as
// a (width, m) column-major matrix, so z_l = W_l h_{l-1} is one matrix product per layer.
#pragma once
#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <vector>

namespace rlpp::nn {

// Allocates on 64-byte boundaries (a cache line, one AVX-512 register). Vectorised loops then split
// a buffer into the same head/body/tail in every instance, so results are reproducible bit for bit
// (Eigen's packet tanh and its scalar tail round differently).
template <class T>
struct AlignedAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlignment{64};
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlignment)); }
  void deallocate(T* p, std::size_t) { ::operator delete(p, kAlignment); }
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const { return true; }
  template <class U>
  bool operator!=(const AlignedAllocator<U>&) const { return false; }
};
using AlignedFloats = std::vector<float, AlignedAllocator<float>>;

enum class Activation { kTanh, kRelu };

// "tanh" or "relu" (MlpPolicyOptions::activation); anything else is a UserError.
Activation parse_activation(const std::string& name);

class FastMlp {
 public:
  FastMlp() = default;
  FastMlp(int64_t in, const std::vector<int64_t>& hidden, int64_t out, Activation activation,
          bool tanh_out = false);

  int64_t in_dim() const { return widths_.front(); }
  int64_t out_dim() const { return widths_.back(); }
  int64_t num_layers() const { return static_cast<int64_t>(widths_.size()) - 1; }  // Linear layers L
  int64_t num_params() const { return num_params_; }
  // Layer l = 0..L-1 (0-based): W (layer_out, layer_in) row-major at weight_offset, b (layer_out)
  // at bias_offset, offsets within this network's parameter block.
  int64_t layer_in(int64_t l) const { return widths_[l]; }
  int64_t layer_out(int64_t l) const { return widths_[l + 1]; }
  int64_t weight_offset(int64_t l) const { return offsets_[l]; }
  int64_t bias_offset(int64_t l) const { return offsets_[l] + widths_[l] * widths_[l + 1]; }

  // Grows the workspace to batches of m rows (forward calls it; call it ahead to warm up).
  void reserve(int64_t m);

  // params (num_params), x (m, in) -> out (m, out), valid until the next forward. Keeps the hidden
  // activations and the pointer x (which must stay valid) for backward.
  const float* forward(const float* params, const float* x, int64_t m);

  // Reverse pass of the last forward (same params): given dL/dout (m, out), writes dL/dθ into
  // grads (num_params), overwriting it. No gradient for x.
  //   δ_L = dL/dout;  dW_l = δ_l^T h_{l-1};  db_l = Σ_rows δ_l;
  //   δ_{l-1} = (δ_l W_l) ⊙ act'(z_{l-1}),  tanh' = 1 − h², relu' = [h > 0]
  // (tanh_out: δ_L = dL/dout ⊙ (1 − out²).)
  void backward(const float* params, const float* dout, float* grads);

  bool tanh_out() const { return tanh_out_; }

 private:
  std::vector<int64_t> widths_;   // (L + 1): in, hidden..., out
  std::vector<int64_t> offsets_;  // (L): start of W_l in the parameter block
  int64_t num_params_ = 0;
  Activation activation_ = Activation::kTanh;
  bool tanh_out_ = false;  // tanh on the output layer too

  int64_t capacity_ = 0;                   // rows the workspace holds
  int64_t m_ = 0;                          // rows of the last forward
  const float* x_ = nullptr;               // (m, in) input of the last forward
  std::vector<AlignedFloats> h_;         // (L) of (capacity, out_l): h_l, the last one = out
  AlignedFloats delta_a_, delta_b_;       // (capacity, max width) ping-pong δ buffers
  AlignedFloats delta_out_;               // (capacity, out) δ_L when tanh_out
};

}  // namespace rlpp::nn
