// What TD3+BC and the offline methods built on it (PRDC, A2PR) share: TD3's networks on the
// offline run — a deterministic tanh actor and twin critics, each with a target copy — the
// critics' step toward the clipped double-Q target with target policy smoothing, the Polyak update
// of the three targets, and their checkpoint, and TD3's exploration for the online phase
// (offline.online_steps; Fujimoto et al. 2018, arXiv 1802.09477, and the authors' main.py):
//   a = clip(μ(s) + N(0, (σ_expl · scale)²), low, high),   σ_expl = exploration_noise (0.1),
// the noise drawn from the run's generator (normal_noise), scale = (high − low)/2 per component
// (the code's max_action). A trainer adds its actor loss (and any networks of its own) in
// train_step() and sets exploration_noise_ from its section.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "rlpp/train/offline/offline_run.h"
#include "rlpp/train/offpolicy/networks.h"

namespace rlpp::train::offline {

class Td3OfflineRun : public OfflineRun {
 protected:
  using OfflineRun::OfflineRun;

  // Builds the actor (actor_hidden), the twin critics (critic_hidden), their targets (copies) and
  // one Adam each for the actor and for both critics. Call in the constructor, before start().
  void build_td3_networks(const std::vector<int64_t>& actor_hidden, const std::vector<int64_t>& critic_hidden,
                          double learning_rate);

  // ã' = clip(μ'(s') + clip(σ ε, −c, c) · scale, low, high) with ε from the run's generator. (B, A)
  torch::Tensor smoothed_next_action(const offpolicy::ReplaySample& batch, double policy_noise, double noise_clip);

  // One step of the critics toward `target` (B) (twin_critic_loss, Adam); accumulates
  // losses/qf1_values and losses/qf_loss.
  void critic_step(const offpolicy::ReplaySample& batch, const torch::Tensor& target);

  // θ' ← τ θ + (1 − τ) θ' for the actor's and both critics' targets.
  void update_targets(double tau);

  // The six networks and two optimizers, under TD3+BC's keys.
  void save_td3_networks(CheckpointWriter& w);
  void load_td3_networks(CheckpointReader& r);

  torch::Tensor act(const torch::Tensor& obs) override { return actor_->forward(obs); }

  // TD3's behaviour action above. obs (n, obs_dim) normalised -> (n, A) inside the box.
  bool can_explore() const override { return true; }
  torch::Tensor explore(const torch::Tensor& obs) override;

  double exploration_noise_ = 0.1;  // σ_expl of the online phase (times the action scale)
  torch::Tensor scale_, low_t_, high_t_;  // (A) action scale and Box bounds
  offpolicy::DeterministicActor actor_{nullptr}, actor_target_{nullptr};
  offpolicy::ContinuousQ qf1_{nullptr}, qf2_{nullptr}, qf1_target_{nullptr}, qf2_target_{nullptr};
  std::unique_ptr<torch::optim::Adam> q_opt_, actor_opt_;
};

}  // namespace rlpp::train::offline
