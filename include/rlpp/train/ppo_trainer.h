// PPO for control (Schulman et al. 2017, arXiv 1707.06347) with the implementation details of
// CleanRL's ppo.py / ppo_continuous_action.py (see shared docs ENVIRONMENTS.md): GAE, minibatch
// epochs, per-minibatch advantage normalisation, clipped value loss, entropy bonus, global
// grad-norm clip, linear LR annealing, orthogonal init, optional observation normalisation and
// reward scaling, optional truncation bootstrapping and target-KL early stop.
#pragma once
#include <memory>
#include <string>

#include "rlpp/core/config.h"
#include "rlpp/train/trainer.h"

namespace rlpp::train {

struct PpoOptions {
  int num_steps = 128;           // rollout length per environment copy
  double learning_rate = 2.5e-4;
  bool anneal_lr = true;         // linear decay to 0 over the run
  double gamma = 0.99;
  double gae_lambda = 0.95;
  int num_minibatches = 4;
  int update_epochs = 4;
  bool norm_adv = true;
  double clip_coef = 0.2;
  bool clip_vloss = true;
  double ent_coef = 0.01;
  double vf_coef = 0.5;
  double max_grad_norm = 0.5;
  double target_kl = 0.0;        // 0 = off; else stop the epochs once approx_kl exceeds it
  double adam_eps = 1e-5;
  bool bootstrap_truncated = false;  // add gamma * V(final_obs) on truncation (SB3 does, CleanRL does not)
  bool normalize_obs = false;
  bool normalize_reward = false;
  double obs_clip = 10.0;
  double reward_clip = 10.0;

  void bind(core::Binder& b);
};

// Registered as algorithm "ppo".
std::unique_ptr<Trainer> make_ppo_trainer(const core::Recipe& recipe, const RunContext& ctx);

}  // namespace rlpp::train
