// DQN (Mnih et al. 2015) with the Double-DQN target (van Hasselt et al. 2016, arXiv 1509.06461)
// as CleanRL's dqn.py: ε-greedy with a linear schedule, a target network updated every
// target_network_frequency steps (hard at τ = 1, else Polyak), MSE (CleanRL) or Huber loss,
// one training phase every train_frequency steps. Loss functions pure and tested
// (tests/train/offpolicy/losses_test.cpp).
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "rlpp/core/config.h"

namespace rlpp::train::offpolicy {

// The [dqn] section (CleanRL's dqn.py defaults; double_q adds Double DQN's target).
struct DqnOptions {
  double learning_rate = 2.5e-4;
  double tau = 1.0;                     // 1 = hard copy
  int target_network_frequency = 500;   // batch steps between target updates
  double start_e = 1.0;
  double end_e = 0.05;
  double exploration_fraction = 0.5;    // of the run's batch steps, for ε to fall from start_e to end_e
  bool double_q = true;                 // Double DQN: argmax from the online network
  std::string loss = "mse";             // "mse" (CleanRL) or "huber" (δ = 1, the Nature DQN's clip)
  std::vector<int64_t> hidden{120, 84};
  // "libtorch": a module, autograd and torch::optim::Adam (the reference); "fast": the same update on
  // flat buffers with a hand-derived gradient (fast_dqn_update.h). Checkpoints are the same either way.
  std::string backend = "libtorch";

  void bind(core::Binder& b);
};

// ε at batch step t: max(start + (end − start) · t / duration, end) (CleanRL's linear_schedule).
double linear_schedule(double start, double end, double duration, int64_t t);

// y = R + discount · Q'(s', a*), a* = argmax_a Q(s', a) (double_q, the online network) or
// argmax_a Q'(s', a) (DQN: then y = R + discount · max_a Q'(s', a)).
// returns, discount: (B); next_q_online, next_q_target: (B, n) (next_q_online unused unless double_q).
torch::Tensor dqn_target(const torch::Tensor& returns, const torch::Tensor& discount, const torch::Tensor& next_q_online,
                         const torch::Tensor& next_q_target, bool double_q);

// mean_b w_b ℓ(Q(s_b, a_b) − y_b), ℓ(δ) = δ² ("mse") or Huber: ½δ² for |δ| ≤ 1, |δ| − ½ beyond.
// q_taken, target, weights: (B).
torch::Tensor dqn_loss(const torch::Tensor& q_taken, const torch::Tensor& target, const torch::Tensor& weights,
                       const std::string& loss);

}  // namespace rlpp::train::offpolicy
