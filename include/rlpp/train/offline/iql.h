// Implicit Q-learning (Kostrikov, Nair & Levine 2021, arXiv 2110.06169) as the authors'
// implicit_q_learning code (learner.py, value_net.py, actor.py) with its locomotion settings:
// per gradient step, in this order,
//   V:  L_V = mean_b L_2^τ(min(Q1', Q2')(s_b, a_b) − V(s_b)),  L_2^τ(u) = |τ − 1(u < 0)| u²,  τ = 0.7
//       (Q' the target critics);
//   π:  L_π = −mean_b w_b log π(a_b|s_b),  w_b = min(exp(β (min(Q1', Q2')(s_b, a_b) − V(s_b))), 100),  β = 3
//       (advantage-weighted regression with the updated V; π a Gaussian whose mean is tanh of an
//       MLP (times the action scale, plus the bias) and whose log-std is a state-independent
//       parameter clipped to [−5, 2], as the code's NormalTanhPolicy with
//       tanh_squash_distribution=False, state_dependent_std=False);
//   Q:  L_Q = mean_b (Q1(s_b, a_b) − y_b)² + mean_b (Q2(s_b, a_b) − y_b)²,  y = r + γ (1 − d) V(s')
//       (with the updated V);
//   Q' ← τ_p Q + (1 − τ_p) Q',  τ_p = 0.005.
// Adam 3e-4 for all three; the actor's learning rate decays as the code's
// optax.cosine_decay_schedule over the run: lr_t = lr · ½ (1 + cos(π t / T)), T = the run's
// gradient steps. Rewards scaled by 1000 / (max − min episode return) (offline.normalize_rewards,
// the code's locomotion `normalize`). Acting: the Gaussian's mean. Exploring (the online phase of
// offline.online_steps, as the code's train_finetune.py: the same losses go on online): a sample
// of the Gaussian, clipped to the box. Losses pure and tested
// (tests/train/offline/offline_losses_test.cpp).
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/train/offpolicy/networks.h"
#include "rlpp/train/offpolicy/replay_buffer.h"
#include "rlpp/train/trainer.h"

namespace rlpp::train::offline {

// The [iql] section (the paper's locomotion settings).
struct IqlOptions {
  double actor_lr = 3e-4;
  double critic_lr = 3e-4;
  double value_lr = 3e-4;
  double expectile = 0.7;       // τ of the expectile loss
  double temperature = 3.0;     // β of the advantage weights
  double max_weight = 100.0;    // clip of exp(β A)
  double tau = 0.005;           // Polyak coefficient of the target critics
  bool cosine_actor_lr = true;  // the code's cosine decay of the actor's lr over the run
  std::vector<int64_t> hidden{256, 256};

  void bind(core::Binder& b);
};

// mean_b |τ − 1(u_b < 0)| u_b², u = q − v. diff: (B).
torch::Tensor expectile_loss(const torch::Tensor& diff, double expectile);
// min(exp(β · adv), max_weight), elementwise. adv: (B).
torch::Tensor awr_weights(const torch::Tensor& adv, double temperature, double max_weight);
// −mean_b w_b logp_b. weights (B) without gradient, logp (B).
torch::Tensor awr_actor_loss(const torch::Tensor& weights, const torch::Tensor& logp);
// log N(a; μ, diag σ²) summed over the action components. mean, actions: (B, A); log_std: (A) or (B, A) -> (B).
torch::Tensor gaussian_log_prob(const torch::Tensor& mean, const torch::Tensor& log_std, const torch::Tensor& actions);
// lr · ½ (1 + cos(π · min(t, T) / T)) (optax.cosine_decay_schedule with alpha 0).
double cosine_decay(double lr, int64_t t, int64_t total);

// V(s): the MLP on s. obs (B, obs_dim) -> (B).
class IqlValueNetImpl : public torch::nn::Module {
 public:
  IqlValueNetImpl(int64_t obs_dim, const std::vector<int64_t>& hidden) {
    net = register_module("net", offpolicy::relu_mlp(obs_dim, hidden, 1));
  }
  torch::Tensor forward(const torch::Tensor& obs) { return net->forward(obs).squeeze(1); }
  torch::nn::Sequential net{nullptr};
};
TORCH_MODULE(IqlValueNet);

// IQL's actor: mean = tanh(MLP(x)) · scale + bias (B, A), log σ a parameter (A) clipped to [−5, 2].
// x (B, in_dim): the observation (FamO2O: the observation and the coefficient's encoding).
class IqlActorImpl : public torch::nn::Module {
 public:
  IqlActorImpl(int64_t in_dim, int64_t act_dim, const std::vector<int64_t>& hidden, torch::Tensor scale_,
               torch::Tensor bias_) {
    net = register_module("net", offpolicy::relu_mlp(in_dim, hidden, act_dim));
    log_std = register_parameter("log_std", torch::zeros({act_dim}));
    scale = register_buffer("scale", scale_);
    bias = register_buffer("bias", bias_);
  }
  torch::Tensor mean(const torch::Tensor& x) { return torch::tanh(net->forward(x)) * scale + bias; }
  torch::Tensor clipped_log_std() { return log_std.clamp(-5.0, 2.0); }
  torch::nn::Sequential net{nullptr};
  torch::Tensor log_std, scale, bias;  // (A)
};
TORCH_MODULE(IqlActor);

// IQL's critics (Kostrikov et al. 2021), shared by iql and famo2o: V, twin Q, their Polyak targets
// and their Adam optimizers. The targets' parameters are frozen (requires_grad false): a loss may
// differentiate min(Q1', Q2') with respect to the action (FamO2O's balance model) without training them.
class IqlCritics {
 public:
  IqlCritics(int64_t obs_dim, int64_t act_dim, const std::vector<int64_t>& hidden, double critic_lr, double value_lr);

  // min(Q1', Q2')(s, a). obs (B, obs_dim), actions (B, A) -> (B).
  torch::Tensor target_q(const torch::Tensor& obs, const torch::Tensor& actions);
  // One Adam step of V on expectile_loss(q_target_sa − V(s)). q_target_sa (B), no gradient.
  // Returns {the loss, mean V(s)}.
  std::pair<double, double> value_step(const torch::Tensor& obs, const torch::Tensor& q_target_sa, double expectile);
  // One Adam step of the twin Q toward r + γ (1 − d) V(s') (next_v (B), no gradient), then the
  // targets' Polyak update with `tau`. Returns {the loss, mean Q1(s, a)}.
  std::pair<double, double> q_step(const offpolicy::ReplaySample& batch, const torch::Tensor& next_v, double tau);

  // The checkpoint entries: (key, module) and (key, optimizer), in the order they are written.
  std::vector<std::pair<std::string, torch::nn::Module*>> modules();
  std::vector<std::pair<std::string, torch::optim::Optimizer*>> optimizers();

  IqlValueNet value{nullptr};

 private:
  offpolicy::ContinuousQ qf1_{nullptr}, qf2_{nullptr}, qf1_target_{nullptr}, qf2_target_{nullptr};
  std::unique_ptr<torch::optim::Adam> q_opt_, v_opt_;
};

std::unique_ptr<Trainer> make_iql_trainer(const core::Recipe& recipe, const RunContext& ctx);

}  // namespace rlpp::train::offline
