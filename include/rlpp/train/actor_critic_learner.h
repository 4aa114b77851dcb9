// The part of a control algorithm that touches the network: acting, value estimates and one PPO
// minibatch update. Two implementations share this interface: the LibTorch reference
// (torch_actor_critic_learner.h) and the fused fast CPU path (fast_actor_critic_learner.h) that
// tests compare with it. Everything crossing this interface is a flat float buffer.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <limits>
#include <memory>

#include "rlpp/core/config.h"
#include "rlpp/core/rng.h"
#include "rlpp/nn/actor_critic.h"

namespace rlpp::algo {
class PolicyObjective;
}
namespace rlpp::dist {
class Comm;
}

namespace rlpp::train {

// The PPO loss of one minibatch (CleanRL):
//   loss = ppo_clip(ratio, A) - ent_coef * H + vf_coef * value_loss, then global grad-norm clip.
// With `objective`, its per-sample loss (mean over the minibatch) replaces ppo_clip (LibTorch
// backend only).
struct PpoLossOptions {
  double clip_coef = 0.2;
  bool clip_vloss = true;
  double ent_coef = 0.0;
  double vf_coef = 0.5;
  double max_grad_norm = 0.5;
  bool norm_adv = true;
  algo::PolicyObjective* objective = nullptr;  // {} = ppo_clip at clip_coef
  // Data-parallel (dist/data_parallel.h): the minibatch is this rank's equal share of the global
  // one; gradients are averaged over the ranks before the norm clip, so every rank takes the same
  // step. {} = one process.
  dist::Comm* comm = nullptr;
  // Whitening with these (the global minibatch's mean and unbiased std, when data-parallel)
  // instead of the minibatch's own; NaN = the minibatch's own.
  double adv_mean = std::numeric_limits<double>::quiet_NaN();
  double adv_std = std::numeric_limits<double>::quiet_NaN();
};

// One minibatch, contiguous. M = minibatch size.
struct ControlMinibatch {
  int64_t size = 0;                    // M
  const float* obs = nullptr;          // (M, obs_dim)
  const float* actions = nullptr;      // (M, act_flat): index (as float) or unclipped action
  const float* logp_old = nullptr;     // (M)
  const float* advantages = nullptr;   // (M) raw GAE advantages (normalised inside when asked)
  const float* returns = nullptr;      // (M)
  const float* values_old = nullptr;   // (M)
};

// Statistics of one minibatch update (CleanRL's metric meanings).
struct UpdateStats {
  double policy_loss = 0;
  double value_loss = 0;
  double entropy = 0;
  double old_approx_kl = 0;  // mean(-log r)
  double approx_kl = 0;      // mean((r - 1) - log r)  (k3)
  double clipfrac = 0;       // fraction with |r - 1| > clip_coef
  double grad_norm = 0;      // global norm before clipping
};

class ActorCriticLearner {
 public:
  virtual ~ActorCriticLearner() = default;

  // obs (n, obs_dim) -> actions (n, act_flat), logp (n), value (n); samples from `rng` unless
  // deterministic (argmax / mean).
  virtual void act(const float* obs, int64_t n, core::Rng& rng, bool deterministic, float* actions,
                   float* logp, float* value) = 0;
  // obs (n, obs_dim) -> value (n)
  virtual void value(const float* obs, int64_t n, float* value) = 0;
  // One Adam step on the PPO loss of `mb` at learning rate `lr`.
  virtual UpdateStats update(const ControlMinibatch& mb, const PpoLossOptions& opts, double lr) = 0;
  // Whether update() takes a registered objective (PpoLossOptions::objective) in place of PPO's clip.
  virtual bool accepts_objectives() const = 0;

  // The current weights (views; e.g. to check that data-parallel replicas agree).
  virtual std::vector<torch::Tensor> weights() = 0;

  // Model + optimizer state (for checkpoints). Both backends use the same archive layout
  // (the LibTorch module's parameter names), so a checkpoint from one loads into the other.
  virtual void save(torch::serialize::OutputArchive& archive) = 0;
  virtual void load(torch::serialize::InputArchive& archive) = 0;
};

struct LearnerConfig {
  int64_t obs_dim = 0;
  int64_t act_dim = 0;     // number of actions (discrete) or action components (continuous)
  bool discrete = true;
  nn::MlpPolicyOptions policy;
  double adam_eps = 1e-5;
};

// Builds the learner named by config.policy.backend ("torch" or "fast"). Initial weights come
// from LibTorch's orthogonal init under the current torch seed in both cases.
std::unique_ptr<ActorCriticLearner> make_actor_critic_learner(const LearnerConfig& config);

}  // namespace rlpp::train
