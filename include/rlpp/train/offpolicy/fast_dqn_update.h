// Double DQN's gradient step without autograd (dqn.backend = "fast"), as FastSac and FastTd3 do for
// SAC and TD3: the online and the target Q network as one FastReluMlp over two flat buffers of
// LibTorch's Linear layout, the TD loss's gradient by hand, one fused Adam (nn::FastAdam, LibTorch's
// formulas, no clipping: dqn.cpp clips nothing) and Polyak over the flat target buffer. Same network,
// target, loss and order as dqn.cpp's LibTorch path (the reference, dqn.h's dqn_target and
// dqn_loss), compared in tests/train/offpolicy/fast_dqn_test.cpp.
//
//   y_b = R_b + discount_b · Q'(s'_b, a*_b),  a*_b = argmax_a Q(s'_b, a) (double_q) or argmax_a Q'(s'_b, a)
//   (R_b the n-step return and discount_b = γ^m (1 − terminated_b), both from the replay buffer)
//   L   = (1/B) Σ_b w_b ℓ(δ_b),  δ_b = Q(s_b, a_b) − y_b,  w_b the importance weights (1 uniform)
//   dL/dQ(s_b, a) = [a = a_b] · w_b ℓ'(δ_b) / B,  ℓ' = 2δ ("mse"); δ for |δ| ≤ 1, sign δ beyond ("huber")
// The argmax takes the first of equal values, as torch's.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "rlpp/nn/fast_adam.h"
#include "rlpp/train/offpolicy/fast_mlp.h"
#include "rlpp/train/offpolicy/networks.h"

namespace rlpp::train::offpolicy {

struct FastDqnConfig {
  int64_t obs_dim = 0, num_actions = 0;
  std::vector<int64_t> hidden{120, 84};
  double learning_rate = 2.5e-4;
  bool double_q = true;
  std::string loss = "mse";  // "mse" or "huber" (dqn.h's dqn_loss)
};

// One sampled batch as plain arrays (ReplaySample's tensors' data). B rows.
struct DqnBatchView {
  int64_t size = 0;                  // B
  const float* obs = nullptr;        // (B, obs_dim)
  const float* actions = nullptr;    // (B) action indices stored as floats (the replay buffer's layout)
  const float* returns = nullptr;    // (B) R
  const float* next_obs = nullptr;   // (B, obs_dim)
  const float* discount = nullptr;   // (B) γ^m (1 − terminated)
  const float* weights = nullptr;    // (B) importance weights
};

struct DqnStats {
  double td_loss = 0;   // L before the step
  double q_values = 0;  // mean_b Q(s_b, a_b) before the step
};

class FastDqn {
 public:
  explicit FastDqn(const FastDqnConfig& config);

  // Weights between the modules and the flat buffers (the modules are the checkpoint's layout).
  void copy_from(DiscreteQ& q, DiscreteQ& q_target);
  void copy_to(DiscreteQ& q, DiscreteQ& q_target) const;
  // The Adam moments and step counter between FastAdam and a torch::optim::Adam over q's
  // parameters (its state, keyed as LibTorch keys it), so that a checkpoint holds one optimizer
  // whichever backend wrote it. adam_from on an optimizer that has not stepped zeroes the moments.
  void adam_to(torch::optim::Adam& opt, DiscreteQ& q);
  void adam_from(torch::optim::Adam& opt, DiscreteQ& q);

  // obs (n, obs_dim) -> greedy (n): argmax_a Q(s, a) of the online network.
  void greedy(const float* obs, int64_t n, int64_t* actions);
  // One Adam step on the TD loss of `batch`; td_abs (B) = |Q(s_b, a_b) − y_b| before the step.
  DqnStats train_step(const DqnBatchView& batch, float* td_abs);
  // θ' ← (1 − τ) θ' + τ θ (τ = 1: a copy).
  void polyak(double tau);

  const nn::AlignedFloats& params() const { return params_; }
  const nn::AlignedFloats& target_params() const { return target_; }
  const nn::AlignedFloats& grad() const { return grad_; }  // dL/dθ of the last train_step
  const nn::FastAdam& adam() const { return adam_; }
  int64_t num_params() const { return net_.num_params(); }

 private:
  FastDqnConfig config_;
  int64_t n_ = 0;  // actions
  FastReluMlp net_;  // serves the online and the target buffer
  nn::AlignedFloats params_, grad_, target_;  // (P)
  nn::FastAdam adam_;
  nn::AlignedFloats y_, dout_;  // (B) y, (B, n) dL/dQ(s, ·)
  std::vector<int64_t> a_star_;          // (B)
};

}  // namespace rlpp::train::offpolicy
