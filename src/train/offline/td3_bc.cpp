#include "rlpp/train/offline/td3_bc.h"

#include "rlpp/train/offline/bc.h"
#include "rlpp/train/offline/td3_offline_run.h"
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
  b.num("exploration_noise", exploration_noise,
        "online phase (offline.online_steps): TD3's behaviour noise std, times the action scale", Bounds::non_negative());
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

class Td3BcTrainer : public Td3OfflineRun {
 public:
  Td3BcTrainer(const core::Recipe& recipe, const RunContext& ctx)
      : Td3OfflineRun(recipe, ctx, td3_bc_defaults(), "td3_bc") {
    opts_ = core::read_options<Td3BcOptions>(recipe, "td3_bc");
    recipe.check_all_used();
    build_td3_networks(opts_.hidden, opts_.hidden, opts_.learning_rate);
    exploration_noise_ = opts_.exploration_noise;
    declare_metrics({metric::kQf1Values, metric::kQfLoss, metric::kActorLoss, metric::kBcLoss, metric::kLambda});
    toml::table own;
    core::write_options(opts_, &own, "td3_bc");
    start(recipe, own);
  }

 private:
  int64_t checkpoint_version() const override { return 1; }

  void train_step(const offpolicy::ReplaySample& batch, int64_t step_index) override {
    torch::Tensor target;
    {
      torch::NoGradGuard no_grad;
      const torch::Tensor next_a = smoothed_next_action(batch, opts_.policy_noise, opts_.noise_clip);
      target = offpolicy::td3_critic_target(batch.returns, batch.discount, qf1_target_->forward(batch.next_obs, next_a),
                                            qf2_target_->forward(batch.next_obs, next_a));
    }
    critic_step(batch, target);
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
      update_targets(opts_.tau);
    }
  }

  void save_model(CheckpointWriter& w) override { save_td3_networks(w); }
  void load_model(CheckpointReader& r) override { load_td3_networks(r); }

  Td3BcOptions opts_;
};

}  // namespace

std::unique_ptr<Trainer> make_td3_bc_trainer(const core::Recipe& recipe, const RunContext& ctx) {
  return std::make_unique<Td3BcTrainer>(recipe, ctx);
}

}  // namespace rlpp::train::offline
