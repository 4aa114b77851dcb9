#include "rlpp/train/offpolicy/sac.h"

#include <cmath>

#include "rlpp/core/error.h"
#include "rlpp/train/offpolicy/fast_sac_update.h"
#include "rlpp/train/offpolicy/networks.h"
#include "rlpp/train/offpolicy/offpolicy_run.h"
#include "rlpp/train/offpolicy/trainers.h"

namespace rlpp::train::offpolicy {

void SacOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.num("policy_lr", policy_lr, "actor Adam learning rate", Bounds::positive());
  b.num("q_lr", q_lr, "critics' (and the temperature's) Adam learning rate", Bounds::positive());
  b.num("tau", tau, "Polyak coefficient of the target critics", Bounds::closed(0, 1));
  b.integer("policy_frequency", policy_frequency, "actor updates every this many batch steps, this many times",
            Bounds::closed(1, 1000));
  b.integer("target_network_frequency", target_network_frequency, "batch steps between target updates",
            Bounds::closed(1, 1 << 20));
  b.num("alpha", alpha, "entropy temperature (when autotune is off)", Bounds::non_negative());
  b.flag("autotune", autotune, "tune the temperature toward the target entropy -|A|");
  b.integers("hidden", hidden, "hidden widths of the actor and critic MLPs (ReLU)", Bounds::closed(1, 1 << 16));
  b.choice("backend", backend, {"libtorch", "fast"},
           "the updates' implementation: LibTorch autograd (reference) or flat buffers with hand-derived gradients");
}

SquashedSample squashed_gaussian(const torch::Tensor& mean, const torch::Tensor& log_std, const torch::Tensor& eps,
                                 const torch::Tensor& scale, const torch::Tensor& bias) {
  const torch::Tensor std = log_std.exp();
  const torch::Tensor u = mean + std * eps;
  const torch::Tensor y = torch::tanh(u);
  // log N(u; μ, σ) = −(u − μ)²/(2σ²) − log σ − ½ log 2π, and (u − μ)/σ = ε
  const torch::Tensor log_normal = -0.5 * eps.pow(2) - log_std - 0.5 * std::log(2.0 * M_PI);
  // 1 − tanh² u as sech² u = exp(2 (log 2 − u − softplus(−2u))): in float32, 1 − y² cancels to a
  // few digits once |u| > 4
  const torch::Tensor sech2 = torch::exp(2.0 * (std::log(2.0) - u - torch::nn::functional::softplus(-2.0 * u)));
  const torch::Tensor logp = (log_normal - torch::log(scale * sech2 + 1e-6)).sum(1);
  return {y * scale + bias, logp};
}

torch::Tensor sac_critic_target(const torch::Tensor& returns, const torch::Tensor& discount,
                                const torch::Tensor& next_q1, const torch::Tensor& next_q2,
                                const torch::Tensor& next_logp, double alpha) {
  return returns + discount * (torch::min(next_q1, next_q2) - alpha * next_logp);
}

torch::Tensor sac_actor_loss(const torch::Tensor& logp, const torch::Tensor& q1, const torch::Tensor& q2, double alpha) {
  return (alpha * logp - torch::min(q1, q2)).mean();
}

torch::Tensor sac_alpha_loss(const torch::Tensor& log_alpha, const torch::Tensor& logp, double target_entropy) {
  return (-log_alpha.exp() * (logp + target_entropy)).mean();
}

namespace {

OffPolicyOptions sac_defaults() {
  OffPolicyOptions o;  // CleanRL's sac_continuous_action.py
  o.buffer_size = 1000000;
  o.batch_size = 256;
  o.gamma = 0.99;
  o.learning_starts = 5000;
  return o;
}

std::vector<torch::Tensor> concat(std::vector<torch::Tensor> a, const std::vector<torch::Tensor>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

class SacTrainer : public OffPolicyRun {
 public:
  SacTrainer(const core::Recipe& recipe, const RunContext& ctx)
      : OffPolicyRun(recipe, ctx, sac_defaults(), /*discrete=*/false, "sac") {
    sac_ = core::read_options<SacOptions>(recipe, "sac");
    recipe.check_all_used();
    scale_ = action_scale();
    bias_ = action_bias();
    actor_ = GaussianActor(obs_dim_, act_dim_, sac_.hidden);
    qf1_ = ContinuousQ(obs_dim_, act_dim_, sac_.hidden);
    qf2_ = ContinuousQ(obs_dim_, act_dim_, sac_.hidden);
    qf1_target_ = ContinuousQ(obs_dim_, act_dim_, sac_.hidden);
    qf2_target_ = ContinuousQ(obs_dim_, act_dim_, sac_.hidden);
    polyak_update(qf1_target_->parameters(), qf1_->parameters(), 1.0);
    polyak_update(qf2_target_->parameters(), qf2_->parameters(), 1.0);
    q_opt_ = std::make_unique<torch::optim::Adam>(concat(qf1_->parameters(), qf2_->parameters()),
                                                  torch::optim::AdamOptions(sac_.q_lr));
    actor_opt_ = std::make_unique<torch::optim::Adam>(actor_->parameters(), torch::optim::AdamOptions(sac_.policy_lr));
    log_alpha_ = torch::zeros({1}, torch::kFloat32).requires_grad_(true);
    alpha_opt_ = std::make_unique<torch::optim::Adam>(std::vector<torch::Tensor>{log_alpha_},
                                                      torch::optim::AdamOptions(sac_.q_lr));
    alpha_ = sac_.autotune ? 1.0 : sac_.alpha;
    target_entropy_ = -static_cast<double>(act_dim_);
    if (sac_.backend == "fast") {
      FastSacConfig fc;
      fc.obs_dim = obs_dim_;
      fc.act_dim = act_dim_;
      fc.hidden = sac_.hidden;
      fc.scale = std::vector<float>(scale_.data_ptr<float>(), scale_.data_ptr<float>() + act_dim_);
      fc.bias = std::vector<float>(bias_.data_ptr<float>(), bias_.data_ptr<float>() + act_dim_);
      fc.policy_lr = sac_.policy_lr;
      fc.q_lr = sac_.q_lr;
      fc.threads = run_.torch_threads;  // 2: the twin critics on two threads
      fast_ = std::make_unique<FastSac>(fc);
      fast_->copy_from(actor_, qf1_, qf2_, qf1_target_, qf2_target_);
    }
    declare_metrics({metric::kQf1Values, metric::kQf2Values, metric::kQf1Loss, metric::kQf2Loss, metric::kQfLoss,
                     metric::kActorLoss, metric::kAlpha, metric::kAlphaLoss});
    toml::table own;
    core::write_options(sac_, &own, "sac");
    start(recipe, own);
  }

 private:
  int64_t checkpoint_version() const override { return 1; }

  static torch::Tensor view(const float* p, std::vector<int64_t> shape) {
    return torch::from_blob(const_cast<float*>(p), shape, torch::kFloat32);
  }

  SquashedSample sample_policy(const torch::Tensor& obs) {
    auto [mean, log_std] = actor_->forward(obs);
    return squashed_gaussian(mean, log_std, normal_noise(obs.size(0), act_dim_), scale_, bias_);
  }

  void act(const float* obs, int64_t n, bool explore, float* actions) override {
    if (fast_) {
      const torch::Tensor eps = explore ? normal_noise(n, act_dim_) : torch::Tensor();
      fast_->act(obs, n, explore ? eps.data_ptr<float>() : nullptr, actions);
      return;
    }
    const torch::Tensor o = view(obs, {n, obs_dim_});
    torch::Tensor a;
    if (explore) {
      a = sample_policy(o).action;
    } else {
      a = torch::tanh(actor_->forward(o).first) * scale_ + bias_;
    }
    a = a.contiguous();
    std::copy_n(a.data_ptr<float>(), n * act_dim_, actions);
  }

  // The same step as train_step's LibTorch path, on the fast backend, drawing the same noise in
  // the same order.
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
        fast_->critic_step(view, normal_noise(B, act_dim_).data_ptr<float>(), alpha_, td_error.data_ptr<float>());
    accumulate(metric::kQf1Values, s.qf1_values);
    accumulate(metric::kQf2Values, s.qf2_values);
    accumulate(metric::kQf1Loss, s.qf1_loss);
    accumulate(metric::kQf2Loss, s.qf2_loss);
    accumulate(metric::kQfLoss, s.qf_loss);
    if (t % sac_.policy_frequency == 0) {
      for (int k = 0; k < sac_.policy_frequency; ++k) {
        accumulate(metric::kActorLoss,
                   fast_->actor_step(view.obs, B, normal_noise(B, act_dim_).data_ptr<float>(), alpha_));
        if (sac_.autotune) {
          const double alpha_loss =
              fast_->alpha_step(view.obs, B, normal_noise(B, act_dim_).data_ptr<float>(), target_entropy_);
          alpha_ = static_cast<double>(std::exp(fast_->log_alpha()));
          accumulate(metric::kAlphaLoss, alpha_loss);
        }
        accumulate(metric::kAlpha, alpha_);
      }
    }
    if (t % sac_.target_network_frequency == 0) fast_->polyak(sac_.tau);
    return td_error;
  }

  torch::Tensor train_step(const ReplaySample& batch, int64_t t) override {
    if (fast_) return fast_train_step(batch, t);
    torch::Tensor target;
    {
      torch::NoGradGuard no_grad;
      const SquashedSample next = sample_policy(batch.next_obs);
      target = sac_critic_target(batch.returns, batch.discount, qf1_target_->forward(batch.next_obs, next.action),
                                 qf2_target_->forward(batch.next_obs, next.action), next.logp, alpha_);
    }
    const torch::Tensor td_error = twin_critic_step(qf1_, qf2_, *q_opt_, batch, target);  // (B)
    if (t % sac_.policy_frequency == 0) {
      for (int k = 0; k < sac_.policy_frequency; ++k) {
        const SquashedSample pi = sample_policy(batch.obs);
        const torch::Tensor actor_loss =
            sac_actor_loss(pi.logp, qf1_->forward(batch.obs, pi.action), qf2_->forward(batch.obs, pi.action), alpha_);
        actor_opt_->zero_grad();
        actor_loss.backward();
        actor_opt_->step();
        accumulate(metric::kActorLoss, actor_loss.item<double>());
        if (sac_.autotune) {
          torch::Tensor logp;
          {
            torch::NoGradGuard no_grad;
            logp = sample_policy(batch.obs).logp;
          }
          const torch::Tensor alpha_loss = sac_alpha_loss(log_alpha_, logp, target_entropy_);
          alpha_opt_->zero_grad();
          alpha_loss.backward();
          alpha_opt_->step();
          alpha_ = log_alpha_.detach().exp().item<double>();
          accumulate(metric::kAlphaLoss, alpha_loss.item<double>());
        }
        accumulate(metric::kAlpha, alpha_);
      }
    }
    if (t % sac_.target_network_frequency == 0) {
      polyak_update(qf1_target_->parameters(), qf1_->parameters(), sac_.tau);
      polyak_update(qf2_target_->parameters(), qf2_->parameters(), sac_.tau);
    }
    torch::NoGradGuard no_grad;
    return td_error;
  }

  void save_model(CheckpointWriter& w) override {
    if (fast_) {  // the weights go through the modules (one checkpoint layout), the moments beside them
      fast_->copy_to(actor_, qf1_, qf2_, qf1_target_, qf2_target_);
      torch::NoGradGuard no_grad;
      log_alpha_.fill_(fast_->log_alpha());
      fast_->save_optimizers(w, "fast_optimizers");
    }
    save_module(w, "actor", *actor_);
    save_module(w, "qf1", *qf1_);
    save_module(w, "qf2", *qf2_);
    save_module(w, "qf1_target", *qf1_target_);
    save_module(w, "qf2_target", *qf2_target_);
    save_optimizer(w, "q_optimizer", *q_opt_);
    save_optimizer(w, "actor_optimizer", *actor_opt_);
    save_optimizer(w, "alpha_optimizer", *alpha_opt_);
    w.put_floats("log_alpha", {log_alpha_.item<float>()});
    w.put_doubles("alpha", {alpha_});
  }

  void load_model(CheckpointReader& r) override {
    load_module(r, "actor", *actor_);
    load_module(r, "qf1", *qf1_);
    load_module(r, "qf2", *qf2_);
    load_module(r, "qf1_target", *qf1_target_);
    load_module(r, "qf2_target", *qf2_target_);
    load_optimizer(r, "q_optimizer", *q_opt_);
    load_optimizer(r, "actor_optimizer", *actor_opt_);
    load_optimizer(r, "alpha_optimizer", *alpha_opt_);
    torch::NoGradGuard no_grad;
    log_alpha_.fill_(r.get_floats("log_alpha", 1)[0]);
    alpha_ = r.get_doubles("alpha", 1)[0];
    if (fast_) {
      fast_->copy_from(actor_, qf1_, qf2_, qf1_target_, qf2_target_);
      fast_->set_log_alpha(log_alpha_.item<float>());
      fast_->load_optimizers(r, "fast_optimizers");
    }
  }

  SacOptions sac_;
  torch::Tensor scale_, bias_;  // (A)
  GaussianActor actor_{nullptr};
  ContinuousQ qf1_{nullptr}, qf2_{nullptr}, qf1_target_{nullptr}, qf2_target_{nullptr};
  std::unique_ptr<torch::optim::Adam> q_opt_, actor_opt_, alpha_opt_;
  torch::Tensor log_alpha_;  // (1) log α, learned when autotune
  double alpha_ = 0.2;       // α used by the losses (exp(log α) when autotune)
  double target_entropy_ = 0;
  std::unique_ptr<FastSac> fast_;  // sac.backend = "fast": the updates and the policy run here
};

}  // namespace

std::unique_ptr<Trainer> make_sac_trainer(const core::Recipe& recipe, const RunContext& ctx) {
  return std::make_unique<SacTrainer>(recipe, ctx);
}

}  // namespace rlpp::train::offpolicy
