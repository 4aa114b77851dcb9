// PPO for control (Schulman et al. 2017, arXiv 1707.06347) with the implementation details of
// CleanRL's ppo.py / ppo_continuous_action.py (see shared docs ENVIRONMENTS.md): GAE, minibatch
// epochs, per-minibatch advantage normalisation, clipped value loss, entropy bonus, global
// grad-norm clip, linear LR annealing, orthogonal init, optional observation normalisation and
// reward scaling, optional truncation bootstrapping and target-KL early stop. The shared control
// machinery (options, learner, update, checkpoint) is train/control_run.h; PPO adds its rollout.
#pragma once
#include <memory>
#include <string>

#include "rlpp/core/config.h"
#include "rlpp/train/control_run.h"
#include "rlpp/train/trainer.h"

namespace rlpp::train {

// Registered as algorithm "ppo".
std::unique_ptr<Trainer> make_ppo_trainer(const core::Recipe& recipe, const RunContext& ctx);

}  // namespace rlpp::train
