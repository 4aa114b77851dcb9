// TD3's gradient steps without autograd (td3.backend = "fast"), as FastSac does for SAC: the actor
// and the twin critics as FastReluMlp over flat buffers (targets in copies of the same layout),
// the losses' gradients by hand, one fused Adam per optimizer, Polyak over the flat buffers. Same
// networks, losses, order and noise draws as td3.cpp's LibTorch path (the reference), compared in
// tests/train/offpolicy/fast_path_test.cpp.
//
// Layout: actor obs_dim -> hidden... -> A (μ(s) = tanh(z)·scale + bias outside the MLP); critics
// qf1 | qf2 as FastSac's.
// Gradients: critics as FastSac's (dL/dQk_b = 2 w_b (Qk_b − y_b)/B); actor L = −mean_b Q1(s_b, μ(s_b)):
//   dL/dz_i = −(1/B) dQ1/da_i · scale_i (1 − tanh² z_i)
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "rlpp/nn/fast_adam.h"
#include "rlpp/train/offpolicy/fast_mlp.h"
#include "rlpp/train/offpolicy/fast_sac_update.h"
#include "rlpp/train/offpolicy/networks.h"

namespace rlpp::train::offpolicy {

struct FastTd3Config {
  int64_t obs_dim = 0, act_dim = 0;
  std::vector<int64_t> hidden{256, 256};
  std::vector<float> scale, bias, low, high;  // (A) action box
  double learning_rate = 3e-4;                // actor and critics
  double policy_noise = 0.2, noise_clip = 0.5, exploration_noise = 0.1;
};

class FastTd3 {
 public:
  explicit FastTd3(const FastTd3Config& config);

  void copy_from(DeterministicActor& actor, ContinuousQ& qf1, ContinuousQ& qf2, DeterministicActor& actor_target,
                 ContinuousQ& qf1_target, ContinuousQ& qf2_target);
  void copy_to(DeterministicActor& actor, ContinuousQ& qf1, ContinuousQ& qf2, DeterministicActor& actor_target,
               ContinuousQ& qf1_target, ContinuousQ& qf2_target) const;

  // obs (n, obs_dim) -> actions (n, A): μ(s), plus exploration noise eps (n, A) · scale ·
  // exploration_noise clipped to the box when eps is not null.
  void act(const float* obs, int64_t n, const float* eps, float* actions);
  // Target with smoothing noise eps (B, A), then one Adam step of both critics; td_abs (B).
  SacCriticStats critic_step(const SacBatchView& batch, const float* eps, float* td_abs);
  // One actor step on obs (m, obs_dim). Returns the actor loss.
  double actor_step(const float* obs, int64_t m);
  // θ' ← τ θ + (1 − τ) θ' for the actor and both critics.
  void polyak(double tau);

  const nn::AlignedFloats& actor_params() const { return actor_params_; }
  const nn::AlignedFloats& actor_target_params() const { return actor_target_; }
  const nn::AlignedFloats& critic_params() const { return critic_params_; }
  const nn::AlignedFloats& critic_target_params() const { return critic_target_; }
  const nn::AlignedFloats& actor_grad() const { return actor_grad_; }
  const nn::AlignedFloats& critic_grad() const { return critic_grad_; }
  int64_t critic_params_each() const { return critic_net_[0].num_params(); }

  void save_optimizers(CheckpointWriter& w, const std::string& prefix);
  void load_optimizers(CheckpointReader& r, const std::string& prefix);

 private:
  // μ(s) of the actor block `params` on obs (m rows) into mu_ (m, A), tanh z into y_ (m, A).
  void policy(const float* params, const float* obs, int64_t m);
  const float* critic_forward(int k, const float* params, const float* obs, const float* act, int64_t m);

  FastTd3Config config_;
  int64_t A_ = 0, obs_dim_ = 0;
  FastReluMlp actor_net_, critic_net_[2];
  nn::AlignedFloats actor_params_, actor_grad_, actor_target_;       // (Pa)
  nn::AlignedFloats critic_params_, critic_grad_, critic_target_;    // (2 Pq)
  nn::FastAdam actor_adam_, critic_adam_;
  nn::AlignedFloats mu_, y_, next_a_;        // (m, A)
  nn::AlignedFloats q_[2], target_, dq_[2];  // (m)
  nn::AlignedFloats dx_, dz_;                // (m, obs_dim + A), (m, A)
};

}  // namespace rlpp::train::offpolicy
