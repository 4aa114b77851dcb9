// Global grad-norm clipping and Adam over one flat float buffer, with LibTorch 1.13's formulas
// (torch::nn::utils::clip_grad_norm_ then torch::optim::Adam::step, betas (0.9, 0.999), no weight
// decay), for the fast CPU control path (train/fast_actor_critic_learner.h and the PROPS behaviour
// policy, train/fast_behavior_policy.h):
//   ‖g‖ = sqrt(Σ g²);  g ← g · k with k = max_norm / (‖g‖ + 1e-6) if k < 1
//   m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²
//   θ ← θ − (lr / (1−β1^t)) · m / (sqrt(v)/sqrt(1−β2^t) + eps)
#pragma once
#include <cstdint>

#include "rlpp/nn/fast_mlp.h"

namespace rlpp::nn {

class FastAdam {
 public:
  FastAdam() = default;
  FastAdam(int64_t count, double eps) : eps_(eps) { reset(count); }

  // Zeroes the moments and the step counter for `count` parameters.
  void reset(int64_t count);

  // Clips grads (count) on the fly (grads itself is left unclipped), then one Adam step on
  // params (count) at learning rate lr. Returns the gradient's global norm before clipping.
  // Pass AlignedFloats storage: the vector loop's scalar head depends on the address, and its
  // rounding may differ from the body's by an ulp, so unaligned blocks are not reproducible.
  double clip_and_step(float* params, const float* grads, double max_grad_norm, double lr);

  int64_t count() const { return static_cast<int64_t>(m_.size()); }
  int64_t step() const { return step_; }  // t, the bias-correction counter
  double eps() const { return eps_; }
  // The moments (torch: exp_avg, exp_avg_sq) and the counter, for checkpoints.
  AlignedFloats& first_moment() { return m_; }
  AlignedFloats& second_moment() { return v_; }
  void set_step(int64_t t) { step_ = t; }

 private:
  double eps_ = 1e-8;
  AlignedFloats m_, v_;  // (count)
  int64_t step_ = 0;
};

}  // namespace rlpp::nn
