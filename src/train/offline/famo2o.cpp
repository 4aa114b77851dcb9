#include "rlpp/train/offline/famo2o.h"

#include <cmath>

#include "rlpp/core/error.h"
#include "rlpp/train/offline/iql.h"
#include "rlpp/train/offline/offline_run.h"
#include "rlpp/train/offpolicy/networks.h"

namespace rlpp::train::offline {

void Famo2oOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.num("actor_lr", actor_lr, "Adam learning rate of the universal model (cosine-decayed when cosine_actor_lr)",
        Bounds::positive());
  b.num("critic_lr", critic_lr, "Adam learning rate of the twin critics", Bounds::positive());
  b.num("value_lr", value_lr, "Adam learning rate of V", Bounds::positive());
  b.num("balance_lr", balance_lr, "Adam learning rate of the balance model", Bounds::positive());
  b.num("temperature_lr", temperature_lr, "Adam learning rate of the balance model's entropy temperature",
        Bounds::positive());
  b.num("expectile", expectile, "tau of the expectile loss of V", Bounds::closed(0, 1));
  b.num("max_weight", max_weight, "clip of the advantage weights", Bounds::positive());
  b.num("tau", tau, "Polyak coefficient of the target critics", Bounds::closed(0, 1));
  b.flag("cosine_actor_lr", cosine_actor_lr, "cosine decay of the universal model's learning rate over the run");
  b.num("beta_min", beta_min, "smallest AWR coefficient of the family", Bounds::non_negative());
  b.num("beta_max", beta_max, "largest AWR coefficient of the family (> beta_min)", Bounds::non_negative());
  b.integer("encoding_dim", encoding_dim, "width d of the coefficient's sin-cos encoding (even)",
            Bounds::closed(2, 1024));
  b.num("encoding_base", encoding_base, "base n of the sin-cos encoding", Bounds::positive());
  b.num("target_entropy", target_entropy, "target entropy of the balance model", Bounds::any());
  b.num("init_temperature", init_temperature, "initial entropy temperature of the balance model", Bounds::positive());
  b.integers("hidden", hidden, "hidden widths of every MLP (ReLU)", Bounds::closed(1, 1 << 16));
}

torch::Tensor sin_cos_encoding(const torch::Tensor& beta, int d, double n) {
  const torch::Tensor i = torch::arange(0, d / 2, torch::TensorOptions().dtype(beta.scalar_type()));
  const torch::Tensor inner = beta.reshape({-1, 1}) / torch::pow(n, 2.0 * i / static_cast<double>(d));  // (B, d/2)
  return torch::stack({torch::sin(inner), torch::cos(inner)}, /*dim=*/2).reshape({beta.size(0), d});
}

torch::Tensor coefficient_from_unit(const torch::Tensor& u, double lo, double hi) {
  return (u + 1.0) / 2.0 * (hi - lo) + lo;
}

TanhSample tanh_gaussian_sample(const torch::Tensor& mean, const torch::Tensor& log_std, const torch::Tensor& noise) {
  const torch::Tensor x = mean + torch::exp(log_std) * noise;
  const torch::Tensor base = -0.5 * noise.pow(2) - log_std - 0.5 * std::log(2.0 * M_PI);
  const torch::Tensor log_det = 2.0 * (std::log(2.0) - x - torch::nn::functional::softplus(-2.0 * x));
  return {torch::tanh(x), base - log_det};
}

torch::Tensor family_awr_weights(const torch::Tensor& adv, const torch::Tensor& beta, double max_weight) {
  return torch::clamp_max(torch::exp(adv * beta), max_weight);
}

torch::Tensor balance_loss(const torch::Tensor& logp, const torch::Tensor& q, double alpha) {
  return (alpha * logp - q).mean();
}

namespace {

// B(s): μ_B = MLP(s) (B), log σ_B a parameter (1) clipped to [−10, 2] (the code's NormalTanhPolicy
// with state_dependent_std=False and its default bounds).
class BalanceModelImpl : public torch::nn::Module {
 public:
  BalanceModelImpl(int64_t obs_dim, const std::vector<int64_t>& hidden) {
    net = register_module("net", offpolicy::relu_mlp(obs_dim, hidden, 1));
    log_std = register_parameter("log_std", torch::zeros({1}));
  }
  torch::Tensor mean(const torch::Tensor& obs) { return net->forward(obs).squeeze(1); }
  torch::Tensor clipped_log_std() { return log_std.clamp(-10.0, 2.0); }
  torch::nn::Sequential net{nullptr};
  torch::Tensor log_std;  // (1)
};
TORCH_MODULE(BalanceModel);

// log α of the balance model's entropy term.
class TemperatureImpl : public torch::nn::Module {
 public:
  explicit TemperatureImpl(double init) { log_alpha = register_parameter("log_alpha", torch::full({1}, std::log(init))); }
  torch::Tensor log_alpha;  // (1)
};
TORCH_MODULE(Temperature);

OfflineOptions famo2o_defaults() {
  OfflineOptions o;  // family_train_finetune.py (locomotion), IQL's settings
  o.batch_size = 256;
  o.gamma = 0.99;
  o.normalize_rewards = true;
  return o;
}

class Famo2oTrainer : public OfflineRun {
 public:
  Famo2oTrainer(const core::Recipe& recipe, const RunContext& ctx)
      : OfflineRun(recipe, ctx, famo2o_defaults(), "famo2o") {
    opts_ = core::read_options<Famo2oOptions>(recipe, "famo2o");
    core::require(opts_.beta_max > opts_.beta_min, recipe.origin("famo2o.beta_max") + ": famo2o.beta_max = " +
                                                       std::to_string(opts_.beta_max) + " must exceed famo2o.beta_min = " +
                                                       std::to_string(opts_.beta_min));
    core::require(opts_.encoding_dim % 2 == 0, recipe.origin("famo2o.encoding_dim") + ": famo2o.encoding_dim = " +
                                                   std::to_string(opts_.encoding_dim) + " must be even (sin and cos pairs)");
    recipe.check_all_used();
    actor_ = IqlActor(obs_dim_ + opts_.encoding_dim, act_dim_, opts_.hidden, action_scale(), action_bias());
    balance_ = BalanceModel(obs_dim_, opts_.hidden);
    temp_ = Temperature(opts_.init_temperature);
    // L_B's gradient passes through the (frozen) target critics to the action.
    critics_ = std::make_unique<IqlCritics>(obs_dim_, act_dim_, opts_.hidden, opts_.critic_lr, opts_.value_lr);
    low_t_ = action_low();
    high_t_ = action_high();
    actor_opt_ = std::make_unique<torch::optim::Adam>(actor_->parameters(), torch::optim::AdamOptions(opts_.actor_lr));
    balance_opt_ =
        std::make_unique<torch::optim::Adam>(balance_->parameters(), torch::optim::AdamOptions(opts_.balance_lr));
    temp_opt_ = std::make_unique<torch::optim::Adam>(temp_->parameters(), torch::optim::AdamOptions(opts_.temperature_lr));
    declare_metrics({metric::kValueLoss, metric::kValues, metric::kBalanceLoss, metric::kBalanceBeta,
                     metric::kBalanceEntropy, metric::kBalanceAlpha, metric::kActorLoss, metric::kAdvWeight,
                     metric::kQfLoss, metric::kQf1Values});
    toml::table own;
    core::write_options(opts_, &own, "famo2o");
    start(recipe, own);
  }

 private:
  int64_t checkpoint_version() const override { return 1; }

  // [s, e(β)] (B, obs_dim + d). obs (B, obs_dim), beta (B).
  torch::Tensor with_encoding(const torch::Tensor& obs, const torch::Tensor& beta) const {
    return torch::cat({obs, sin_cos_encoding(beta, opts_.encoding_dim, opts_.encoding_base)}, /*dim=*/1);
  }

  // The balance model's deterministic coefficient (B).
  torch::Tensor deterministic_beta(const torch::Tensor& obs) {
    return coefficient_from_unit(torch::tanh(balance_->mean(obs)), opts_.beta_min, opts_.beta_max);
  }

  torch::Tensor act(const torch::Tensor& obs) override {
    const torch::Tensor mean = actor_->mean(with_encoding(obs, deterministic_beta(obs)));
    return torch::max(torch::min(mean, high_t_), low_t_);
  }

  bool can_explore() const override { return true; }
  torch::Tensor explore(const torch::Tensor& obs) override {
    const torch::Tensor mean = actor_->mean(with_encoding(obs, deterministic_beta(obs)));
    const torch::Tensor a = mean + torch::exp(actor_->clipped_log_std()) * normal_noise(obs.size(0), act_dim_);
    return torch::max(torch::min(a, high_t_), low_t_);
  }

  double actor_lr_at(int64_t t) const {
    return opts_.cosine_actor_lr ? cosine_decay(opts_.actor_lr, t, total_gradient_steps()) : opts_.actor_lr;
  }

  // A tanh-Gaussian draw of the balance model at obs: u, logp (B), noise from rng_.
  TanhSample balance_sample(const torch::Tensor& obs) {
    return tanh_gaussian_sample(balance_->mean(obs), balance_->clipped_log_std(), normal_noise(obs.size(0), 1).squeeze(1));
  }

  void train_step(const offpolicy::ReplaySample& batch, int64_t step_index) override {
    const int64_t n = batch.obs.size(0);
    torch::Tensor q_target_sa, beta_awr;  // min(Q1', Q2')(s, a) (B); the actor's coefficients (B)
    {
      torch::NoGradGuard no_grad;
      q_target_sa = critics_->target_q(batch.obs, batch.actions);
      if (online_phase()) {  // B(s) before this step's update of B
        beta_awr = coefficient_from_unit(balance_sample(batch.obs).u, opts_.beta_min, opts_.beta_max);
      } else {  // the whole family: β ~ U[β_min, β_max]
        beta_awr = torch::empty({n}, torch::kFloat32);
        float* p = beta_awr.data_ptr<float>();
        for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(rng_.uniform(opts_.beta_min, opts_.beta_max));
      }
    }
    // V
    const auto [v_loss, v_mean] = critics_->value_step(batch.obs, q_target_sa, opts_.expectile);
    accumulate(metric::kValueLoss, v_loss);
    accumulate(metric::kValues, v_mean);
    // B: maximise min(Q1', Q2')(s, π_u(s, e(B(s)))) with the entropy bonus
    const double alpha = torch::exp(temp_->log_alpha).item<double>();
    const TanhSample bs = balance_sample(batch.obs);
    const torch::Tensor beta_b = coefficient_from_unit(bs.u, opts_.beta_min, opts_.beta_max);
    const torch::Tensor a_b = actor_->mean(with_encoding(batch.obs, beta_b)) +
                              torch::exp(actor_->clipped_log_std()) * normal_noise(n, act_dim_);
    const torch::Tensor q_b = critics_->target_q(batch.obs, a_b);
    const torch::Tensor b_loss = balance_loss(bs.logp, q_b, alpha);
    balance_opt_->zero_grad();
    b_loss.backward();
    balance_opt_->step();
    const double entropy = -bs.logp.mean().item<double>();
    accumulate(metric::kBalanceLoss, b_loss.item<double>());
    accumulate(metric::kBalanceBeta, beta_b.mean().item<double>());
    accumulate(metric::kBalanceEntropy, entropy);
    accumulate(metric::kBalanceAlpha, alpha);
    // α: L = α (H − H̄)
    const torch::Tensor t_loss = torch::exp(temp_->log_alpha).sum() * (entropy - opts_.target_entropy);
    temp_opt_->zero_grad();
    t_loss.backward();
    temp_opt_->step();
    // π_u at β_awr, with the updated V
    torch::Tensor weights, next_v;
    {
      torch::NoGradGuard no_grad;
      weights = family_awr_weights(q_target_sa - critics_->value->forward(batch.obs), beta_awr, opts_.max_weight);
      next_v = critics_->value->forward(batch.next_obs);
    }
    static_cast<torch::optim::AdamOptions&>(actor_opt_->param_groups()[0].options()).lr(actor_lr_at(step_index));
    const torch::Tensor logp =
        gaussian_log_prob(actor_->mean(with_encoding(batch.obs, beta_awr)), actor_->clipped_log_std(), batch.actions);
    const torch::Tensor actor_loss = awr_actor_loss(weights, logp);
    actor_opt_->zero_grad();  // also clears what L_B left on the universal model
    actor_loss.backward();
    actor_opt_->step();
    accumulate(metric::kActorLoss, actor_loss.item<double>());
    accumulate(metric::kAdvWeight, weights.mean().item<double>());
    // Q, toward r + γ (1 − d) V(s')
    const auto [qf_loss, q1_mean] = critics_->q_step(batch, next_v, opts_.tau);
    accumulate(metric::kQfLoss, qf_loss);
    accumulate(metric::kQf1Values, q1_mean);
  }

  void add_row_values(core::MetricRow* row) override {
    row->push_back({metric::kActorLr, actor_lr_at(std::max<int64_t>(gradient_steps_done() - 1, 0))});
  }

  void save_model(CheckpointWriter& w) override {
    save_module(w, "actor", *actor_);
    save_module(w, "balance", *balance_);
    save_module(w, "temperature", *temp_);
    for (const auto& [key, m] : critics_->modules()) save_module(w, key, *m);
    for (const auto& [key, o] : critics_->optimizers()) save_optimizer(w, key, *o);
    save_optimizer(w, "actor_optimizer", *actor_opt_);
    save_optimizer(w, "balance_optimizer", *balance_opt_);
    save_optimizer(w, "temperature_optimizer", *temp_opt_);
  }

  void load_model(CheckpointReader& r) override {
    load_module(r, "actor", *actor_);
    load_module(r, "balance", *balance_);
    load_module(r, "temperature", *temp_);
    for (const auto& [key, m] : critics_->modules()) load_module(r, key, *m);
    for (const auto& [key, o] : critics_->optimizers()) load_optimizer(r, key, *o);
    load_optimizer(r, "actor_optimizer", *actor_opt_);
    load_optimizer(r, "balance_optimizer", *balance_opt_);
    load_optimizer(r, "temperature_optimizer", *temp_opt_);
  }

  Famo2oOptions opts_;
  torch::Tensor low_t_, high_t_;  // (A)
  IqlActor actor_{nullptr};       // the universal model π_u(a | s, e(β))
  BalanceModel balance_{nullptr};
  Temperature temp_{nullptr};
  std::unique_ptr<IqlCritics> critics_;  // V, twin Q and targets (IQL's)
  std::unique_ptr<torch::optim::Adam> actor_opt_, balance_opt_, temp_opt_;
};

}  // namespace

std::unique_ptr<Trainer> make_famo2o_trainer(const core::Recipe& recipe, const RunContext& ctx) {
  return std::make_unique<Famo2oTrainer>(recipe, ctx);
}

}  // namespace rlpp::train::offline
