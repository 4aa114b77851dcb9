#include "rlpp/train/offpolicy/h2o.h"

#include <cmath>

#include "rlpp/core/error.h"
#include "rlpp/train/control_eval.h"
#include "rlpp/train/offline/episodes.h"
#include "rlpp/train/offpolicy/networks.h"
#include "rlpp/train/offpolicy/offpolicy_run.h"
#include "rlpp/train/offpolicy/sac.h"
#include "rlpp/train/offpolicy/td3.h"
#include "rlpp/train/policy_only.h"

namespace rlpp::train::offpolicy {

void H2oOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.num("policy_lr", policy_lr, "Adam learning rate of the actor and of SAC's temperature", Bounds::positive());
  b.num("qf_lr", qf_lr, "Adam learning rate of the twin critics", Bounds::positive());
  b.num("discriminator_lr", discriminator_lr, "Adam learning rate of both discriminators", Bounds::positive());
  b.num("tau", tau, "Polyak coefficient of the target critics", Bounds::closed(0, 1));
  b.num("cql_weight", cql_weight, "beta: weight of the dynamics-gap-weighted conservative term (cql_min_q_weight)",
        Bounds::non_negative());
  b.num("cql_temperature", cql_temperature, "T of the log-sum-exp over the simulated rows (cql_temp)", Bounds::positive());
  b.num("cql_clip", cql_clip, "the conservative term is clipped to [-cql_clip, cql_clip]", Bounds::positive());
  b.num("ratio_min", ratio_min, "lower clip of P_real/P_sim in the simulated Bellman weight", Bounds::positive());
  b.num("ratio_max", ratio_max, "upper clip of P_real/P_sim in the simulated Bellman weight", Bounds::positive());
  b.num("gap_min", gap_min, "lower clip of the dynamics gap u(s, a) (sim_q_coeff_min)", Bounds::positive());
  b.num("gap_max", gap_max, "upper clip of the dynamics gap u(s, a) (sim_q_coeff_max)", Bounds::positive());
  b.integer("next_state_samples", next_state_samples, "perturbed next states per simulated row for u(s, a)",
            Bounds::closed(1, 1000));
  b.num("next_state_noise", next_state_noise, "s'_k = s' + next_state_noise * sigma_obs * eps (s_prime_std_ratio)",
        Bounds::non_negative());
  b.num("discriminator_noise", discriminator_noise, "std of the input noise while training the discriminators",
        Bounds::non_negative());
  b.integer("discriminator_batch", discriminator_batch, "real and simulated rows of each discriminator step",
            Bounds::closed(1, 1 << 20));
  b.flag("autotune", autotune, "tune SAC's temperature toward the target entropy -|A|");
  b.num("alpha", alpha, "SAC's temperature when autotune is off (and its start)", Bounds::positive());
  b.integers("hidden", hidden, "hidden widths of the actor and critic MLPs (ReLU)", Bounds::closed(1, 1 << 16));
  b.integers("discriminator_hidden", discriminator_hidden, "hidden widths of the discriminators (ReLU)",
             Bounds::closed(1, 1 << 16));
  b.integer("eval_every", eval_every, "metrics rows between evaluations on the real env (0 = only after the last)",
            Bounds::closed(0, 1 << 30));
  b.integer("eval_episodes", eval_episodes, "episodes of each evaluation on the real env", Bounds::closed(1, 100000));
  b.text("reference_returns", reference_returns,
         "reference-returns table for eval/score (\"\" = configs/d4rl_reference_returns.toml)");
}

H2oDiscriminatorLoss h2o_discriminator_loss(const torch::Tensor& real_sa, const torch::Tensor& real_sas,
                                            const torch::Tensor& sim_sa, const torch::Tensor& sim_sas) {
  namespace F = torch::nn::functional;
  const auto ls = [](const torch::Tensor& logits) { return F::log_softmax(logits, F::LogSoftmaxFuncOptions(1)); };
  const torch::Tensor r_sa = ls(real_sa), s_sa = ls(sim_sa);
  const torch::Tensor r_sas = ls(real_sas + real_sa), s_sas = ls(sim_sas + sim_sa);
  return {-r_sa.select(1, 0).mean() - s_sa.select(1, 1).mean(), -r_sas.select(1, 0).mean() - s_sas.select(1, 1).mean()};
}

torch::Tensor h2o_log_dynamics_ratio(const torch::Tensor& sa, const torch::Tensor& sas) {
  namespace F = torch::nn::functional;
  const torch::Tensor p_sa = F::log_softmax(sa, F::LogSoftmaxFuncOptions(1));
  const torch::Tensor p_sas = F::log_softmax(sas + sa, F::LogSoftmaxFuncOptions(1));
  return p_sas.select(1, 0) - p_sas.select(1, 1) - p_sa.select(1, 0) + p_sa.select(1, 1);
}

torch::Tensor h2o_dynamics_gap(const torch::Tensor& log_ratio, double lo, double hi) {
  return (-log_ratio).mean(1).clamp(lo, hi);
}

torch::Tensor h2o_cql_penalty(const torch::Tensor& q_sim, const torch::Tensor& gap, const torch::Tensor& q_real,
                              double temperature, double clip) {
  const torch::Tensor log_omega = torch::log(gap / gap.sum());
  const torch::Tensor soft_max = torch::logsumexp((q_sim + log_omega) / temperature, 0) * temperature;
  return (soft_max - q_real.mean()).clamp(-clip, clip);
}

torch::Tensor h2o_bellman_error(const torch::Tensor& q_real, const torch::Tensor& y_real, const torch::Tensor& q_sim,
                                const torch::Tensor& y_sim, const torch::Tensor& w) {
  return (q_real - y_real).pow(2).mean() + (w * (q_sim - y_sim).pow(2)).mean();
}

namespace {

namespace m {
inline constexpr const char* kDsaLoss = "h2o/dsa_loss";             // the discriminators' losses
inline constexpr const char* kDsasLoss = "h2o/dsas_loss";
inline constexpr const char* kRatio = "h2o/dynamics_ratio";         // mean clipped P_real/P_sim of the sim rows
inline constexpr const char* kGap = "h2o/dynamics_gap";             // mean u(s, a) of the sim rows
inline constexpr const char* kPenalty = "h2o/cql_penalty";          // mean of the two critics' terms (before β)
inline constexpr const char* kRealQ = "h2o/real_q1";                // mean Q1 on the real rows
inline constexpr const char* kSimQ = "h2o/sim_q1";                  // mean Q1 on the simulated rows
inline constexpr const char* kEvalReturn = "eval/return";           // on the real env ([env] with scales 1)
inline constexpr const char* kEvalReturnStd = "eval/return_std";
inline constexpr const char* kEvalLength = "eval/length";
inline constexpr const char* kEvalScore = "eval/score";             // D4RL-normalised eval/return
}  // namespace m

// D(x) = 2 tanh(MLP(x)): 2 logits (real, sim), H2O's ConcatDiscriminator.
class H2oDiscriminatorImpl : public torch::nn::Module {
 public:
  H2oDiscriminatorImpl(int64_t in, const std::vector<int64_t>& hidden) {
    net = register_module("net", relu_mlp(in, hidden, 2));
  }
  // x (B, in) -> (B, 2)
  torch::Tensor forward(const torch::Tensor& x) { return 2.0 * torch::tanh(net->forward(x)); }
  torch::nn::Sequential net{nullptr};
};
TORCH_MODULE(H2oDiscriminator);

OffPolicyOptions h2o_defaults() {
  OffPolicyOptions o;  // sim2real_sac_main.py: batch 256, γ 0.99, 1000 simulator steps per epoch
  o.buffer_size = 1000000;
  o.batch_size = 256;
  o.gamma = 0.99;
  o.learning_starts = 1000;
  o.steps_per_update = 1000;
  return o;
}

std::vector<torch::Tensor> concat(std::vector<torch::Tensor> a, const std::vector<torch::Tensor>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

class H2oTrainer : public OffPolicyRun {
 public:
  H2oTrainer(const core::Recipe& recipe, const RunContext& ctx)
      : OffPolicyRun(recipe, ctx, h2o_defaults(), /*discrete=*/false, "h2o") {
    opts_ = core::read_options<H2oOptions>(recipe, "h2o");
    recipe.check_all_used();
    core::require(offline() != nullptr, recipe.origin("replay.offline_dataset") +
                                            ": h2o needs replay.offline_dataset, the real environment's D4RL-layout "
                                            "dataset (the simulator is [env])");
    const int64_t nr = offline()->rows_per_batch(off_.batch_size);
    core::require(nr >= 1 && nr < off_.batch_size,
                  recipe.origin("replay.offline_ratio") + ": h2o needs real and simulated rows in every minibatch; " +
                      "replay.offline_ratio = " + std::to_string(replay_opts_.offline_ratio) + " gives " +
                      std::to_string(nr) + " of " + std::to_string(off_.batch_size));
    core::require(opts_.ratio_min <= opts_.ratio_max, recipe.origin("h2o.ratio_min") + ": h2o.ratio_min > h2o.ratio_max");
    core::require(opts_.gap_min <= opts_.gap_max, recipe.origin("h2o.gap_min") + ": h2o.gap_min > h2o.gap_max");
    real_env_ = env_opts_;
    real_env_.gravity_scale = 1.0;
    real_env_.friction_scale = 1.0;
    real_env_.action_noise_std = 0.0;
    const std::string ref_path =
        opts_.reference_returns.empty() ? offline::default_reference_returns_path() : opts_.reference_returns;
    const auto refs = offline::read_reference_returns(ref_path);
    if (auto it = refs.find(env_opts_.name); it != refs.end()) {
      have_reference_ = true;
      ref_random_ = it->second.random;
      ref_expert_ = it->second.expert;
    }
    scale_ = action_scale();
    bias_ = action_bias();
    obs_std_ = torch::tensor(offline()->observation_std(), torch::kFloat32);
    actor_ = GaussianActor(obs_dim_, act_dim_, opts_.hidden);
    qf1_ = ContinuousQ(obs_dim_, act_dim_, opts_.hidden);
    qf2_ = ContinuousQ(obs_dim_, act_dim_, opts_.hidden);
    qf1_target_ = ContinuousQ(obs_dim_, act_dim_, opts_.hidden);
    qf2_target_ = ContinuousQ(obs_dim_, act_dim_, opts_.hidden);
    polyak_update(qf1_target_->parameters(), qf1_->parameters(), 1.0);
    polyak_update(qf2_target_->parameters(), qf2_->parameters(), 1.0);
    d_sa_ = H2oDiscriminator(obs_dim_ + act_dim_, opts_.discriminator_hidden);
    d_sas_ = H2oDiscriminator(2 * obs_dim_ + act_dim_, opts_.discriminator_hidden);
    q_opt_ = std::make_unique<torch::optim::Adam>(concat(qf1_->parameters(), qf2_->parameters()),
                                                  torch::optim::AdamOptions(opts_.qf_lr));
    actor_opt_ = std::make_unique<torch::optim::Adam>(actor_->parameters(), torch::optim::AdamOptions(opts_.policy_lr));
    log_alpha_ = torch::full({1}, std::log(opts_.alpha), torch::kFloat32).requires_grad_(opts_.autotune);
    alpha_opt_ = std::make_unique<torch::optim::Adam>(std::vector<torch::Tensor>{log_alpha_},
                                                      torch::optim::AdamOptions(opts_.policy_lr));
    d_sa_opt_ = std::make_unique<torch::optim::Adam>(d_sa_->parameters(), torch::optim::AdamOptions(opts_.discriminator_lr));
    d_sas_opt_ =
        std::make_unique<torch::optim::Adam>(d_sas_->parameters(), torch::optim::AdamOptions(opts_.discriminator_lr));
    declare_metrics({metric::kQf1Values, metric::kQf1Loss, metric::kQf2Loss, metric::kQfLoss, metric::kActorLoss,
                     metric::kAlpha, metric::kAlphaLoss, m::kDsaLoss, m::kDsasLoss, m::kRatio, m::kGap, m::kPenalty,
                     m::kRealQ, m::kSimQ});
    toml::table own;
    core::write_options(opts_, &own, "h2o");
    start(recipe, own);
  }

  // The deterministic policy on the REAL environment ([env] with its dynamics scales at 1), with
  // the D4RL score where the reference table has the env.
  EvalResult evaluate(const EvalRequest& req) override {
    EvalResult r = evaluate_real(req.episodes, req.seed);
    if (have_reference_) r.extra.push_back({"score", offline::normalized_score(r.mean_return, ref_random_, ref_expert_)});
    return r;
  }

 private:
  int64_t checkpoint_version() const override { return 1; }
  bool random_warmup() const override { return false; }  // the code's sampler acts with π from the start

  EvalResult evaluate_real(int episodes, uint64_t seed) {
    PolicyOnly policy([this](const float* obs, int64_t n, float* actions) {
      torch::NoGradGuard no_grad;
      act(obs, n, /*explore=*/false, actions);
    });
    return evaluate_control_policy(real_env_, policy, episodes, seed,
                                   [this](const float* x, int64_t n, float* y) { std::copy_n(x, n * obs_dim_, y); });
  }

  SquashedSample sample_policy(const torch::Tensor& obs) {
    auto [mean, log_std] = actor_->forward(obs);
    return squashed_gaussian(mean, log_std, normal_noise(obs.size(0), act_dim_), scale_, bias_);
  }

  void act(const float* obs, int64_t n, bool explore, float* actions) override {
    const torch::Tensor o = torch::from_blob(const_cast<float*>(obs), {n, obs_dim_}, torch::kFloat32);
    torch::Tensor a = explore ? sample_policy(o).action : torch::tanh(actor_->forward(o).first) * scale_ + bias_;
    a = a.contiguous();
    std::copy_n(a.data_ptr<float>(), n * act_dim_, actions);
  }

  // (sa, sas) logits of obs (n, obs_dim), act (n, A), next_obs (n, obs_dim): (n, 2) each.
  std::pair<torch::Tensor, torch::Tensor> discriminate(const torch::Tensor& obs, const torch::Tensor& act,
                                                       const torch::Tensor& next_obs) {
    return {d_sa_->forward(torch::cat({obs, act}, 1)), d_sas_->forward(torch::cat({obs, act, next_obs}, 1))};
  }

  // One step of both discriminators on fresh real and simulated rows with input noise.
  void discriminator_step() {
    const int64_t n = opts_.discriminator_batch;
    const ReplaySample real = offline()->sample(n, rng_);
    const ReplaySample sim = replay_->sample(n, rng_, /*beta=*/1.0);
    const double sd = opts_.discriminator_noise;
    const auto noisy = [&](const torch::Tensor& x) { return sd > 0 ? x + sd * normal_noise(x.size(0), x.size(1)) : x; };
    const torch::Tensor ro = noisy(real.obs), ra = noisy(real.actions), rn = noisy(real.next_obs);
    const torch::Tensor so = noisy(sim.obs), sa = noisy(sim.actions), sn = noisy(sim.next_obs);
    const auto [r_sa, r_sas] = discriminate(ro, ra, rn);
    const auto [s_sa, s_sas] = discriminate(so, sa, sn);
    const H2oDiscriminatorLoss l = h2o_discriminator_loss(r_sa, r_sas, s_sa, s_sas);
    d_sa_opt_->zero_grad();
    d_sas_opt_->zero_grad();
    (l.sa + l.sas).backward();  // D_sa gets both losses' gradients, D_sas its own (the code's two backward calls)
    d_sa_opt_->step();
    d_sas_opt_->step();
    accumulate(m::kDsaLoss, l.sa.item<double>());
    accumulate(m::kDsasLoss, l.sas.item<double>());
  }

  torch::Tensor train_step(const ReplaySample& batch, int64_t) override {
    const int64_t B = batch.obs.size(0), nr = offline()->rows_per_batch(B), ns = B - nr;
    const auto real = [nr](const torch::Tensor& x) { return x.narrow(0, 0, nr); };
    const auto sim = [nr, ns](const torch::Tensor& x) { return x.narrow(0, nr, ns); };
    discriminator_step();

    torch::Tensor w, gap, target;  // (ns), (ns), (B)
    {
      torch::NoGradGuard no_grad;
      const torch::Tensor so = sim(batch.obs), sa = sim(batch.actions), sn = sim(batch.next_obs);
      const auto [sa_logits, sas_logits] = discriminate(so, sa, sn);
      w = h2o_log_dynamics_ratio(sa_logits, sas_logits).exp().clamp(opts_.ratio_min, opts_.ratio_max);
      const int64_t K = opts_.next_state_samples;
      const torch::Tensor sn_k = sn.repeat_interleave(K, 0) +
                                 opts_.next_state_noise * obs_std_ * normal_noise(ns * K, obs_dim_);  // (ns K, obs_dim)
      const auto [k_sa, k_sas] = discriminate(so.repeat_interleave(K, 0), sa.repeat_interleave(K, 0), sn_k);
      gap = h2o_dynamics_gap(h2o_log_dynamics_ratio(k_sa, k_sas).view({ns, K}), opts_.gap_min, opts_.gap_max);
      const SquashedSample next = sample_policy(batch.next_obs);
      target = td3_critic_target(batch.returns, batch.discount, qf1_target_->forward(batch.next_obs, next.action),
                                 qf2_target_->forward(batch.next_obs, next.action));
      accumulate(m::kRatio, w.mean().item<double>());
      accumulate(m::kGap, gap.mean().item<double>());
    }

    // SAC's temperature and actor on all B states (the code steps them before the critics).
    const SquashedSample pi = sample_policy(batch.obs);
    const double alpha = opts_.autotune ? log_alpha_.detach().exp().item<double>() : opts_.alpha;
    if (opts_.autotune) {
      const torch::Tensor alpha_loss = sac_alpha_loss(log_alpha_, pi.logp.detach(), -static_cast<double>(act_dim_));
      alpha_opt_->zero_grad();
      alpha_loss.backward();
      alpha_opt_->step();
      accumulate(metric::kAlphaLoss, alpha_loss.item<double>());
    }
    accumulate(metric::kAlpha, alpha);
    const torch::Tensor actor_loss =
        sac_actor_loss(pi.logp, qf1_->forward(batch.obs, pi.action), qf2_->forward(batch.obs, pi.action), alpha);
    actor_opt_->zero_grad();
    actor_loss.backward();
    actor_opt_->step();
    accumulate(metric::kActorLoss, actor_loss.item<double>());

    torch::Tensor qf_loss, penalty_sum;
    for (ContinuousQ* q : {&qf1_, &qf2_}) {
      const torch::Tensor qd = (*q)->forward(batch.obs, batch.actions);  // (B)
      const torch::Tensor bellman = h2o_bellman_error(real(qd), real(target), sim(qd), sim(target), w);
      const torch::Tensor pen = h2o_cql_penalty(sim(qd), gap, real(qd), opts_.cql_temperature, opts_.cql_clip);
      const torch::Tensor l = bellman + opts_.cql_weight * pen;
      qf_loss = qf_loss.defined() ? qf_loss + l : l;
      penalty_sum = penalty_sum.defined() ? penalty_sum + pen.detach() : pen.detach();
      if (q == &qf1_) {
        accumulate(metric::kQf1Values, qd.mean().item<double>());
        accumulate(metric::kQf1Loss, bellman.item<double>());
        accumulate(m::kRealQ, real(qd).mean().item<double>());
        accumulate(m::kSimQ, sim(qd).mean().item<double>());
      } else {
        accumulate(metric::kQf2Loss, bellman.item<double>());
      }
    }
    q_opt_->zero_grad();
    qf_loss.backward();
    q_opt_->step();
    accumulate(metric::kQfLoss, qf_loss.item<double>());
    accumulate(m::kPenalty, 0.5 * penalty_sum.item<double>());
    polyak_update(qf1_target_->parameters(), qf1_->parameters(), opts_.tau);
    polyak_update(qf2_target_->parameters(), qf2_->parameters(), opts_.tau);
    return torch::zeros({B}, torch::kFloat32);  // no priorities with offline data
  }

  void add_row_values(core::MetricRow* row) override {
    const int64_t rows = batch_steps_done() / off_.steps_per_update;
    const bool last = batch_steps_done() >= total_batch_steps();
    if (!last && (opts_.eval_every == 0 || rows % opts_.eval_every != 0)) return;
    // TD3+BC's eval_policy: seed + 100, the same episodes at every evaluation.
    const EvalResult e = evaluate_real(opts_.eval_episodes, static_cast<uint64_t>(run_.seed) + 100);
    row->push_back({m::kEvalReturn, e.mean_return});
    row->push_back({m::kEvalReturnStd, e.std_return});
    row->push_back({m::kEvalLength, e.mean_length});
    if (have_reference_) row->push_back({m::kEvalScore, offline::normalized_score(e.mean_return, ref_random_, ref_expert_)});
  }

  void save_model(CheckpointWriter& w) override {
    save_module(w, "actor", *actor_);
    save_module(w, "qf1", *qf1_);
    save_module(w, "qf2", *qf2_);
    save_module(w, "qf1_target", *qf1_target_);
    save_module(w, "qf2_target", *qf2_target_);
    save_module(w, "d_sa", *d_sa_);
    save_module(w, "d_sas", *d_sas_);
    save_optimizer(w, "q_optimizer", *q_opt_);
    save_optimizer(w, "actor_optimizer", *actor_opt_);
    save_optimizer(w, "alpha_optimizer", *alpha_opt_);
    save_optimizer(w, "d_sa_optimizer", *d_sa_opt_);
    save_optimizer(w, "d_sas_optimizer", *d_sas_opt_);
    w.put_floats("log_alpha", {log_alpha_.item<float>()});
  }

  void load_model(CheckpointReader& r) override {
    load_module(r, "actor", *actor_);
    load_module(r, "qf1", *qf1_);
    load_module(r, "qf2", *qf2_);
    load_module(r, "qf1_target", *qf1_target_);
    load_module(r, "qf2_target", *qf2_target_);
    load_module(r, "d_sa", *d_sa_);
    load_module(r, "d_sas", *d_sas_);
    load_optimizer(r, "q_optimizer", *q_opt_);
    load_optimizer(r, "actor_optimizer", *actor_opt_);
    load_optimizer(r, "alpha_optimizer", *alpha_opt_);
    load_optimizer(r, "d_sa_optimizer", *d_sa_opt_);
    load_optimizer(r, "d_sas_optimizer", *d_sas_opt_);
    torch::NoGradGuard no_grad;
    log_alpha_.fill_(r.get_floats("log_alpha", 1)[0]);
  }

  H2oOptions opts_;
  EnvSection real_env_;  // [env] with gravity_scale = friction_scale = 1, no action noise: where the policy is evaluated
  bool have_reference_ = false;
  double ref_random_ = 0, ref_expert_ = 0;
  torch::Tensor scale_, bias_;  // (A)
  torch::Tensor obs_std_;       // (obs_dim) the dataset's observation std + 1e-3
  GaussianActor actor_{nullptr};
  ContinuousQ qf1_{nullptr}, qf2_{nullptr}, qf1_target_{nullptr}, qf2_target_{nullptr};
  H2oDiscriminator d_sa_{nullptr}, d_sas_{nullptr};
  torch::Tensor log_alpha_;  // (1)
  std::unique_ptr<torch::optim::Adam> q_opt_, actor_opt_, alpha_opt_, d_sa_opt_, d_sas_opt_;
};

}  // namespace

std::unique_ptr<Trainer> make_h2o_trainer(const core::Recipe& recipe, const RunContext& ctx) {
  return std::make_unique<H2oTrainer>(recipe, ctx);
}

}  // namespace rlpp::train::offpolicy
