// TD3 (Fujimoto et al. 2018, arXiv 1802.09477) as CleanRL's td3_continuous_action.py: twin Q
// with clipped double-Q targets, target policy smoothing, delayed actor and target updates, and
// Gaussian exploration noise. Loss functions pure and tested (tests/train/offpolicy/losses_test.cpp).
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "rlpp/core/config.h"

namespace rlpp::train::offpolicy {

// The [td3] section (CleanRL's defaults).
struct Td3Options {
  double learning_rate = 3e-4;    // actor and critics
  double tau = 0.005;             // Polyak coefficient of every target network
  double policy_noise = 0.2;      // target smoothing noise σ (times the action scale)
  double noise_clip = 0.5;        // its clip c
  double exploration_noise = 0.1; // behaviour noise σ (times the action scale)
  int policy_frequency = 2;       // actor and target updates every this many batch steps
  std::vector<int64_t> hidden{256, 256};
  // "libtorch": modules, autograd and torch::optim::Adam (the reference); "fast": the same updates
  // on flat buffers with hand-derived gradients (fast_td3_update.h)
  std::string backend = "libtorch";

  void bind(core::Binder& b);
};

// Target policy smoothing: ã' = clip(μ'(s') + clip(σ ε, −c, c) · scale, low, high).
// target_mu, eps: (B, A); scale, low, high: (A).
torch::Tensor td3_target_action(const torch::Tensor& target_mu, const torch::Tensor& eps, double policy_noise,
                                double noise_clip, const torch::Tensor& scale, const torch::Tensor& low,
                                const torch::Tensor& high);

// Clipped double-Q target: y = R + discount · min(Q1'(s', ã'), Q2'(s', ã')). All (B).
torch::Tensor td3_critic_target(const torch::Tensor& returns, const torch::Tensor& discount,
                                const torch::Tensor& next_q1, const torch::Tensor& next_q2);

// The delayed actor's loss: L_μ = −mean(Q1(s, μ(s))). q1: (B).
torch::Tensor td3_actor_loss(const torch::Tensor& q1);

}  // namespace rlpp::train::offpolicy
