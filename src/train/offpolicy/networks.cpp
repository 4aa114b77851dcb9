#include "rlpp/train/offpolicy/networks.h"

namespace rlpp::train::offpolicy {

torch::nn::Sequential relu_mlp(int64_t in, const std::vector<int64_t>& hidden, int64_t out) {
  torch::nn::Sequential s;
  int64_t width = in;
  for (int64_t h : hidden) {
    s->push_back(torch::nn::Linear(width, h));
    s->push_back(torch::nn::ReLU());
    width = h;
  }
  s->push_back(torch::nn::Linear(width, out));
  return s;
}

ContinuousQImpl::ContinuousQImpl(int64_t obs_dim, int64_t act_dim, const std::vector<int64_t>& hidden) {
  net = register_module("net", relu_mlp(obs_dim + act_dim, hidden, 1));
}

torch::Tensor ContinuousQImpl::forward(const torch::Tensor& obs, const torch::Tensor& act) {
  return net->forward(torch::cat({obs, act}, 1)).squeeze(1);
}

DiscreteQImpl::DiscreteQImpl(int64_t obs_dim, int64_t num_actions, const std::vector<int64_t>& hidden) {
  net = register_module("net", relu_mlp(obs_dim, hidden, num_actions));
}

torch::Tensor DiscreteQImpl::forward(const torch::Tensor& obs) { return net->forward(obs); }

GaussianActorImpl::GaussianActorImpl(int64_t obs_dim, int64_t act_dim, const std::vector<int64_t>& hidden) {
  torch::nn::Sequential t;
  int64_t width = obs_dim;
  for (int64_t h : hidden) {
    t->push_back(torch::nn::Linear(width, h));
    t->push_back(torch::nn::ReLU());
    width = h;
  }
  trunk = register_module("trunk", t);
  mean = register_module("mean", torch::nn::Linear(width, act_dim));
  log_std = register_module("log_std", torch::nn::Linear(width, act_dim));
}

std::pair<torch::Tensor, torch::Tensor> GaussianActorImpl::forward(const torch::Tensor& obs) {
  const torch::Tensor h = trunk->forward(obs);
  const torch::Tensor raw = torch::tanh(log_std->forward(h));
  return {mean->forward(h), kLogStdMin + 0.5 * (kLogStdMax - kLogStdMin) * (raw + 1.0)};
}

DeterministicActorImpl::DeterministicActorImpl(int64_t obs_dim, int64_t act_dim, const std::vector<int64_t>& hidden,
                                               torch::Tensor scale_, torch::Tensor bias_) {
  net = register_module("net", relu_mlp(obs_dim, hidden, act_dim));
  scale = register_buffer("scale", scale_);
  bias = register_buffer("bias", bias_);
}

torch::Tensor DeterministicActorImpl::forward(const torch::Tensor& obs) {
  return torch::tanh(net->forward(obs)) * scale + bias;
}

void polyak_update(const std::vector<torch::Tensor>& target, const std::vector<torch::Tensor>& online, double tau) {
  torch::NoGradGuard no_grad;
  TORCH_CHECK(target.size() == online.size(), "polyak_update: ", target.size(), " target vs ", online.size(), " online tensors");
  for (size_t i = 0; i < target.size(); ++i) {
    torch::Tensor t = target[i];
    t.mul_(1.0 - tau).add_(online[i], tau);
  }
}

torch::Tensor twin_critic_loss(const torch::Tensor& q1, const torch::Tensor& q2, const torch::Tensor& target,
                               const torch::Tensor& weights) {
  return (weights * (q1 - target).pow(2)).mean() + (weights * (q2 - target).pow(2)).mean();
}

}  // namespace rlpp::train::offpolicy
