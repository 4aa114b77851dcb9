// PRDC: Policy Regularization with Dataset Constraint (Ran et al. 2023, arXiv:2306.06569), on
// TD3+BC's base (twin critics, target smoothing, delayed actor, normalised states). Instead of
// cloning the dataset's action at s, the actor is pulled toward the action of the dataset point
// nearest to (β s, π(s)):
//   (ŝ, â) = argmin_{(s', a') ∈ D} ‖(β s) ⊕ π(s) − (β s') ⊕ a'‖₂        (k-d tree, kd_tree.h)
//   L_π = −λ mean_b Q1(s_b, π(s_b)) + mean_{b,i} (π(s_b)_i − â_{b,i})²,  λ = α / mean_b |Q1(s_b, π(s_b))|
// with λ carrying no gradient. The second mean runs over the B·A entries, as the authors' code
// (F.mse_loss) does. Defaults: the paper's locomotion setting and its code (α = 2.5, β = 2, k = 1,
// TD3's noise 0.2 / clip 0.5 / delay 2, Adam 3e-4, τ = 0.005, 256-256 ReLU networks). Online
// (offline.online_steps; the tree stays the dataset's) it explores as TD3:
// clip(π(s) + N(0, (0.1 · scale)²), low, high) (td3_offline_run.h).
#pragma once
#include <torch/torch.h>

#include <memory>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/train/offline/d4rl_dataset.h"
#include "rlpp/train/offline/kd_tree.h"
#include "rlpp/train/trainer.h"

namespace rlpp::train::offline {

// The [prdc] section.
struct PrdcOptions {
  double learning_rate = 3e-4;  // actor and critics (Adam)
  double tau = 0.005;           // Polyak coefficient of the target networks
  double policy_noise = 0.2;    // target smoothing σ (times the action scale)
  double noise_clip = 0.5;      // its clip (times the action scale)
  int policy_frequency = 2;     // actor and target updates every this many steps
  double alpha = 2.5;           // α of λ = α / mean|Q|
  double beta = 2.0;            // weight of the state in the nearest-neighbour key (β s, a)
  double exploration_noise = 0.1;  // online phase: TD3's behaviour noise σ (times the action scale)
  std::vector<int64_t> hidden{256, 256};

  void bind(core::Binder& b);
};

// Keys (β s, a) of the dataset points or of the queries. obs (B, S), act (B, A) -> (B, S + A).
torch::Tensor prdc_keys(const torch::Tensor& obs, const torch::Tensor& act, double beta);

// â: for each row b, the action part of the dataset key nearest to (β obs_b, pi_b). dataset_actions:
// (N, A) the actions of the tree's rows (row i of the tree = row i of the dataset). -> (B, A), no grad.
torch::Tensor prdc_nearest_actions(const KdTree& tree, const torch::Tensor& dataset_actions, const torch::Tensor& obs,
                                   const torch::Tensor& pi, double beta);

struct PrdcActorLoss {
  torch::Tensor loss;     // () the actor's loss
  torch::Tensor lambda;   // () α / mean|Q| (no grad)
  torch::Tensor dc_loss;  // () the dataset-constraint term mean (π − â)²
};
// q: (B) Q1(s, π(s)); pi: (B, A) π(s); nearest: (B, A) â (no grad).
PrdcActorLoss prdc_actor_loss(const torch::Tensor& q, const torch::Tensor& pi, const torch::Tensor& nearest,
                              double alpha);

// The tree's keys (β s, a) of every dataset row, s normalised as OfflineRun normalises it
// ((s − mean) / std in float with observation_stats' mean and std + 1e-3) when `normalize`.
// -> (N, S + A) row-major.
std::vector<float> prdc_dataset_keys(const D4rlDataset& d, bool normalize, double beta);

// The `prdc` trainer (OfflineRun; TD3+BC's defaults for [offline]).
std::unique_ptr<Trainer> make_prdc_trainer(const core::Recipe& recipe, const RunContext& ctx);

}  // namespace rlpp::train::offline
