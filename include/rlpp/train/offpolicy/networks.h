// The networks of the off-policy control trainers (CleanRL's sac_continuous_action.py,
// td3_continuous_action.py and dqn.py architectures: ReLU MLPs, PyTorch's default Linear
// initialisation) and the update rules they share: the twin-critic regression and Polyak
// averaging of target networks.
#pragma once
#include <torch/torch.h>

#include <utility>
#include <vector>

namespace rlpp::train::offpolicy {

// in -> hidden[0] -> ReLU -> ... -> out (no activation after the last layer).
torch::nn::Sequential relu_mlp(int64_t in, const std::vector<int64_t>& hidden, int64_t out);

// Q(s, a) of a continuous action: the MLP on [s, a].
class ContinuousQImpl : public torch::nn::Module {
 public:
  ContinuousQImpl(int64_t obs_dim, int64_t act_dim, const std::vector<int64_t>& hidden);
  // obs (B, obs_dim), act (B, act_dim) -> (B)
  torch::Tensor forward(const torch::Tensor& obs, const torch::Tensor& act);
  torch::nn::Sequential net{nullptr};
};
TORCH_MODULE(ContinuousQ);

// Q(s, ·) over n discrete actions.
class DiscreteQImpl : public torch::nn::Module {
 public:
  DiscreteQImpl(int64_t obs_dim, int64_t num_actions, const std::vector<int64_t>& hidden);
  // obs (B, obs_dim) -> (B, n)
  torch::Tensor forward(const torch::Tensor& obs);
  torch::nn::Sequential net{nullptr};
};
TORCH_MODULE(DiscreteQ);

// SAC's actor: a trunk, then the Gaussian's mean and log-std heads; the log-std is bounded as
// CleanRL does: log σ = lo + ½ (hi − lo)(tanh(raw) + 1), lo = −5, hi = 2.
class GaussianActorImpl : public torch::nn::Module {
 public:
  GaussianActorImpl(int64_t obs_dim, int64_t act_dim, const std::vector<int64_t>& hidden);
  // obs (B, obs_dim) -> mean (B, A), log_std (B, A) of the pre-tanh Gaussian
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& obs);
  torch::nn::Sequential trunk{nullptr};
  torch::nn::Linear mean{nullptr}, log_std{nullptr};
  static constexpr double kLogStdMin = -5.0, kLogStdMax = 2.0;
};
TORCH_MODULE(GaussianActor);

// TD3's actor: μ(s) = tanh(MLP(s)) · scale + bias, inside the action box.
class DeterministicActorImpl : public torch::nn::Module {
 public:
  DeterministicActorImpl(int64_t obs_dim, int64_t act_dim, const std::vector<int64_t>& hidden,
                         torch::Tensor scale, torch::Tensor bias);
  // obs (B, obs_dim) -> (B, A)
  torch::Tensor forward(const torch::Tensor& obs);
  torch::nn::Sequential net{nullptr};
  torch::Tensor scale, bias;  // (A) buffers: (high − low)/2, (high + low)/2
};
TORCH_MODULE(DeterministicActor);

// Polyak averaging: θ' ← τ θ + (1 − τ) θ' for each pair (τ = 1: a hard copy).
void polyak_update(const std::vector<torch::Tensor>& target, const std::vector<torch::Tensor>& online, double tau);

// The twin-critic regression of SAC and TD3 (importance-weighted for prioritized replay):
//   L = mean_b w_b (Q1_b − y_b)² + mean_b w_b (Q2_b − y_b)²
// q1, q2, target, weights: (B); target carries no gradient.
torch::Tensor twin_critic_loss(const torch::Tensor& q1, const torch::Tensor& q2, const torch::Tensor& target,
                               const torch::Tensor& weights);

}  // namespace rlpp::train::offpolicy
