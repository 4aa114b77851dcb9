// PROPS's behaviour policy π_φ (train/props_trainer.h) behind one interface, with one
// implementation per learner backend: LibTorch (props_behavior_update on an nn::ActorCritic) and
// the fast CPU path (train/fast_behavior_policy.h). The trainer asks for the one that matches
// policy.backend and never names a backend itself. Both draw the same actions from the same rng
// (nn/action_sampling.h) and checkpoint φ in nn::ActorCritic's layout, so a run's checkpoints do
// not depend on the backend's internals.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>

#include "rlpp/core/rng.h"
#include "rlpp/nn/actor_critic.h"
#include "rlpp/train/actor_critic_learner.h"
#include "rlpp/train/props_trainer.h"

namespace rlpp::train {

class BehaviorPolicy {
 public:
  virtual ~BehaviorPolicy() = default;

  // a ~ π_φ(·|obs): obs (n, obs_dim) normalised -> actions (n, act_flat).
  virtual void sample(const float* obs, int64_t n, core::Rng& rng, float* actions) = 0;
  // φ ← θ, then the PROPS epochs on obs (B, obs_dim), actions (B, act_flat) fp32 contiguous;
  // rng shuffles the minibatches.
  virtual BehaviorUpdateStats update(nn::ActorCritic& theta, const torch::Tensor& obs, const torch::Tensor& actions,
                                     const PropsOptions& opts, core::Rng& rng) = 0;
  // φ as an nn::ActorCritic module's archive (its critic unused).
  virtual void save(torch::serialize::OutputArchive& archive) = 0;
  virtual void load(torch::serialize::InputArchive& archive) = 0;
};

// The behaviour policy of config.policy.backend, starting at `init` (which it may keep).
std::unique_ptr<BehaviorPolicy> make_behavior_policy(const LearnerConfig& config, nn::ActorCritic init);

// The two implementations (registered with their learners in make_learner.cpp).
std::unique_ptr<BehaviorPolicy> make_torch_behavior_policy(const LearnerConfig& config, nn::ActorCritic init);
std::unique_ptr<BehaviorPolicy> make_fast_behavior_policy(const LearnerConfig& config, nn::ActorCritic init);

}  // namespace rlpp::train
