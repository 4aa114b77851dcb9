#include "rlpp/train/offline/a2pr.h"

#include "rlpp/train/offline/fused_adam.h"
#include "rlpp/train/offline/set_grads.h"
#include "rlpp/train/offline/td3_offline_run.h"
#include "rlpp/train/offpolicy/networks.h"
#include "rlpp/train/offpolicy/td3.h"

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
  b.num("exploration_noise", exploration_noise,
        "online phase (offline.online_steps): TD3's behaviour noise std, times the action scale", Bounds::non_negative());
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

// ---- the trainer ---------------------------------------------------------------------------------

namespace metric {
inline constexpr const char* kA2prVaeLoss = "a2pr/vae_loss";
inline constexpr const char* kA2prVaeChosen = "a2pr/vae_chosen";  // fraction of rows regularised toward ã
inline constexpr const char* kA2prWeight = "a2pr/bc_weight";      // mean advantage weight of the regulariser
}  // namespace metric

namespace {

OfflineOptions a2pr_defaults() {
  OfflineOptions o;  // the authors' utils/config.py
  o.batch_size = 256;
  o.gamma = 0.99;
  o.normalize_observations = true;
  return o;
}

class ValueNetImpl : public torch::nn::Module {
 public:
  ValueNetImpl(int64_t obs_dim, const std::vector<int64_t>& hidden) {
    net = register_module("net", offpolicy::relu_mlp(obs_dim, hidden, 1));
  }
  torch::Tensor forward(const torch::Tensor& obs) { return net->forward(obs).squeeze(1); }  // (B)
  torch::nn::Sequential net{nullptr};
};
TORCH_MODULE(ValueNet);

class A2prTrainer : public Td3OfflineRun {
 public:
  A2prTrainer(const core::Recipe& recipe, const RunContext& ctx) : Td3OfflineRun(recipe, ctx, a2pr_defaults(), "a2pr") {
    opts_ = core::read_options<A2prOptions>(recipe, "a2pr");
    recipe.check_all_used();
    latent_ = opts_.latent_factor * act_dim_;
    build_td3_networks(opts_.actor_hidden, opts_.critic_hidden, opts_.learning_rate);
    exploration_noise_ = opts_.exploration_noise;
    value_ = ValueNet(obs_dim_, opts_.critic_hidden);
    vae_ = A2prVae(obs_dim_, act_dim_, latent_, opts_.vae_hidden, scale_, action_bias());
    value_opt_ = std::make_unique<torch::optim::Adam>(value_->parameters(), torch::optim::AdamOptions(opts_.learning_rate));
    vae_opt_ = std::make_unique<torch::optim::Adam>(vae_->parameters(), torch::optim::AdamOptions(opts_.vae_learning_rate));
    declare_metrics({metric::kQf1Values, metric::kQfLoss, metric::kValueLoss, metric::kValues, metric::kA2prVaeLoss,
                     metric::kActorLoss, metric::kLambda, metric::kBcLoss, metric::kA2prVaeChosen, metric::kA2prWeight});
    toml::table own;
    core::write_options(opts_, &own, "a2pr");
    start(recipe, own);
  }

 private:
  int64_t checkpoint_version() const override { return 1; }

  void train_step(const offpolicy::ReplaySample& batch, int64_t step_index) override {
    const int64_t n = batch.obs.size(0);
    torch::Tensor next_a, next_q_target, target;  // (B, A), (B), (B)
    {
      torch::NoGradGuard no_grad;
      next_a = smoothed_next_action(batch, opts_.policy_noise, opts_.noise_clip);
      next_q_target = torch::min(qf1_target_->forward(batch.next_obs, next_a), qf2_target_->forward(batch.next_obs, next_a));
      target = batch.returns + batch.discount * next_q_target;  // td3_critic_target's clipped double Q
    }
    critic_step(batch, target);

    // the value, toward the smaller of the target critics' and the updated critics' bootstrap
    torch::Tensor value_target;
    {
      torch::NoGradGuard no_grad;
      const torch::Tensor online = torch::min(qf1_->forward(batch.next_obs, next_a), qf2_->forward(batch.next_obs, next_a));
      value_target = a2pr_value_target(batch.returns, batch.discount, next_q_target, online);
    }
    const torch::Tensor v = value_->forward(batch.obs);  // (B), before the value step (as the code's `value`)
    const torch::Tensor value_loss = (v - value_target).pow(2).mean();
    value_opt_->zero_grad();
    value_loss.backward();
    fused_adam_step(*value_opt_);
    accumulate(metric::kValueLoss, value_loss.item<double>());
    accumulate(metric::kValues, v.mean().item<double>());
    const torch::Tensor v_d = v.detach();

    // the VAE on the rows with positive advantage
    torch::Tensor q_data;
    {
      torch::NoGradGuard no_grad;
      q_data = qf1_->forward(batch.obs, batch.actions);  // (B)
    }
    const auto out = vae_->forward(batch.obs, batch.actions, normal_noise(n, latent_));
    const A2prVaeLoss vl = a2pr_vae_loss(out.recon, batch.actions, out.mean, out.std, q_data, v_d, opts_.vae_weight,
                                         opts_.kl_weight);
    vae_opt_->zero_grad();
    vl.loss.backward();
    fused_adam_step(*vae_opt_);
    accumulate(metric::kA2prVaeLoss, vl.loss.item<double>());

    // the authors' code counts total_it from 1: the actor steps when total_it % freq == 0
    if ((step_index + 1) % opts_.policy_frequency == 0) {
      const torch::Tensor pi = actor_->forward(batch.obs);
      const torch::Tensor q_pi = qf1_->forward(batch.obs, pi);
      const torch::Tensor recon_pi = vae_->forward(batch.obs, pi, normal_noise(n, latent_)).recon;  // ã, with its graph
      torch::Tensor q_recon;
      {
        torch::NoGradGuard no_grad;
        q_recon = qf1_->forward(batch.obs, recon_pi);
      }
      const A2prActorLoss l =
          a2pr_actor_loss(q_pi, pi, recon_pi, batch.actions, q_recon, q_data, v_d, opts_.alpha, opts_.mask);
      actor_opt_->zero_grad();
      set_grads(l.loss, actor_->parameters());  // not into the VAE's and qf1's weights (set_grads.h)
      fused_adam_step(*actor_opt_);
      accumulate(metric::kActorLoss, l.loss.item<double>());
      accumulate(metric::kLambda, l.lambda.item<double>());
      accumulate(metric::kBcLoss, l.bc_loss.item<double>());
      accumulate(metric::kA2prVaeChosen, l.vae_chosen.item<double>());
      accumulate(metric::kA2prWeight, l.weight_mean.item<double>());
      update_targets(opts_.tau);
    }
  }

  void save_model(CheckpointWriter& w) override {
    save_td3_networks(w);
    save_module(w, "value", *value_);
    save_module(w, "vae", *vae_);
    save_optimizer(w, "value_optimizer", *value_opt_);
    save_optimizer(w, "vae_optimizer", *vae_opt_);
  }

  void load_model(CheckpointReader& r) override {
    load_td3_networks(r);
    load_module(r, "value", *value_);
    load_module(r, "vae", *vae_);
    load_optimizer(r, "value_optimizer", *value_opt_);
    load_optimizer(r, "vae_optimizer", *vae_opt_);
  }

  A2prOptions opts_;
  int64_t latent_ = 0;
  ValueNet value_{nullptr};
  A2prVae vae_{nullptr};
  std::unique_ptr<torch::optim::Adam> value_opt_, vae_opt_;
};

}  // namespace

std::unique_ptr<Trainer> make_a2pr_trainer(const core::Recipe& recipe, const RunContext& ctx) {
  return std::make_unique<A2prTrainer>(recipe, ctx);
}

}  // namespace rlpp::train::offline
