// Soft actor-critic (Haarnoja et al. 2018, arXiv 1801.01290 and 1812.05905) as CleanRL's
// sac_continuous_action.py: twin Q with Polyak targets, a tanh-squashed Gaussian actor updated
// every policy_frequency steps (policy_frequency times, on the same batch), and the entropy
// temperature α tuned toward the target entropy −|A|. The loss functions are pure and tested
// against a double-precision re-derivation (tests/train/offpolicy/losses_test.cpp).
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "rlpp/core/config.h"

namespace rlpp::train::offpolicy {

// The [sac] section (CleanRL's defaults).
struct SacOptions {
  double policy_lr = 3e-4;
  double q_lr = 1e-3;                 // also the temperature's learning rate
  double tau = 0.005;                 // Polyak coefficient of the target critics
  int policy_frequency = 2;           // actor (and α) updates every this many batch steps, this many times
  int target_network_frequency = 1;   // batch steps between Polyak updates
  double alpha = 0.2;                 // entropy temperature when autotune is off
  bool autotune = true;               // tune α toward target entropy −|A|
  std::vector<int64_t> hidden{256, 256};
  // "libtorch": modules, autograd and torch::optim::Adam (the reference); "fast": the same updates
  // on flat buffers with hand-derived gradients (fast_sac_update.h)
  std::string backend = "libtorch";

  void bind(core::Binder& b);
};

// A reparameterised sample of the tanh-squashed Gaussian, u = μ + σ ε, a = tanh(u) · scale + bias:
//   log π(a|s) = Σ_i [ log N(u_i; μ_i, σ_i) − log(scale_i (1 − tanh² u_i) + 1e−6) ]
// (the change of variables of appendix C of arXiv 1801.01290, with CleanRL's 1e−6; 1 − tanh² u is
// computed as sech² u, which keeps its digits in float32 where 1 − y² cancels).
struct SquashedSample {
  torch::Tensor action;  // (B, A)
  torch::Tensor logp;    // (B)
};
// mean, log_std, eps: (B, A); scale, bias: (A).
SquashedSample squashed_gaussian(const torch::Tensor& mean, const torch::Tensor& log_std, const torch::Tensor& eps,
                                 const torch::Tensor& scale, const torch::Tensor& bias);

// The critics' target, with the next action a' ~ π(·|s') and the n-step return R (replay_buffer.h):
//   y = R + discount · (min(Q1'(s', a'), Q2'(s', a')) − α log π(a'|s'))
// All (B).
torch::Tensor sac_critic_target(const torch::Tensor& returns, const torch::Tensor& discount,
                                const torch::Tensor& next_q1, const torch::Tensor& next_q2,
                                const torch::Tensor& next_logp, double alpha);

// L_π = mean(α log π(ã|s) − min(Q1(s, ã), Q2(s, ã))), ã ~ π(·|s) reparameterised. All (B).
torch::Tensor sac_actor_loss(const torch::Tensor& logp, const torch::Tensor& q1, const torch::Tensor& q2, double alpha);

// L_α = mean(−exp(log α) · (log π(ã|s) + H_target)), logp (B) without gradient, log_alpha (1).
torch::Tensor sac_alpha_loss(const torch::Tensor& log_alpha, const torch::Tensor& logp, double target_entropy);

}  // namespace rlpp::train::offpolicy
