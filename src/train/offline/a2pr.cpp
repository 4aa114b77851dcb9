#include "rlpp/train/offline/a2pr.h"

#include "rlpp/train/offpolicy/networks.h"

namespace rlpp::train::offline {

void A2prOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.num("learning_rate", learning_rate, "Adam learning rate of the actor, the critics and the value", Bounds::positive());
  b.num("vae_learning_rate", vae_learning_rate, "Adam learning rate of the VAE", Bounds::positive());
  b.num("tau", tau, "Polyak coefficient of the target networks", Bounds::closed(0, 1));
  b.num("policy_noise", policy_noise, "target smoothing noise (times the action scale)", Bounds::non_negative());
  b.num("noise_clip", noise_clip, "clip of the target smoothing noise (times the action scale)", Bounds::non_negative());
  b.integer("policy_frequency", policy_frequency, "actor and target updates every this many steps",
            Bounds::closed(1, 1000));
  b.num("alpha", alpha, "alpha of lambda = alpha / mean|Q| (weight of the Q term)", Bounds::positive());
  b.num("mask", mask, "scale of the advantage indicators weighting the actor's regulariser", Bounds::non_negative());
  b.num("vae_weight", vae_weight, "scale of the VAE's advantage-filtered reconstruction loss", Bounds::non_negative());
  b.num("kl_weight", kl_weight, "coefficient of the VAE's KL term", Bounds::non_negative());
  b.integers("actor_hidden", actor_hidden, "hidden widths of the actor (ReLU)", Bounds::closed(1, 1 << 16));
  b.integers("critic_hidden", critic_hidden, "hidden widths of the critics and the value (ReLU)",
             Bounds::closed(1, 1 << 16));
  b.integers("vae_hidden", vae_hidden, "hidden widths of the VAE's encoder and decoder (ReLU)",
             Bounds::closed(1, 1 << 16));
  b.integer("latent_factor", latent_factor, "the VAE's latent width is this times the action width",
            Bounds::closed(1, 64));
}

namespace {
// in -> hidden... with ReLU after every layer (the trunk of a head).
torch::nn::Sequential relu_trunk(int64_t in, const std::vector<int64_t>& hidden) {
  torch::nn::Sequential s;
  int64_t width = in;
  for (int64_t h : hidden) {
    s->push_back(torch::nn::Linear(width, h));
    s->push_back(torch::nn::ReLU());
    width = h;
  }
  return s;
}
}  // namespace

A2prVaeImpl::A2prVaeImpl(int64_t obs_dim, int64_t act_dim, int64_t latent, const std::vector<int64_t>& hidden,
                         torch::Tensor scale_, torch::Tensor bias_)
    : latent_dim(latent) {
  encoder = register_module("encoder", relu_trunk(obs_dim + act_dim, hidden));
  mean_head = register_module("mean", torch::nn::Linear(hidden.back(), latent));
  log_std_head = register_module("log_std", torch::nn::Linear(hidden.back(), latent));
  decoder = register_module("decoder", offpolicy::relu_mlp(obs_dim + latent, hidden, act_dim));
  scale = register_buffer("scale", scale_);
  bias = register_buffer("bias", bias_);
}

A2prVaeImpl::Out A2prVaeImpl::forward(const torch::Tensor& obs, const torch::Tensor& act, const torch::Tensor& eps) {
  const torch::Tensor h = encoder->forward(torch::cat({obs, act}, 1));
  const torch::Tensor mean = mean_head->forward(h);
  const torch::Tensor std = log_std_head->forward(h).clamp(-4, 15).exp();
  return {decode(obs, mean + std * eps), mean, std};
}

torch::Tensor A2prVaeImpl::decode(const torch::Tensor& obs, const torch::Tensor& z) {
  return torch::tanh(decoder->forward(torch::cat({obs, z}, 1))) * scale + bias;
}

torch::Tensor a2pr_value_target(const torch::Tensor& returns, const torch::Tensor& discount,
                                const torch::Tensor& next_q_target_min, const torch::Tensor& next_q_online_min) {
  return torch::min(returns + discount * next_q_target_min, returns + discount * next_q_online_min);
}

A2prVaeLoss a2pr_vae_loss(const torch::Tensor& recon, const torch::Tensor& action, const torch::Tensor& mean,
                          const torch::Tensor& std, const torch::Tensor& q_data, const torch::Tensor& v,
                          double vae_weight, double kl_weight) {
  const torch::Tensor keep = (q_data > v).to(recon.scalar_type()).detach().unsqueeze(1) * vae_weight;  // (B, 1)
  const torch::Tensor rec = (keep * (recon - action).pow(2)).mean();
  const torch::Tensor kl = -0.5 * (1 + std.pow(2).log() - mean.pow(2) - std.pow(2)).mean();
  return {rec + kl_weight * kl, rec, kl};
}

A2prActorLoss a2pr_actor_loss(const torch::Tensor& q_pi, const torch::Tensor& pi, const torch::Tensor& recon_pi,
                              const torch::Tensor& action, const torch::Tensor& q_recon, const torch::Tensor& q_data,
                              const torch::Tensor& v, double alpha, double mask) {
  const torch::Tensor lambda = alpha / q_pi.abs().mean().detach();
  const torch::Tensor adv_recon = (q_recon - v).detach(), adv_data = (q_data - v).detach();  // (B)
  const torch::Tensor use_recon = (adv_recon >= adv_data).unsqueeze(1);                     // (B, 1)
  const torch::Tensor target = torch::where(use_recon, recon_pi, action);                   // (B, A)
  const auto dt = pi.scalar_type();
  const torch::Tensor weight =
      (mask * ((q_recon >= v).to(dt) + (q_data > v).to(dt))).detach().unsqueeze(1);  // (B, 1)
  const torch::Tensor bc = (weight * (pi - target).pow(2)).mean();
  return {-lambda * q_pi.mean() + bc, lambda, bc, use_recon.to(dt).mean(), weight.mean()};
}

}  // namespace rlpp::train::offline
