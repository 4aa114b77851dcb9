#include "rlpp/train/offline/td3_bc.h"

#include "rlpp/train/offline/bc.h"
#include "rlpp/train/offline/offline_run.h"
#include "rlpp/train/offpolicy/networks.h"
#include "rlpp/train/offpolicy/td3.h"

namespace rlpp::train::offline {

void Td3BcOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.num("learning_rate", learning_rate, "Adam learning rate of the actor and the critics", Bounds::positive());
  b.num("tau", tau, "Polyak coefficient of the target networks", Bounds::closed(0, 1));
  b.num("policy_noise", policy_noise, "target smoothing noise (times the action scale)", Bounds::non_negative());
  b.num("noise_clip", noise_clip, "clip of the target smoothing noise (before the action scale)", Bounds::non_negative());
  b.integer("policy_frequency", policy_frequency, "actor and target updates every this many gradient steps",
            Bounds::closed(1, 1000));
  b.num("alpha", alpha, "alpha of lambda = alpha / mean|Q| (the weight of the Q term against BC)", Bounds::non_negative());
  b.integers("hidden", hidden, "hidden widths of the actor and critic MLPs (ReLU)", Bounds::closed(1, 1 << 16));
}

Td3BcActorLoss td3_bc_actor_loss(const torch::Tensor& q1, const torch::Tensor& pi, const torch::Tensor& actions,
                                 double alpha) {
  const torch::Tensor lambda = (alpha / q1.abs().mean()).detach();
  return {-lambda * q1.mean() + bc_loss(pi, actions), lambda};
}

namespace {

OfflineOptions td3_bc_defaults() {
  OfflineOptions o;  // TD3_BC main.py
  o.batch_size = 256;
  o.gamma = 0.99;
  o.normalize_observations = true;
  return o;
}

class Td3BcTrainer : public OfflineRun {
 public:
  Td3BcTrainer(const core::Recipe& recipe, const RunContext& ctx)
      : OfflineRun(recipe, ctx, td3_bc_defaults(), "td3_bc") {
    opts_ = core::read_options<Td3BcOptions>(recipe, "td3_bc");
    recipe.check_all_used();
    scale_ = action_scale();
    low_t_ = action_low();
    high_t_ = action_high();
    actor_ = offpolicy::DeterministicActor(obs_dim_, act_dim_, opts_.hidden, scale_, action_bias());
    actor_target_ = offpolicy::DeterministicActor(obs_dim_, act_dim_, opts_.hidden, scale_, action_bias());
    qf1_ = offpolicy::ContinuousQ(obs_dim_, act_dim_, opts_.hidden);
    qf2_ = offpolicy::ContinuousQ(obs_dim_, act_dim_, opts_.hidden);
    qf1_target_ = offpolicy::ContinuousQ(obs_dim_, act_dim_, opts_.hidden);
    qf2_target_ = offpolicy::ContinuousQ(obs_dim_, act_dim_, opts_.hidden);
    offpolicy::polyak_update(actor_target_->parameters(), actor_->parameters(), 1.0);
    offpolicy::polyak_update(qf1_target_->parameters(), qf1_->parameters(), 1.0);
    offpolicy::polyak_update(qf2_target_->parameters(), qf2_->parameters(), 1.0);
    std::vector<torch::Tensor> q_params = qf1_->parameters();
    for (const auto& p : qf2_->parameters()) q_params.push_back(p);
    q_opt_ = std::make_unique<torch::optim::Adam>(q_params, torch::optim::AdamOptions(opts_.learning_rate));
    actor_opt_ = std::make_unique<torch::optim::Adam>(actor_->parameters(), torch::optim::AdamOptions(opts_.learning_rate));
    declare_metrics({metric::kQf1Values, metric::kQfLoss, metric::kActorLoss, metric::kBcLoss, metric::kLambda});
    toml::table own;
    core::write_options(opts_, &own, "td3_bc");
    start(recipe, own);
  }

 private:
  int64_t checkpoint_version() const override { return 1; }

  torch::Tensor act(const torch::Tensor& obs) override { return actor_->forward(obs); }

  void train_step(const offpolicy::ReplaySample& batch, int64_t step_index) override {
    torch::Tensor target;
    {
      torch::NoGradGuard no_grad;
      const torch::Tensor next_a = offpolicy::td3_target_action(
          actor_target_->forward(batch.next_obs), normal_noise(batch.obs.size(0), act_dim_), opts_.policy_noise,
          opts_.noise_clip, scale_, low_t_, high_t_);
      target = offpolicy::td3_critic_target(batch.returns, batch.discount, qf1_target_->forward(batch.next_obs, next_a),
                                            qf2_target_->forward(batch.next_obs, next_a));
    }
    const torch::Tensor q1 = qf1_->forward(batch.obs, batch.actions), q2 = qf2_->forward(batch.obs, batch.actions);
    const torch::Tensor qf_loss = offpolicy::twin_critic_loss(q1, q2, target, batch.weights);
    q_opt_->zero_grad();
    qf_loss.backward();
    q_opt_->step();
    accumulate(metric::kQf1Values, q1.mean().item<double>());
    accumulate(metric::kQfLoss, qf_loss.item<double>());
    // TD3_BC.py counts total_it from 1: the actor steps when total_it % policy_freq == 0.
    if ((step_index + 1) % opts_.policy_frequency == 0) {
      const torch::Tensor pi = actor_->forward(batch.obs);
      const Td3BcActorLoss l = td3_bc_actor_loss(qf1_->forward(batch.obs, pi), pi, batch.actions, opts_.alpha);
      actor_opt_->zero_grad();
      l.loss.backward();
      actor_opt_->step();
      accumulate(metric::kActorLoss, l.loss.item<double>());
      accumulate(metric::kLambda, l.lambda.item<double>());
      accumulate(metric::kBcLoss, bc_loss(pi, batch.actions).item<double>());
      offpolicy::polyak_update(actor_target_->parameters(), actor_->parameters(), opts_.tau);
      offpolicy::polyak_update(qf1_target_->parameters(), qf1_->parameters(), opts_.tau);
      offpolicy::polyak_update(qf2_target_->parameters(), qf2_->parameters(), opts_.tau);
    }
  }

  void save_model(CheckpointWriter& w) override {
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
  }

  Td3BcOptions opts_;
  torch::Tensor scale_, low_t_, high_t_;  // (A)
  offpolicy::DeterministicActor actor_{nullptr}, actor_target_{nullptr};
  offpolicy::ContinuousQ qf1_{nullptr}, qf2_{nullptr}, qf1_target_{nullptr}, qf2_target_{nullptr};
  std::unique_ptr<torch::optim::Adam> q_opt_, actor_opt_;
};

}  // namespace

std::unique_ptr<Trainer> make_td3_bc_trainer(const core::Recipe& recipe, const RunContext& ctx) {
  return std::make_unique<Td3BcTrainer>(recipe, ctx);
}

}  // namespace rlpp::train::offline
