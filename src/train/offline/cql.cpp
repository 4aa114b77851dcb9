#include "rlpp/train/offline/cql.h"

#include <algorithm>
#include <cmath>

#include "rlpp/core/error.h"
#include "rlpp/train/offline/fast_cql_critic.h"
#include "rlpp/train/offline/fused_adam.h"
#include "rlpp/train/offline/offline_run.h"
#include "rlpp/train/offline/set_grads.h"
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
  b.flag("lagrange", lagrange,
         "tune the penalty's weight alpha' (times cql_alpha) so that the penalty meets target_action_gap");
  b.num("target_action_gap", target_action_gap, "the penalty the Lagrange variant aims at (cql_target_action_gap)",
        Bounds::any());
  b.choice("backend", backend, {"libtorch", "fast"},
           "the critics' step: LibTorch autograd (the reference) or the hand-derived fast path (fast_cql_critic.h)");
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

CqlLagrange cql_lagrange_terms(const torch::Tensor& log_alpha_prime, const torch::Tensor& penalty1,
                               const torch::Tensor& penalty2, double weight, double gap) {
  const torch::Tensor alpha_prime = log_alpha_prime.exp().clamp(0.0, kCqlAlphaPrimeMax).sum();  // ()
  const double a = alpha_prime.item<double>();
  CqlLagrange out;
  out.alpha_prime = a;
  out.critic_term = a * weight * ((penalty1 - gap) + (penalty2 - gap));
  out.alpha_prime_loss = -0.5 * alpha_prime * weight * ((penalty1.detach() - gap) + (penalty2.detach() - gap));
  return out;
}

namespace metric {
inline constexpr const char* kCqlAlphaPrime = "cql/alpha_prime";            // α' of the Lagrange variant (before its step)
inline constexpr const char* kCqlAlphaPrimeLoss = "cql/alpha_prime_loss";  // −½ Σ_k α' w (P_k − gap)
}  // namespace metric

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
    std::vector<const char*> metrics = {metric::kQf1Values, metric::kQf1Loss, metric::kQf2Loss, metric::kCqlPenalty,
                                        metric::kQfLoss,    metric::kActorLoss, metric::kAlpha,   metric::kAlphaLoss};
    if (opts_.backend == "fast") {
      core::require(!opts_.hidden.empty(), "cql.backend = \"fast\" needs at least one hidden layer (cql.hidden)");
      fast_critic_ = std::make_unique<FastCqlCritic>();
    }
    if (opts_.lagrange) {
      log_alpha_prime_ = torch::full({1}, kCqlLogAlphaPrimeInit, torch::kFloat32).requires_grad_(true);
      alpha_prime_opt_ = std::make_unique<torch::optim::Adam>(std::vector<torch::Tensor>{log_alpha_prime_},
                                                              torch::optim::AdamOptions(opts_.qf_lr));
      metrics.push_back(metric::kCqlAlphaPrime);
      metrics.push_back(metric::kCqlAlphaPrimeLoss);
    }
    declare_metrics(metrics);
    toml::table own;
    core::write_options(opts_, &own, "cql");
    start(recipe, own);
  }

 private:
  int64_t checkpoint_version() const override { return 1; }

  torch::Tensor act(const torch::Tensor& obs) override { return torch::tanh(actor_->forward(obs).first) * scale_ + bias_; }

  // A sample of π(·|s), inside the box (SAC's behaviour policy).
  bool can_explore() const override { return true; }
  torch::Tensor explore(const torch::Tensor& obs) override { return sample(obs, normal_noise(obs.size(0), act_dim_)).action; }

  // a ~ π(·|obs) reparameterised with the noise eps (n, A). obs (n, obs_dim).
  offpolicy::SquashedSample sample(const torch::Tensor& obs, const torch::Tensor& eps) {
    const auto [mean, log_std] = actor_->forward(obs);
    return offpolicy::squashed_gaussian(mean, log_std, eps, scale_, bias_);
  }

  void train_step(const offpolicy::ReplaySample& batch, int64_t) override {
    const int64_t B = batch.obs.size(0), n = opts_.n_actions, A = act_dim_;
    // SAC's actor and temperature (conservative_sac.py steps them first, on the critics before their step).
    const offpolicy::SquashedSample pi = sample(batch.obs, normal_noise(B, A));
    // α as it is before its step (conservative_sac.py computes it first).
    const double alpha = opts_.autotune ? log_alpha_.detach().exp().item<double>() : opts_.alpha;
    if (opts_.autotune) {
      const torch::Tensor alpha_loss =
          offpolicy::sac_alpha_loss(log_alpha_, pi.logp.detach(), -static_cast<double>(act_dim_));
      alpha_opt_->zero_grad();
      alpha_loss.backward();
      fused_adam_step(*alpha_opt_);
      accumulate(metric::kAlphaLoss, alpha_loss.item<double>());
    }
    accumulate(metric::kAlpha, alpha);
    const torch::Tensor actor_loss =
        offpolicy::sac_actor_loss(pi.logp, qf1_->forward(batch.obs, pi.action), qf2_->forward(batch.obs, pi.action), alpha);
    actor_opt_->zero_grad();
    set_grads(actor_loss, actor_->parameters());
    fused_adam_step(*actor_opt_);
    accumulate(metric::kActorLoss, actor_loss.item<double>());

    // The critics' target and the penalty's proposals (with the actor as stepped above), drawn in
    // this order: π(·|s') for the target (B, A), the uniform actions (B n, A), π(·|s) (B n, A),
    // π(·|s') (B n, A); the three policy samples come from one actor pass over the 2B states.
    CriticInputs in;
    {
      torch::NoGradGuard no_grad;
      const torch::Tensor next_eps = normal_noise(B, A);
      in.rand_a = uniform_actions(B * n, A);                                    // (B n, A)
      const torch::Tensor prop_eps = normal_noise(2 * B * n, A);                // (2 B n, A)
      in.obs_rep = batch.obs.repeat_interleave(n, 0);                           // (B n, obs_dim)
      // The Gaussian of π(·|s) is the same for the n draws at one state: one actor pass over the 2B
      // states (s' for the target and π(·|s'), s for π(·|s)), its mean and log σ repeated per draw.
      const auto [mean2, log_std2] = actor_->forward(torch::cat({batch.next_obs, batch.obs}));  // (2B, A)
      const auto rows = [&](const torch::Tensor& t) {  // (2B, A) -> (B + 2Bn, A): s', s (n each), s' (n each)
        const torch::Tensor next = t.narrow(0, 0, B), here = t.narrow(0, B, B);
        return torch::cat({next, here.repeat_interleave(n, 0), next.repeat_interleave(n, 0)});
      };
      const offpolicy::SquashedSample all = offpolicy::squashed_gaussian(
          rows(mean2), rows(log_std2), torch::cat({next_eps, prop_eps}), scale_, bias_);  // (B + 2Bn)
      const torch::Tensor next_a = all.action.narrow(0, 0, B);
      in.target = offpolicy::td3_critic_target(batch.returns, batch.discount,
                                               qf1_target_->forward(batch.next_obs, next_a),
                                               qf2_target_->forward(batch.next_obs, next_a));
      in.curr_a = all.action.narrow(0, B, B * n);
      in.next_a = all.action.narrow(0, B + B * n, B * n);
      in.curr_logp = all.logp.narrow(0, B, B * n).view({B, n});
      in.next_logp = all.logp.narrow(0, B + B * n, B * n).view({B, n});
    }
    // the penalty's weight: α, or α' α with α' before its step (the Lagrange variant)
    const double alpha_prime =
        opts_.lagrange ? log_alpha_prime_.detach().exp().clamp(0.0, kCqlAlphaPrimeMax).item<double>() : 1.0;
    double mse[2], pen[2], q1_mean = 0;
    if (fast_critic_) {
      fast_critic_step(batch, in, alpha_prime * opts_.cql_alpha, mse, pen, &q1_mean);
    } else {
      libtorch_critic_step(batch, in, alpha_prime, mse, pen, &q1_mean);
    }
    double conservative = opts_.cql_alpha * (pen[0] + pen[1]);
    if (opts_.lagrange) {
      // α' on −½ Σ_k α' w (P_k − gap), the penalties as numbers
      const CqlLagrange lg = cql_lagrange_terms(log_alpha_prime_, torch::tensor(pen[0]), torch::tensor(pen[1]),
                                                opts_.cql_alpha, opts_.target_action_gap);
      alpha_prime_opt_->zero_grad();
      lg.alpha_prime_loss.backward();
      fused_adam_step(*alpha_prime_opt_);
      conservative = alpha_prime * opts_.cql_alpha * ((pen[0] - opts_.target_action_gap) + (pen[1] - opts_.target_action_gap));
      accumulate(metric::kCqlAlphaPrime, lg.alpha_prime);
      accumulate(metric::kCqlAlphaPrimeLoss, lg.alpha_prime_loss.item<double>());
    }
    fused_adam_step(*q_opt_);
    accumulate(metric::kQf1Values, q1_mean);
    accumulate(metric::kQf1Loss, mse[0]);
    accumulate(metric::kQf2Loss, mse[1]);
    accumulate(metric::kQfLoss, mse[0] + mse[1] + conservative);
    accumulate(metric::kCqlPenalty, 0.5 * (pen[0] + pen[1]));
    offpolicy::polyak_update(qf1_target_->parameters(), qf1_->parameters(), opts_.tau);
    offpolicy::polyak_update(qf2_target_->parameters(), qf2_->parameters(), opts_.tau);
  }

  // What the critics' step needs, drawn before it (no grad).
  struct CriticInputs {
    torch::Tensor target;                   // (B) y
    torch::Tensor obs_rep;                  // (B n, obs_dim) each state n times
    torch::Tensor rand_a, curr_a, next_a;   // (B n, A) the three proposals, b-major
    torch::Tensor curr_logp, next_logp;     // (B, n)
  };

  // The reference: every critic row of the step in one batch through each critic — (s, a) (B), then
  // (s, ã) for the uniform actions, π(·|s) and π(·|s'), all three at s as the code (3 B n) — and
  // autograd on Σ_k [mse_k + α P_k] (Lagrange: + α' α (P_k − gap), α' a number). Fills .grad of both
  // critics; mse, pen, q1_mean as numbers.
  void libtorch_critic_step(const offpolicy::ReplaySample& batch, const CriticInputs& in, double alpha_prime,
                            double* mse, double* pen, double* q1_mean) {
    const int64_t B = batch.obs.size(0), n = opts_.n_actions;
    const torch::Tensor q_obs = torch::cat({batch.obs, in.obs_rep, in.obs_rep, in.obs_rep});       // (B + 3Bn, obs_dim)
    const torch::Tensor q_act = torch::cat({batch.actions, in.rand_a, in.curr_a, in.next_a});       // (B + 3Bn, A)
    torch::Tensor mse_t[2], pen_t[2];
    for (int k = 0; k < 2; ++k) {
      const torch::Tensor q = (k == 0 ? qf1_ : qf2_)->forward(q_obs, q_act);  // (B + 3Bn)
      const torch::Tensor q_data = q.narrow(0, 0, B);
      mse_t[k] = (q_data - in.target).pow(2).mean();
      pen_t[k] = cql_penalty(q_data, q.narrow(0, B, B * n).view({B, n}), log_mu_rand_,
                             q.narrow(0, B + B * n, B * n).view({B, n}), in.curr_logp,
                             q.narrow(0, B + 2 * B * n, B * n).view({B, n}), in.next_logp, opts_.temperature,
                             opts_.importance_sample);
      if (k == 0) *q1_mean = q_data.mean().item<double>();
    }
    const torch::Tensor loss = opts_.lagrange
                                   ? mse_t[0] + mse_t[1] +
                                         cql_lagrange_terms(log_alpha_prime_.detach(), pen_t[0], pen_t[1],
                                                            opts_.cql_alpha, opts_.target_action_gap)
                                             .critic_term
                                   : mse_t[0] + mse_t[1] + opts_.cql_alpha * (pen_t[0] + pen_t[1]);
    q_opt_->zero_grad();
    loss.backward();
    for (int k = 0; k < 2; ++k) {
      mse[k] = mse_t[k].item<double>();
      pen[k] = pen_t[k].item<double>();
    }
  }

  // The same gradients by hand (fast_cql_critic.h), the rows state-major, into the critics' .grad.
  void fast_critic_step(const offpolicy::ReplaySample& batch, const CriticInputs& in, double weight, double* mse,
                        double* pen, double* q1_mean) {
    CqlCriticRows rows;
    rows.B = batch.obs.size(0);
    rows.n = opts_.n_actions;
    rows.x = cql_state_major_rows(batch.obs, batch.actions, in.rand_a, in.curr_a, in.next_a);
    rows.target = in.target;
    rows.logp_curr = in.curr_logp;
    rows.logp_next = in.next_logp;
    rows.log_mu_rand = log_mu_rand_;
    rows.temperature = opts_.temperature;
    rows.importance_sample = opts_.importance_sample;
    for (int k = 0; k < 2; ++k) {
      const std::vector<torch::Tensor> params = (k == 0 ? qf1_ : qf2_)->parameters();
      std::vector<torch::Tensor> grads;
      for (const torch::Tensor& p : params) {
        torch::Tensor pm = p;
        if (!pm.grad().defined() || !pm.grad().is_contiguous()) pm.mutable_grad() = torch::empty_like(pm);
        grads.push_back(pm.grad());
      }
      const CqlCriticLoss l = fast_critic_->loss_and_grad(params, grads, rows, weight);
      mse[k] = l.mse;
      pen[k] = l.penalty;
      if (k == 0) *q1_mean = l.q_data_mean;
    }
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
    if (opts_.lagrange) {
      w.put_floats("log_alpha_prime", {log_alpha_prime_.item<float>()});
      save_optimizer(w, "alpha_prime_optimizer", *alpha_prime_opt_);
    }
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
      if (opts_.lagrange) log_alpha_prime_.fill_(r.get_floats("log_alpha_prime", 1)[0]);
    }
    load_optimizer(r, "q_optimizer", *q_opt_);
    load_optimizer(r, "actor_optimizer", *actor_opt_);
    load_optimizer(r, "alpha_optimizer", *alpha_opt_);
    if (opts_.lagrange) load_optimizer(r, "alpha_prime_optimizer", *alpha_prime_opt_);
  }

  CqlOptions opts_;
  torch::Tensor scale_, bias_;  // (A)
  double log_mu_rand_ = 0;      // log density of the uniform proposal
  offpolicy::GaussianActor actor_{nullptr};
  offpolicy::ContinuousQ qf1_{nullptr}, qf2_{nullptr}, qf1_target_{nullptr}, qf2_target_{nullptr};
  torch::Tensor log_alpha_;        // (1)
  torch::Tensor log_alpha_prime_;  // (1), the Lagrange variant's
  std::unique_ptr<torch::optim::Adam> q_opt_, actor_opt_, alpha_opt_, alpha_prime_opt_;
  std::unique_ptr<FastCqlCritic> fast_critic_;  // cql.backend = "fast"
};

}  // namespace

std::unique_ptr<Trainer> make_cql_trainer(const core::Recipe& recipe, const RunContext& ctx) {
  return std::make_unique<CqlTrainer>(recipe, ctx);
}

}  // namespace rlpp::train::offline
