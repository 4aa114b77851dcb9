// The PROPS behaviour policy π_φ on the fast CPU path: the actor MLP (nn::FastMlp) and, for
// Gaussian policies, the state-independent log σ, over one flat float buffer, with the PROPS
// update written out as an analytic backward (the LibTorch reference is props_behavior_update in
// train/props_trainer.h; tests compare the two step by step).
//
// Parameter layout (the order of nn::ActorCritic's actor parameters):
//   log_std (A, continuous only) | actor MLP (obs_dim -> hidden... -> A), each Linear W then b.
//
// One update (ENVIRONMENTS.md, algo/props.h): φ ← θ, a fresh Adam, then for each epoch a shuffled
// pass of minibatches on
//   L(φ) = mean_i max(r_i, clip(r_i, 1−ε, 1+ε)) + λ κ mean_i KL(π_φ(·|s_i) ‖ π_θ(·|s_i)),
//   r_i = π_φ(a_i|s_i) / π_θ(a_i|s_i),  κ = behavior_kl_scale (1/A for Gaussians: λ per dimension),
// global grad-norm clip, Adam; before each minibatch's step its mean KL, ending the update once it
// exceeds the target (as the authors' update_props does).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "rlpp/core/rng.h"
#include "rlpp/nn/actor_critic.h"
#include "rlpp/nn/fast_adam.h"
#include "rlpp/nn/fast_mlp.h"
#include "rlpp/train/props_trainer.h"

namespace rlpp::train {

class FastBehaviorPolicy {
 public:
  FastBehaviorPolicy(int64_t obs_dim, int64_t act_dim, bool discrete, const nn::MlpPolicyOptions& policy);

  // Copies π's actor (and log σ) into `dst` (num_params) in the layout above.
  void flatten(const nn::ActorCritic& pi, float* dst) const;
  // φ ← π.
  void set(const nn::ActorCritic& pi) { flatten(pi, params_.data()); }
  // π's actor (and log σ) ← φ (the inverse of set; π's critic is left alone).
  void to_module(nn::ActorCritic& pi) const;

  // a ~ π_φ(·|obs), obs (n, obs_dim) -> actions (n, act_flat) (nn/action_sampling.h's draws).
  void sample(const float* obs, int64_t n, core::Rng& rng, float* actions);

  // φ ← θ, then the PROPS epochs on obs (B, obs_dim), actions (B, act_flat). rng shuffles the
  // minibatches (the same draws as the reference).
  BehaviorUpdateStats update(const nn::ActorCritic& theta, const float* obs, const float* actions, int64_t rows,
                             const PropsOptions& opts, core::Rng& rng);

  int64_t num_params() const { return static_cast<int64_t>(params_.size()); }
  const nn::AlignedFloats& parameters() const { return params_; }
  nn::AlignedFloats& parameters() { return params_; }

 private:
  // Mean over rows of KL(π_φ ‖ π_θ) given actor outputs φ_out, θ_out (m, A).
  double mean_kl(const float* phi_out, const float* theta_out, int64_t m) const;
  // The loss's gradient w.r.t. φ's actor outputs (into d_out_) and log σ (into grads_) for one
  // minibatch; returns the loss and the fraction of |r − 1| > ε.
  struct MinibatchLoss {
    double loss, clipfrac, kl;  // L(φ), clip fraction, mean KL(π_φ‖π_θ) (summed over action dims)
  };
  MinibatchLoss loss_backward(const float* phi_out, const float* theta_out, const float* actions,
                                          const float* logp_theta, int64_t m, const PropsOptions& opts);
  // log π(a|s) (m) from actor outputs (m, A) and the log σ at `log_std` (continuous).
  void log_prob(const float* out, const float* log_std, const float* actions, int64_t m, float* logp) const;

  int64_t obs_dim_ = 0, act_dim_ = 0, act_flat_ = 0;
  bool discrete_ = false;
  int64_t actor_offset_ = 0;        // A when continuous, 0 when discrete
  nn::FastMlp actor_, theta_actor_;  // φ's and θ's forward workspaces (same shape)
  nn::AlignedFloats params_, grads_, theta_params_;  // (P)
  nn::FastAdam adam_;
  // Scratch.
  nn::AlignedFloats theta_out_;           // (B, A) θ's actor outputs on the buffer
  std::vector<float> logp_theta_;         // (B)
  nn::AlignedFloats mb_obs_, mb_act_;     // (M, obs_dim), (M, act_flat)
  nn::AlignedFloats mb_theta_out_;        // (M, A)
  std::vector<float> mb_logp_theta_;      // (M)
  nn::AlignedFloats d_out_;               // (M, A)
  std::vector<float> logp_scratch_;       // (n)
};

}  // namespace rlpp::train
