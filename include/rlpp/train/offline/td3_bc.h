// TD3+BC (Fujimoto & Gu 2021, "A Minimalist Approach to Offline Reinforcement Learning",
// arXiv 2106.06860) as the authors' TD3_BC.py: TD3's twin critics with clipped double-Q targets
// and target policy smoothing (noise 0.2, clip 0.5, times the action scale), the actor and the
// targets updated every 2nd gradient step, and the actor's loss
//   L_π = −λ · mean_b Q1(s_b, π(s_b)) + mean_{b,i} (π_i(s_b) − a_{b,i})²,   λ = α / mean_b |Q1(s_b, π(s_b))|
// with λ detached, α = 2.5; observations normalised with the dataset's mean and std + 1e-3. Adam
// 3e-4, τ 0.005, batch 256, 256-256 ReLU nets. Online (offline.online_steps, the same losses go
// on) it explores as TD3: clip(π(s) + N(0, (0.1 · scale)²), low, high) (td3_offline_run.h).
// Losses pure and tested (tests/train/offline/offline_losses_test.cpp).
#pragma once
#include <torch/torch.h>

#include <memory>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/train/trainer.h"

namespace rlpp::train::offline {

// The [td3_bc] section (the paper's / TD3_BC.py's defaults).
struct Td3BcOptions {
  double learning_rate = 3e-4;  // actor and critics
  double tau = 0.005;
  double policy_noise = 0.2;    // target smoothing noise σ (times the action scale)
  double noise_clip = 0.5;      // its clip c (before the action scale)
  int policy_frequency = 2;     // actor and target updates every this many gradient steps
  double alpha = 2.5;           // α of λ = α / mean|Q|
  double exploration_noise = 0.1;  // online phase: TD3's behaviour noise σ (times the action scale)
  std::vector<int64_t> hidden{256, 256};

  void bind(core::Binder& b);
};

struct Td3BcActorLoss {
  torch::Tensor loss;    // scalar, with gradient through q1 and pi
  torch::Tensor lambda;  // scalar, detached
};
// The actor loss above. q1: (B) = Q1(s, π(s)); pi, actions: (B, A).
Td3BcActorLoss td3_bc_actor_loss(const torch::Tensor& q1, const torch::Tensor& pi, const torch::Tensor& actions,
                                 double alpha);

std::unique_ptr<Trainer> make_td3_bc_trainer(const core::Recipe& recipe, const RunContext& ctx);

}  // namespace rlpp::train::offline
