#include "rlpp/nn/actor_critic.h"

#include <cmath>

#include "rlpp/core/error.h"

namespace rlpp::nn {

void MlpPolicyOptions::bind(core::Binder& b) {
  b.integers("hidden", hidden, "hidden layer widths of the actor and of the critic", core::Bounds::closed(1, 65536));
  b.choice("activation", activation, {"tanh", "relu"}, "hidden activation");
  b.num("init_log_std", init_log_std, "initial log standard deviation (continuous actions)", core::Bounds::closed(-20, 5));
  b.flag("mean_tanh", mean_tanh, "tanh on the Gaussian mean (continuous actions; the PROPS authors' actor)");
  b.num("actor_head_gain", actor_head_gain, "orthogonal-init gain of the policy head", core::Bounds::positive());
  b.choice("backend", backend, {"fast", "torch"},
           "fast: fused CPU MLP path; torch: LibTorch autograd reference");
}

torch::nn::Sequential make_mlp(int64_t in, const std::vector<int64_t>& hidden, int64_t out,
                               const std::string& activation, double head_gain, bool tanh_out) {
  torch::nn::Sequential seq;
  int64_t width = in;
  auto add_linear = [&](int64_t to, double gain) {
    torch::nn::Linear lin(width, to);
    torch::NoGradGuard no_grad;
    torch::nn::init::orthogonal_(lin->weight, gain);
    lin->bias.zero_();
    seq->push_back(lin);
    width = to;
  };
  for (int64_t h : hidden) {
    add_linear(h, std::sqrt(2.0));
    if (activation == "relu") {
      seq->push_back(torch::nn::ReLU());
    } else {
      seq->push_back(torch::nn::Tanh());
    }
  }
  add_linear(out, head_gain);
  if (tanh_out) seq->push_back(torch::nn::Tanh());
  return seq;
}

ActorCriticImpl::ActorCriticImpl(int64_t obs_dim, int64_t act_dim, bool discrete, const MlpPolicyOptions& opts)
    : obs_dim_(obs_dim), act_dim_(act_dim), discrete_(discrete) {
  core::require(!(discrete && opts.mean_tanh),
                "policy.mean_tanh: a tanh on the mean is for continuous (Gaussian) actions; this task's are discrete");
  critic = register_module("critic", make_mlp(obs_dim, opts.hidden, 1, opts.activation, 1.0));
  actor = register_module("actor", make_mlp(obs_dim, opts.hidden, act_dim, opts.activation, opts.actor_head_gain,
                                             /*tanh_out=*/opts.mean_tanh && !discrete));
  if (!discrete) log_std = register_parameter("log_std", torch::full({act_dim}, opts.init_log_std));
}

torch::Tensor ActorCriticImpl::value(const torch::Tensor& obs) { return critic->forward(obs).squeeze(-1); }

torch::Tensor ActorCriticImpl::actor_out(const torch::Tensor& obs) { return actor->forward(obs); }

std::pair<torch::Tensor, torch::Tensor> ActorCriticImpl::log_prob_entropy(const torch::Tensor& obs,
                                                                         const torch::Tensor& actions) {
  const torch::Tensor out = actor_out(obs);  // (B, A)
  if (discrete_) {
    const torch::Tensor logp_all = torch::log_softmax(out, -1);                     // (B, A)
    const torch::Tensor logp = logp_all.gather(-1, actions.unsqueeze(-1)).squeeze(-1);  // (B)
    const torch::Tensor entropy = -(logp_all.exp() * logp_all).sum(-1);             // (B)
    return {logp, entropy};
  }
  // Diagonal Gaussian: log N(a; mu, sigma) = -((a-mu)^2/(2 sigma^2)) - log sigma - log sqrt(2 pi)
  const double half_log_2pi = 0.5 * std::log(2.0 * M_PI);
  const torch::Tensor z = (actions - out) * torch::exp(-log_std);                     // (B, A)
  const torch::Tensor logp = (-0.5 * z * z - log_std - half_log_2pi).sum(-1);         // (B)
  // H = sum_a (0.5 + log sqrt(2 pi) + log sigma_a), the same for every state.
  const torch::Tensor entropy = (0.5 + half_log_2pi + log_std).sum().expand({obs.size(0)});
  return {logp, entropy};
}

}  // namespace rlpp::nn
