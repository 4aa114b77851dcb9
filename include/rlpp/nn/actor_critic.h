// MLP actor-critic for control (CleanRL's ppo.py / ppo_continuous_action.py architecture):
// separate actor and critic MLPs with tanh activations and orthogonal initialisation
// (hidden gain sqrt(2), policy head 0.01, value head 1). Discrete actions: categorical over
// logits. Continuous actions: Gaussian with a state-independent log-std parameter; with
// mean_tanh the mean is tanh of the policy head's output (the PROPS authors' actor), in (−1, 1).
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "rlpp/core/config.h"

namespace rlpp::nn {

struct MlpPolicyOptions {
  std::vector<int64_t> hidden{64, 64};
  std::string activation = "tanh";
  double init_log_std = 0.0;      // continuous only: initial log sigma
  bool mean_tanh = false;         // continuous only: tanh on the Gaussian mean (PROPS's released code)
  double actor_head_gain = 0.01;  // orthogonal gain of the policy head
  std::string backend = "fast";   // "fast": fused CPU path (train/fast_actor_critic_learner.h); "torch": LibTorch reference

  void bind(core::Binder& b);
};

class ActorCriticImpl : public torch::nn::Module {
 public:
  // discrete: act_dim = number of actions; continuous: act_dim = action components.
  ActorCriticImpl(int64_t obs_dim, int64_t act_dim, bool discrete, const MlpPolicyOptions& opts);

  // obs (B, obs_dim) -> (B)
  torch::Tensor value(const torch::Tensor& obs);
  // obs (B, obs_dim) -> logits (B, A) when discrete, action mean (B, A) when continuous.
  torch::Tensor actor_out(const torch::Tensor& obs);
  // Log-probability (B) and entropy (B) of `actions` under the policy at `obs`.
  // actions: (B) int64 indices when discrete, (B, A) floats when continuous.
  std::pair<torch::Tensor, torch::Tensor> log_prob_entropy(const torch::Tensor& obs, const torch::Tensor& actions);

  bool discrete() const { return discrete_; }
  int64_t obs_dim() const { return obs_dim_; }
  int64_t act_dim() const { return act_dim_; }

  torch::nn::Sequential actor{nullptr};
  torch::nn::Sequential critic{nullptr};
  torch::Tensor log_std;  // (A) continuous only; undefined when discrete

 private:
  int64_t obs_dim_;
  int64_t act_dim_;
  bool discrete_;
};
TORCH_MODULE(ActorCritic);

// Builds an MLP in -> hidden... -> out with orthogonal init (gain sqrt(2) on hidden layers,
// `head_gain` on the last), zero biases; tanh_out appends a Tanh after the last Linear (the
// Linear layers stay children 0, 2, 4, ...).
torch::nn::Sequential make_mlp(int64_t in, const std::vector<int64_t>& hidden, int64_t out,
                               const std::string& activation, double head_gain, bool tanh_out = false);

}  // namespace rlpp::nn
