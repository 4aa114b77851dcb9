#include "rlpp/train/offline/iql.h"

#include <cmath>

#include "rlpp/train/offline/offline_run.h"

namespace rlpp::train::offline {

void IqlOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.num("actor_lr", actor_lr, "Adam learning rate of the actor (cosine-decayed when cosine_actor_lr)", Bounds::positive());
  b.num("critic_lr", critic_lr, "Adam learning rate of the twin critics", Bounds::positive());
  b.num("value_lr", value_lr, "Adam learning rate of V", Bounds::positive());
  b.num("expectile", expectile, "tau of the expectile loss of V (0.5 = mean regression)", Bounds::closed(0, 1));
  b.num("temperature", temperature, "beta of the advantage weights exp(beta * A)", Bounds::non_negative());
  b.num("max_weight", max_weight, "clip of the advantage weights", Bounds::positive());
  b.num("tau", tau, "Polyak coefficient of the target critics", Bounds::closed(0, 1));
  b.flag("cosine_actor_lr", cosine_actor_lr, "cosine decay of the actor's learning rate over the run (the paper's code)");
  b.integers("hidden", hidden, "hidden widths of the actor, critic and value MLPs (ReLU)", Bounds::closed(1, 1 << 16));
}

torch::Tensor expectile_loss(const torch::Tensor& diff, double expectile) {
  const torch::Tensor weight = torch::where(diff > 0, torch::full_like(diff, expectile), torch::full_like(diff, 1.0 - expectile));
  return (weight * diff.pow(2)).mean();
}

torch::Tensor awr_weights(const torch::Tensor& adv, double temperature, double max_weight) {
  return torch::clamp_max(torch::exp(adv * temperature), max_weight);
}

torch::Tensor awr_actor_loss(const torch::Tensor& weights, const torch::Tensor& logp) { return -(weights * logp).mean(); }

torch::Tensor gaussian_log_prob(const torch::Tensor& mean, const torch::Tensor& log_std, const torch::Tensor& actions) {
  const torch::Tensor z = (actions - mean) * torch::exp(-log_std);
  return (-0.5 * z.pow(2) - log_std - 0.5 * std::log(2.0 * M_PI)).sum(-1);
}

double cosine_decay(double lr, int64_t t, int64_t total) {
  const double x = static_cast<double>(std::min(t, total)) / static_cast<double>(std::max<int64_t>(total, 1));
  return lr * 0.5 * (1.0 + std::cos(M_PI * x));
}

IqlCritics::IqlCritics(int64_t obs_dim, int64_t act_dim, const std::vector<int64_t>& hidden, double critic_lr,
                       double value_lr) {
  value = IqlValueNet(obs_dim, hidden);
  qf1_ = offpolicy::ContinuousQ(obs_dim, act_dim, hidden);
  qf2_ = offpolicy::ContinuousQ(obs_dim, act_dim, hidden);
  qf1_target_ = offpolicy::ContinuousQ(obs_dim, act_dim, hidden);
  qf2_target_ = offpolicy::ContinuousQ(obs_dim, act_dim, hidden);
  offpolicy::polyak_update(qf1_target_->parameters(), qf1_->parameters(), 1.0);
  offpolicy::polyak_update(qf2_target_->parameters(), qf2_->parameters(), 1.0);
  for (auto& p : qf1_target_->parameters()) p.set_requires_grad(false);
  for (auto& p : qf2_target_->parameters()) p.set_requires_grad(false);
  std::vector<torch::Tensor> q_params = qf1_->parameters();
  for (const auto& p : qf2_->parameters()) q_params.push_back(p);
  q_opt_ = std::make_unique<torch::optim::Adam>(q_params, torch::optim::AdamOptions(critic_lr));
  v_opt_ = std::make_unique<torch::optim::Adam>(value->parameters(), torch::optim::AdamOptions(value_lr));
}

torch::Tensor IqlCritics::target_q(const torch::Tensor& obs, const torch::Tensor& actions) {
  return torch::min(qf1_target_->forward(obs, actions), qf2_target_->forward(obs, actions));
}

std::pair<double, double> IqlCritics::value_step(const torch::Tensor& obs, const torch::Tensor& q_target_sa,
                                                 double expectile) {
  const torch::Tensor v = value->forward(obs);
  const torch::Tensor v_loss = expectile_loss(q_target_sa - v, expectile);
  v_opt_->zero_grad();
  v_loss.backward();
  v_opt_->step();
  return {v_loss.item<double>(), v.mean().item<double>()};
}

std::pair<double, double> IqlCritics::q_step(const offpolicy::ReplaySample& batch, const torch::Tensor& next_v,
                                             double tau) {
  const torch::Tensor target = batch.returns + batch.discount * next_v;
  const torch::Tensor q1 = qf1_->forward(batch.obs, batch.actions), q2 = qf2_->forward(batch.obs, batch.actions);
  const torch::Tensor qf_loss = offpolicy::twin_critic_loss(q1, q2, target, batch.weights);
  q_opt_->zero_grad();
  qf_loss.backward();
  q_opt_->step();
  offpolicy::polyak_update(qf1_target_->parameters(), qf1_->parameters(), tau);
  offpolicy::polyak_update(qf2_target_->parameters(), qf2_->parameters(), tau);
  return {qf_loss.item<double>(), q1.mean().item<double>()};
}

std::vector<std::pair<std::string, torch::nn::Module*>> IqlCritics::modules() {
  return {{"value", value.get()}, {"qf1", qf1_.get()}, {"qf2", qf2_.get()}, {"qf1_target", qf1_target_.get()},
          {"qf2_target", qf2_target_.get()}};
}

std::vector<std::pair<std::string, torch::optim::Optimizer*>> IqlCritics::optimizers() {
  return {{"q_optimizer", q_opt_.get()}, {"value_optimizer", v_opt_.get()}};
}

namespace {

OfflineOptions iql_defaults() {
  OfflineOptions o;  // implicit_q_learning train_offline.py (locomotion)
  o.batch_size = 256;
  o.gamma = 0.99;
  o.normalize_rewards = true;
  return o;
}

class IqlTrainer : public OfflineRun {
 public:
  IqlTrainer(const core::Recipe& recipe, const RunContext& ctx) : OfflineRun(recipe, ctx, iql_defaults(), "iql") {
    opts_ = core::read_options<IqlOptions>(recipe, "iql");
    recipe.check_all_used();
    actor_ = IqlActor(obs_dim_, act_dim_, opts_.hidden, action_scale(), action_bias());
    critics_ = std::make_unique<IqlCritics>(obs_dim_, act_dim_, opts_.hidden, opts_.critic_lr, opts_.value_lr);
    low_t_ = action_low();
    high_t_ = action_high();
    actor_opt_ = std::make_unique<torch::optim::Adam>(actor_->parameters(), torch::optim::AdamOptions(opts_.actor_lr));
    declare_metrics({metric::kValueLoss, metric::kValues, metric::kActorLoss, metric::kAdvWeight, metric::kQfLoss,
                     metric::kQf1Values});
    toml::table own;
    core::write_options(opts_, &own, "iql");
    start(recipe, own);
  }

 private:
  int64_t checkpoint_version() const override { return 1; }

  torch::Tensor act(const torch::Tensor& obs) override {
    return torch::max(torch::min(actor_->mean(obs), high_t_), low_t_);
  }

  bool can_explore() const override { return true; }
  torch::Tensor explore(const torch::Tensor& obs) override {
    const torch::Tensor noise = normal_noise(obs.size(0), act_dim_);
    const torch::Tensor a = actor_->mean(obs) + torch::exp(actor_->clipped_log_std()) * noise;
    return torch::max(torch::min(a, high_t_), low_t_);
  }

  double actor_lr_at(int64_t t) const {
    return opts_.cosine_actor_lr ? cosine_decay(opts_.actor_lr, t, total_gradient_steps()) : opts_.actor_lr;
  }

  void train_step(const offpolicy::ReplaySample& batch, int64_t step_index) override {
    torch::Tensor q_target_sa;  // min(Q1', Q2')(s, a), (B)
    {
      torch::NoGradGuard no_grad;
      q_target_sa = critics_->target_q(batch.obs, batch.actions);
    }
    // V
    const auto [v_loss, v_mean] = critics_->value_step(batch.obs, q_target_sa, opts_.expectile);
    accumulate(metric::kValueLoss, v_loss);
    accumulate(metric::kValues, v_mean);
    // π, with the updated V
    torch::Tensor weights, next_v;
    {
      torch::NoGradGuard no_grad;
      weights = awr_weights(q_target_sa - critics_->value->forward(batch.obs), opts_.temperature, opts_.max_weight);
      next_v = critics_->value->forward(batch.next_obs);
    }
    static_cast<torch::optim::AdamOptions&>(actor_opt_->param_groups()[0].options()).lr(actor_lr_at(step_index));
    const torch::Tensor logp = gaussian_log_prob(actor_->mean(batch.obs), actor_->clipped_log_std(), batch.actions);
    const torch::Tensor actor_loss = awr_actor_loss(weights, logp);
    actor_opt_->zero_grad();
    actor_loss.backward();
    actor_opt_->step();
    accumulate(metric::kActorLoss, actor_loss.item<double>());
    accumulate(metric::kAdvWeight, weights.mean().item<double>());
    // Q, toward r + γ (1 − d) V(s') with the updated V
    const auto [qf_loss, q1_mean] = critics_->q_step(batch, next_v, opts_.tau);
    accumulate(metric::kQfLoss, qf_loss);
    accumulate(metric::kQf1Values, q1_mean);
  }

  void add_row_values(core::MetricRow* row) override {
    row->push_back({metric::kActorLr, actor_lr_at(std::max<int64_t>(gradient_steps_done() - 1, 0))});
  }

  void save_model(CheckpointWriter& w) override {
    save_module(w, "actor", *actor_);
    for (const auto& [key, m] : critics_->modules()) save_module(w, key, *m);
    for (const auto& [key, o] : critics_->optimizers()) save_optimizer(w, key, *o);
    save_optimizer(w, "actor_optimizer", *actor_opt_);
  }

  void load_model(CheckpointReader& r) override {
    load_module(r, "actor", *actor_);
    for (const auto& [key, m] : critics_->modules()) load_module(r, key, *m);
    for (const auto& [key, o] : critics_->optimizers()) load_optimizer(r, key, *o);
    load_optimizer(r, "actor_optimizer", *actor_opt_);
  }

  IqlOptions opts_;
  torch::Tensor low_t_, high_t_;  // (A)
  IqlActor actor_{nullptr};
  std::unique_ptr<IqlCritics> critics_;
  std::unique_ptr<torch::optim::Adam> actor_opt_;
};

}  // namespace

std::unique_ptr<Trainer> make_iql_trainer(const core::Recipe& recipe, const RunContext& ctx) {
  return std::make_unique<IqlTrainer>(recipe, ctx);
}

}  // namespace rlpp::train::offline
