#include "rlpp/train/offline/cql.h"

#include <cmath>

#include "rlpp/train/offline/offline_run.h"
#include "rlpp/train/offpolicy/networks.h"
#include "rlpp/train/offpolicy/sac.h"
#include "rlpp/train/offpolicy/td3.h"

namespace rlpp::train::offline {

void CqlOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.num("policy_lr", policy_lr, "Adam learning rate of the actor and of the SAC temperature", Bounds::positive());
  b.num("qf_lr", qf_lr, "Adam learning rate of the twin critics", Bounds::positive());
  b.num("tau", tau, "Polyak coefficient of the target critics", Bounds::closed(0, 1));
  b.num("cql_alpha", cql_alpha, "weight of the conservative penalty (cql_min_q_weight)", Bounds::non_negative());
  b.integer("n_actions", n_actions, "actions sampled per state from each proposal (uniform, pi(.|s), pi(.|s'))",
            Bounds::closed(1, 1000));
  b.num("temperature", temperature, "temperature of the log-sum-exp (cql_temp)", Bounds::positive());
  b.flag("importance_sample", importance_sample, "subtract each proposal's log density inside the log-sum-exp");
  b.flag("autotune", autotune, "tune SAC's temperature toward the target entropy -|A|");
  b.num("alpha", alpha, "SAC's temperature when autotune is off", Bounds::non_negative());
  b.integers("hidden", hidden, "hidden widths of the actor and critic MLPs (ReLU)", Bounds::closed(1, 1 << 16));
}

torch::Tensor cql_penalty(const torch::Tensor& q_data, const torch::Tensor& q_rand, double log_mu_rand,
                          const torch::Tensor& q_curr, const torch::Tensor& logp_curr, const torch::Tensor& q_next,
                          const torch::Tensor& logp_next, double temperature, bool importance_sample) {
  const torch::Tensor cat = importance_sample
                                ? torch::cat({q_rand - log_mu_rand, q_next - logp_next, q_curr - logp_curr}, 1)
                                : torch::cat({q_rand, q_data.unsqueeze(1), q_next, q_curr}, 1);
  return (torch::logsumexp(cat / temperature, 1) * temperature - q_data).mean();
}

namespace {

OfflineOptions cql_defaults() {
  OfflineOptions o;  // young-geng/CQL conservative_sac_main.py
  o.batch_size = 256;
  o.gamma = 0.99;
  return o;
}

class CqlTrainer : public OfflineRun {
 public:
  CqlTrainer(const core::Recipe& recipe, const RunContext& ctx) : OfflineRun(recipe, ctx, cql_defaults(), "cql") {
    opts_ = core::read_options<CqlOptions>(recipe, "cql");
    recipe.check_all_used();
    scale_ = action_scale();
    bias_ = action_bias();
    double log_volume = 0;
    for (size_t k = 0; k < low_.size(); ++k) log_volume += std::log(static_cast<double>(high_[k]) - low_[k]);
    log_mu_rand_ = -log_volume;
    actor_ = offpolicy::GaussianActor(obs_dim_, act_dim_, opts_.hidden);
    qf1_ = offpolicy::ContinuousQ(obs_dim_, act_dim_, opts_.hidden);
    qf2_ = offpolicy::ContinuousQ(obs_dim_, act_dim_, opts_.hidden);
    qf1_target_ = offpolicy::ContinuousQ(obs_dim_, act_dim_, opts_.hidden);
    qf2_target_ = offpolicy::ContinuousQ(obs_dim_, act_dim_, opts_.hidden);
    offpolicy::polyak_update(qf1_target_->parameters(), qf1_->parameters(), 1.0);
    offpolicy::polyak_update(qf2_target_->parameters(), qf2_->parameters(), 1.0);
    log_alpha_ = torch::full({1}, std::log(std::max(opts_.alpha, 1e-30)), torch::kFloat32).requires_grad_(opts_.autotune);
    std::vector<torch::Tensor> q_params = qf1_->parameters();
    for (const auto& p : qf2_->parameters()) q_params.push_back(p);
    q_opt_ = std::make_unique<torch::optim::Adam>(q_params, torch::optim::AdamOptions(opts_.qf_lr));
    actor_opt_ = std::make_unique<torch::optim::Adam>(actor_->parameters(), torch::optim::AdamOptions(opts_.policy_lr));
    alpha_opt_ = std::make_unique<torch::optim::Adam>(std::vector<torch::Tensor>{log_alpha_},
                                                      torch::optim::AdamOptions(opts_.policy_lr));
    declare_metrics({metric::kQf1Values, metric::kQf1Loss, metric::kQf2Loss, metric::kCqlPenalty, metric::kQfLoss,
                     metric::kActorLoss, metric::kAlpha, metric::kAlphaLoss});
    toml::table own;
    core::write_options(opts_, &own, "cql");
    start(recipe, own);
  }

 private:
  int64_t checkpoint_version() const override { return 1; }

  torch::Tensor act(const torch::Tensor& obs) override { return torch::tanh(actor_->forward(obs).first) * scale_ + bias_; }

  // a ~ π(·|obs) reparameterised with noise from rng_. obs (n, obs_dim).
  offpolicy::SquashedSample sample(const torch::Tensor& obs) {
    const auto [mean, log_std] = actor_->forward(obs);
    return offpolicy::squashed_gaussian(mean, log_std, normal_noise(obs.size(0), act_dim_), scale_, bias_);
  }

  void train_step(const offpolicy::ReplaySample& batch, int64_t) override {
    const int64_t B = batch.obs.size(0), n = opts_.n_actions;
    // SAC's actor and temperature (conservative_sac.py steps them first, on the critics before their step).
    const offpolicy::SquashedSample pi = sample(batch.obs);
    // α as it is before its step (conservative_sac.py computes it first).
    const double alpha = opts_.autotune ? log_alpha_.detach().exp().item<double>() : opts_.alpha;
    if (opts_.autotune) {
      const torch::Tensor alpha_loss =
          offpolicy::sac_alpha_loss(log_alpha_, pi.logp.detach(), -static_cast<double>(act_dim_));
      alpha_opt_->zero_grad();
      alpha_loss.backward();
      alpha_opt_->step();
      accumulate(metric::kAlphaLoss, alpha_loss.item<double>());
    }
    accumulate(metric::kAlpha, alpha);
    const torch::Tensor actor_loss =
        offpolicy::sac_actor_loss(pi.logp, qf1_->forward(batch.obs, pi.action), qf2_->forward(batch.obs, pi.action), alpha);
    actor_opt_->zero_grad();
    actor_loss.backward();
    actor_opt_->step();
    accumulate(metric::kActorLoss, actor_loss.item<double>());

    // The critics' target and the proposals of the penalty (with the actor as stepped above).
    torch::Tensor target, rand_a, curr_a, curr_logp, next_a, next_logp;
    const torch::Tensor obs_rep = batch.obs.repeat_interleave(n, 0);  // (B n, obs_dim)
    {
      torch::NoGradGuard no_grad;
      const offpolicy::SquashedSample next = sample(batch.next_obs);
      target = offpolicy::td3_critic_target(batch.returns, batch.discount, qf1_target_->forward(batch.next_obs, next.action),
                                            qf2_target_->forward(batch.next_obs, next.action));
      rand_a = uniform_actions(B * n, act_dim_);
      const offpolicy::SquashedSample c = sample(obs_rep);
      const offpolicy::SquashedSample x = sample(batch.next_obs.repeat_interleave(n, 0));
      curr_a = c.action;
      curr_logp = c.logp.view({B, n});
      next_a = x.action;
      next_logp = x.logp.view({B, n});
    }
    torch::Tensor qf_loss, penalty_sum;
    for (offpolicy::ContinuousQ* q : {&qf1_, &qf2_}) {
      const torch::Tensor q_data = (*q)->forward(batch.obs, batch.actions);
      const torch::Tensor mse = (q_data - target).pow(2).mean();
      const torch::Tensor pen = cql_penalty(q_data, (*q)->forward(obs_rep, rand_a).view({B, n}), log_mu_rand_,
                                            (*q)->forward(obs_rep, curr_a).view({B, n}), curr_logp,
                                            (*q)->forward(obs_rep, next_a).view({B, n}), next_logp, opts_.temperature,
                                            opts_.importance_sample);
      const torch::Tensor l = mse + opts_.cql_alpha * pen;
      qf_loss = qf_loss.defined() ? qf_loss + l : l;
      penalty_sum = penalty_sum.defined() ? penalty_sum + pen.detach() : pen.detach();
      if (q == &qf1_) {
        accumulate(metric::kQf1Values, q_data.mean().item<double>());
        accumulate(metric::kQf1Loss, mse.item<double>());
      } else {
        accumulate(metric::kQf2Loss, mse.item<double>());
      }
    }
    q_opt_->zero_grad();
    qf_loss.backward();
    q_opt_->step();
    accumulate(metric::kQfLoss, qf_loss.item<double>());
    accumulate(metric::kCqlPenalty, 0.5 * penalty_sum.item<double>());
    offpolicy::polyak_update(qf1_target_->parameters(), qf1_->parameters(), opts_.tau);
    offpolicy::polyak_update(qf2_target_->parameters(), qf2_->parameters(), opts_.tau);
  }

  void save_model(CheckpointWriter& w) override {
    save_module(w, "actor", *actor_);
    save_module(w, "qf1", *qf1_);
    save_module(w, "qf2", *qf2_);
    save_module(w, "qf1_target", *qf1_target_);
    save_module(w, "qf2_target", *qf2_target_);
    w.put_floats("log_alpha", {log_alpha_.item<float>()});
    save_optimizer(w, "q_optimizer", *q_opt_);
    save_optimizer(w, "actor_optimizer", *actor_opt_);
    save_optimizer(w, "alpha_optimizer", *alpha_opt_);
  }

  void load_model(CheckpointReader& r) override {
    load_module(r, "actor", *actor_);
    load_module(r, "qf1", *qf1_);
    load_module(r, "qf2", *qf2_);
    load_module(r, "qf1_target", *qf1_target_);
    load_module(r, "qf2_target", *qf2_target_);
    {
      torch::NoGradGuard no_grad;
      log_alpha_.fill_(r.get_floats("log_alpha", 1)[0]);
    }
    load_optimizer(r, "q_optimizer", *q_opt_);
    load_optimizer(r, "actor_optimizer", *actor_opt_);
    load_optimizer(r, "alpha_optimizer", *alpha_opt_);
  }

  CqlOptions opts_;
  torch::Tensor scale_, bias_;  // (A)
  double log_mu_rand_ = 0;      // log density of the uniform proposal
  offpolicy::GaussianActor actor_{nullptr};
  offpolicy::ContinuousQ qf1_{nullptr}, qf2_{nullptr}, qf1_target_{nullptr}, qf2_target_{nullptr};
  torch::Tensor log_alpha_;     // (1)
  std::unique_ptr<torch::optim::Adam> q_opt_, actor_opt_, alpha_opt_;
};

}  // namespace

std::unique_ptr<Trainer> make_cql_trainer(const core::Recipe& recipe, const RunContext& ctx) {
  return std::make_unique<CqlTrainer>(recipe, ctx);
}

}  // namespace rlpp::train::offline
