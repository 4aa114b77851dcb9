#include "rlpp/train/offpolicy/td3.h"

#include "rlpp/core/error.h"
#include "rlpp/train/offpolicy/fast_td3_update.h"
#include "rlpp/train/offpolicy/networks.h"
#include "rlpp/train/offpolicy/offpolicy_run.h"
#include "rlpp/train/offpolicy/trainers.h"

namespace rlpp::train::offpolicy {

void Td3Options::bind(core::Binder& b) {
  using core::Bounds;
  b.num("learning_rate", learning_rate, "Adam learning rate of the actor and the critics", Bounds::positive());
  b.num("tau", tau, "Polyak coefficient of the target networks", Bounds::closed(0, 1));
  b.num("policy_noise", policy_noise, "target smoothing noise (times the action scale)", Bounds::non_negative());
  b.num("noise_clip", noise_clip, "clip of the target smoothing noise (before the action scale)", Bounds::non_negative());
  b.num("exploration_noise", exploration_noise, "behaviour noise (times the action scale)", Bounds::non_negative());
  b.integer("policy_frequency", policy_frequency, "actor and target updates every this many batch steps",
            Bounds::closed(1, 1000));
  b.integers("hidden", hidden, "hidden widths of the actor and critic MLPs (ReLU)", Bounds::closed(1, 1 << 16));
  b.choice("backend", backend, {"libtorch", "fast"},
           "the updates' implementation: LibTorch autograd (reference) or flat buffers with hand-derived gradients");
}

torch::Tensor td3_target_action(const torch::Tensor& target_mu, const torch::Tensor& eps, double policy_noise,
                                double noise_clip, const torch::Tensor& scale, const torch::Tensor& low,
                                const torch::Tensor& high) {
  const torch::Tensor noise = (eps * policy_noise).clamp(-noise_clip, noise_clip) * scale;
  return torch::max(torch::min(target_mu + noise, high), low);
}

torch::Tensor td3_critic_target(const torch::Tensor& returns, const torch::Tensor& discount,
                                const torch::Tensor& next_q1, const torch::Tensor& next_q2) {
  return returns + discount * torch::min(next_q1, next_q2);
}

torch::Tensor td3_actor_loss(const torch::Tensor& q1) { return -q1.mean(); }

namespace {

OffPolicyOptions td3_defaults() {
  OffPolicyOptions o;  // CleanRL's td3_continuous_action.py
  o.buffer_size = 1000000;
  o.batch_size = 256;
  o.gamma = 0.99;
  o.learning_starts = 25000;
  return o;
}

class Td3Trainer : public OffPolicyRun {
 public:
  Td3Trainer(const core::Recipe& recipe, const RunContext& ctx)
      : OffPolicyRun(recipe, ctx, td3_defaults(), /*discrete=*/false, "td3") {
    td3_ = core::read_options<Td3Options>(recipe, "td3");
    recipe.check_all_used();
    scale_ = action_scale();
    low_t_ = torch::tensor(low_, torch::kFloat32);
    high_t_ = torch::tensor(high_, torch::kFloat32);
    actor_ = DeterministicActor(obs_dim_, act_dim_, td3_.hidden, scale_, action_bias());
    qf1_ = ContinuousQ(obs_dim_, act_dim_, td3_.hidden);
    qf2_ = ContinuousQ(obs_dim_, act_dim_, td3_.hidden);
    actor_target_ = DeterministicActor(obs_dim_, act_dim_, td3_.hidden, scale_, action_bias());
    qf1_target_ = ContinuousQ(obs_dim_, act_dim_, td3_.hidden);
    qf2_target_ = ContinuousQ(obs_dim_, act_dim_, td3_.hidden);
    polyak_update(actor_target_->parameters(), actor_->parameters(), 1.0);
    polyak_update(qf1_target_->parameters(), qf1_->parameters(), 1.0);
    polyak_update(qf2_target_->parameters(), qf2_->parameters(), 1.0);
    std::vector<torch::Tensor> q_params = qf1_->parameters();
    for (const auto& p : qf2_->parameters()) q_params.push_back(p);
    q_opt_ = std::make_unique<torch::optim::Adam>(q_params, torch::optim::AdamOptions(td3_.learning_rate));
    actor_opt_ = std::make_unique<torch::optim::Adam>(actor_->parameters(), torch::optim::AdamOptions(td3_.learning_rate));
    declare_metrics({metric::kQf1Values, metric::kQf2Values, metric::kQf1Loss, metric::kQf2Loss, metric::kQfLoss,
                     metric::kActorLoss});
    if (td3_.backend == "fast") {
      FastTd3Config fc;
      fc.obs_dim = obs_dim_;
      fc.act_dim = act_dim_;
      fc.hidden = td3_.hidden;
      const torch::Tensor bias = action_bias();
      fc.scale = std::vector<float>(scale_.data_ptr<float>(), scale_.data_ptr<float>() + act_dim_);
      fc.bias = std::vector<float>(bias.data_ptr<float>(), bias.data_ptr<float>() + act_dim_);
      fc.low = low_;
      fc.high = high_;
      fc.learning_rate = td3_.learning_rate;
      fc.policy_noise = td3_.policy_noise;
      fc.noise_clip = td3_.noise_clip;
      fc.exploration_noise = td3_.exploration_noise;
      fast_ = std::make_unique<FastTd3>(fc);
      fast_->copy_from(actor_, qf1_, qf2_, actor_target_, qf1_target_, qf2_target_);
    }
    toml::table own;
    core::write_options(td3_, &own, "td3");
    start(recipe, own);
  }

 private:
  int64_t checkpoint_version() const override { return 1; }

  void act(const float* obs, int64_t n, bool explore, float* actions) override {
    if (fast_) {
      const torch::Tensor eps = explore ? normal_noise(n, act_dim_) : torch::Tensor();
      fast_->act(obs, n, explore ? eps.data_ptr<float>() : nullptr, actions);
      return;
    }
    const torch::Tensor o = torch::from_blob(const_cast<float*>(obs), {n, obs_dim_}, torch::kFloat32);
    torch::Tensor a = actor_->forward(o);
    if (explore) {
      a = a + normal_noise(n, act_dim_) * (scale_ * td3_.exploration_noise);
      a = torch::max(torch::min(a, high_t_), low_t_);
    }
    a = a.contiguous();
    std::copy_n(a.data_ptr<float>(), n * act_dim_, actions);
  }

  // train_step's LibTorch path on the fast backend, drawing the same noise in the same order.
  torch::Tensor fast_train_step(const ReplaySample& batch, int64_t t) {
    const int64_t B = batch.obs.size(0);
    const SacBatchView view{B,
                            batch.obs.data_ptr<float>(),
                            batch.actions.data_ptr<float>(),
                            batch.returns.data_ptr<float>(),
                            batch.next_obs.data_ptr<float>(),
                            batch.discount.data_ptr<float>(),
                            batch.weights.data_ptr<float>()};
    torch::Tensor td_error = torch::empty({B}, torch::kFloat32);  // (B)
    const SacCriticStats s =
        fast_->critic_step(view, normal_noise(B, act_dim_).data_ptr<float>(), td_error.data_ptr<float>());
    accumulate(metric::kQf1Values, s.qf1_values);
    accumulate(metric::kQf2Values, s.qf2_values);
    accumulate(metric::kQf1Loss, s.qf1_loss);
    accumulate(metric::kQf2Loss, s.qf2_loss);
    accumulate(metric::kQfLoss, s.qf_loss);
    if (t % td3_.policy_frequency == 0) {
      accumulate(metric::kActorLoss, fast_->actor_step(view.obs, B));
      fast_->polyak(td3_.tau);
    }
    return td_error;
  }

  torch::Tensor train_step(const ReplaySample& batch, int64_t t) override {
    if (fast_) return fast_train_step(batch, t);
    torch::Tensor target;
    {
      torch::NoGradGuard no_grad;
      const torch::Tensor next_a =
          td3_target_action(actor_target_->forward(batch.next_obs), normal_noise(batch.obs.size(0), act_dim_),
                            td3_.policy_noise, td3_.noise_clip, scale_, low_t_, high_t_);
      target = td3_critic_target(batch.returns, batch.discount, qf1_target_->forward(batch.next_obs, next_a),
                                 qf2_target_->forward(batch.next_obs, next_a));
    }
    const torch::Tensor td_error = twin_critic_step(qf1_, qf2_, *q_opt_, batch, target);  // (B)
    if (t % td3_.policy_frequency == 0) {
      const torch::Tensor actor_loss = td3_actor_loss(qf1_->forward(batch.obs, actor_->forward(batch.obs)));
      actor_opt_->zero_grad();
      actor_loss.backward();
      actor_opt_->step();
      accumulate(metric::kActorLoss, actor_loss.item<double>());
      polyak_update(actor_target_->parameters(), actor_->parameters(), td3_.tau);
      polyak_update(qf1_target_->parameters(), qf1_->parameters(), td3_.tau);
      polyak_update(qf2_target_->parameters(), qf2_->parameters(), td3_.tau);
    }
    torch::NoGradGuard no_grad;
    return td_error;
  }

  void save_model(CheckpointWriter& w) override {
    if (fast_) {  // the weights go through the modules (one checkpoint layout), the moments beside them
      fast_->copy_to(actor_, qf1_, qf2_, actor_target_, qf1_target_, qf2_target_);
      fast_->save_optimizers(w, "fast_optimizers");
    }
    save_module(w, "actor", *actor_);
    save_module(w, "qf1", *qf1_);
    save_module(w, "qf2", *qf2_);
    save_module(w, "actor_target", *actor_target_);
    save_module(w, "qf1_target", *qf1_target_);
    save_module(w, "qf2_target", *qf2_target_);
    save_optimizer(w, "q_optimizer", *q_opt_);
    save_optimizer(w, "actor_optimizer", *actor_opt_);
  }

  void load_model(CheckpointReader& r) override {
    load_module(r, "actor", *actor_);
    load_module(r, "qf1", *qf1_);
    load_module(r, "qf2", *qf2_);
    load_module(r, "actor_target", *actor_target_);
    load_module(r, "qf1_target", *qf1_target_);
    load_module(r, "qf2_target", *qf2_target_);
    load_optimizer(r, "q_optimizer", *q_opt_);
    load_optimizer(r, "actor_optimizer", *actor_opt_);
    if (fast_) {
      fast_->copy_from(actor_, qf1_, qf2_, actor_target_, qf1_target_, qf2_target_);
      fast_->load_optimizers(r, "fast_optimizers");
    }
  }

  Td3Options td3_;
  torch::Tensor scale_, low_t_, high_t_;  // (A)
  DeterministicActor actor_{nullptr}, actor_target_{nullptr};
  ContinuousQ qf1_{nullptr}, qf2_{nullptr}, qf1_target_{nullptr}, qf2_target_{nullptr};
  std::unique_ptr<torch::optim::Adam> q_opt_, actor_opt_;
  std::unique_ptr<FastTd3> fast_;  // td3.backend = "fast": the updates and the policy run here
};

}  // namespace

std::unique_ptr<Trainer> make_td3_trainer(const core::Recipe& recipe, const RunContext& ctx) {
  return std::make_unique<Td3Trainer>(recipe, ctx);
}

}  // namespace rlpp::train::offpolicy
