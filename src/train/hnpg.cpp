#include "rlpp/train/hnpg.h"

#include <algorithm>
#include <cmath>

#include "rlpp/core/error.h"
#include "rlpp/nn/action_sampling.h"
#include "rlpp/train/control_run.h"
#include "rlpp/train/offline/d4rl_dataset.h"
#include "rlpp/train/offline/offline_run.h"
#include "rlpp/train/torch_actor_critic_learner.h"

namespace rlpp::train {

void HnpgOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.integer("critic_steps", critic_steps, "Adam steps per update on the hybrid critic loss", Bounds::closed(1, 100000));
  b.num("critic_lr", critic_lr, "critic Adam learning rate", Bounds::positive());
  b.integers("critic_hidden", critic_hidden, "hidden widths of the tanh MLP Q(s, a)", Bounds::closed(1, 1 << 16));
  b.num("offline_weight", offline_weight, "weight of the offline Bellman error in the critic loss", Bounds::non_negative());
  b.integer("offline_batch", offline_batch, "offline rows per update (0 = the rollout's size)", Bounds::closed(0, 1 << 24));
  b.flag("offline_actor", offline_actor, "offline states join the actor's batch (a ~ pi, A = Q - V)");
  b.integer("value_samples", value_samples, "actions sampled for V(s) = mean_k Q(s, a_k)", Bounds::closed(1, 1000));
  b.num("l2_reg", l2_reg, "L2 penalty on the critic's parameters", Bounds::non_negative());
  b.num("max_kl", max_kl, "KL radius of the natural-gradient step", Bounds::positive());
  b.num("damping", damping, "damping added to the Fisher matrix", Bounds::non_negative());
  b.integer("cg_iters", cg_iters, "conjugate-gradient iterations", Bounds::closed(1, 10000));
  b.integer("backtracks", backtracks, "line-search halvings", Bounds::closed(1, 100));
  b.num("accept_ratio", accept_ratio, "line search: accepted improvement / predicted", Bounds::closed(0, 1));
}

HybridCriticLoss hybrid_critic_loss(const torch::Tensor& q_on, const torch::Tensor& g_on, const torch::Tensor& q_off,
                                    const torch::Tensor& rewards, const torch::Tensor& terminals,
                                    const torch::Tensor& q_next, double gamma, double offline_weight) {
  HybridCriticLoss out;
  const torch::Tensor on = (q_on - g_on).pow(2).mean();
  out.on_loss = on.item<double>();
  out.loss = on;
  if (q_off.defined() && q_off.numel() > 0) {
    const torch::Tensor y = (rewards + gamma * (1 - terminals) * q_next).detach();
    const torch::Tensor off = (q_off - y).pow(2).mean();
    out.off_loss = off.item<double>();
    out.loss = on + offline_weight * off;
  }
  return out;
}

torch::Tensor gaussian_kl(const torch::Tensor& mean_old, const torch::Tensor& log_std_old, const torch::Tensor& mean,
                          const torch::Tensor& log_std) {
  // KL(N(μ0, σ0²) ‖ N(μ, σ²)) = log σ − log σ0 + (σ0² + (μ0 − μ)²) / (2σ²) − 1/2
  const torch::Tensor var0 = (2 * log_std_old).exp(), var = (2 * log_std).exp();
  const torch::Tensor kl = log_std - log_std_old + (var0 + (mean_old - mean).pow(2)) / (2 * var) - 0.5;
  return kl.sum(1).mean();
}

namespace {

torch::Tensor flat(const std::vector<torch::Tensor>& ts) {
  std::vector<torch::Tensor> v;
  for (const auto& t : ts) v.push_back(t.reshape({-1}));
  return torch::cat(v);
}

void add_flat(const std::vector<torch::Tensor>& params, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  int64_t at = 0;
  for (const auto& p : params) {
    const int64_t n = p.numel();
    p.add_(x.slice(0, at, at + n).view_as(p));
    at += n;
  }
}

void set_flat(const std::vector<torch::Tensor>& params, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  int64_t at = 0;
  for (const auto& p : params) {
    const int64_t n = p.numel();
    p.copy_(x.slice(0, at, at + n).view_as(p));
    at += n;
  }
}

}  // namespace

torch::Tensor fisher_vector_product(const std::function<torch::Tensor()>& kl, const std::vector<torch::Tensor>& params,
                                    const torch::Tensor& v, double damping) {
  const torch::Tensor k = kl();
  const torch::Tensor g = flat(torch::autograd::grad({k}, params, {}, /*retain_graph=*/true, /*create_graph=*/true));
  const torch::Tensor gv = (g * v.detach()).sum();
  const torch::Tensor hv = flat(torch::autograd::grad({gv}, params));
  return hv + damping * v;
}

torch::Tensor conjugate_gradient(const std::function<torch::Tensor(const torch::Tensor&)>& Avp, const torch::Tensor& b,
                                 int iters, double tol) {
  torch::Tensor x = torch::zeros_like(b), r = b.clone(), p = b.clone();
  double rr = r.dot(r).item<double>();
  for (int i = 0; i < iters && rr >= tol; ++i) {
    const torch::Tensor ap = Avp(p);
    const double alpha = rr / p.dot(ap).item<double>();
    x = x + alpha * p;
    r = r - alpha * ap;
    const double rr_new = r.dot(r).item<double>();
    p = r + (rr_new / rr) * p;
    rr = rr_new;
  }
  return x;
}

NpgStep npg_step(const std::vector<torch::Tensor>& params, const std::function<torch::Tensor()>& surrogate,
                 const std::function<torch::Tensor()>& kl, const HnpgOptions& opts) {
  NpgStep out;
  const torch::Tensor loss = surrogate();
  const torch::Tensor g = flat(torch::autograd::grad({loss}, params)).detach();
  out.loss_before = loss.item<double>();
  out.grad_norm = g.norm().item<double>();
  auto fvp = [&](const torch::Tensor& v) { return fisher_vector_product(kl, params, v, opts.damping).detach(); };
  const torch::Tensor x = conjugate_gradient(fvp, -g, opts.cg_iters);
  const double xfx = x.dot(fvp(x)).item<double>();
  if (!(xfx > 0) || !std::isfinite(xfx)) {
    out.loss_after = out.loss_before;
    return out;
  }
  const torch::Tensor full = x * std::sqrt(2 * opts.max_kl / xfx);
  const double expected = -g.dot(full).item<double>();  // linear prediction of the improvement
  torch::Tensor old;
  {
    torch::NoGradGuard no_grad;
    old = flat(params).clone();
  }
  double frac = 1;
  for (int k = 0; k < opts.backtracks; ++k, frac *= 0.5) {
    set_flat(params, old + frac * full);
    double after = 0;
    {
      torch::NoGradGuard no_grad;
      after = surrogate().item<double>();
    }
    const double improve = out.loss_before - after;
    if (improve > 0 && improve / (expected * frac) > opts.accept_ratio) {
      out.loss_after = after;
      out.step_fraction = frac;
      torch::NoGradGuard no_grad;
      out.kl = kl().item<double>();
      return out;
    }
  }
  set_flat(params, old);
  out.loss_after = out.loss_before;
  return out;
}

namespace {

inline constexpr const char* kHnpgOnLoss = "hnpg/critic_on_loss";      // mean (Q − G)² at the last critic step
inline constexpr const char* kHnpgOffLoss = "hnpg/critic_off_loss";    // mean (Q − y)² on the offline rows (with [dataset])
inline constexpr const char* kHnpgStep = "hnpg/step_fraction";         // of the natural step taken (0 = rejected)
inline constexpr const char* kHnpgKl = "hnpg/kl";                      // KL(π_old ‖ π_new) after the step

class HnpgTrainer : public ControlRun {
 public:
  HnpgTrainer(const core::Recipe& recipe, const RunContext& ctx) : ControlRun(recipe, ctx) {
    hnpg_ = core::read_options<HnpgOptions>(recipe, "hnpg");
    const env::Spec& spec = envs_->spec();
    core::require(!spec.action.is_discrete(), recipe.origin("env.name") + ": hnpg trains Gaussian policies "
                                                   "(Box actions); " + spec.id + " has discrete actions");
    auto* torch_learner = dynamic_cast<TorchActorCriticLearner*>(learner_.get());
    core::require(torch_learner != nullptr, recipe.origin("policy.backend") +
                                                ": hnpg needs policy.backend = \"torch\" (its natural gradient "
                                                "differentiates the policy twice)");
    model_ = torch_learner->model();
    core::require(world_size() == 1, "hnpg trains in a single process");
    if (recipe.has_section("dataset")) data_opts_ = core::read_options<offline::DatasetOptions>(recipe, "dataset");
    if (!data_opts_.path.empty()) {  // no [dataset], or path = "": plain NPG
      core::require(!ppo_.normalize_reward, recipe.origin("ppo.normalize_reward") +
                                                ": with [dataset], rewards must be raw (the offline rewards are)");
      data_ = offline::read_d4rl(data_opts_.path);
      offline::check_matches(data_, spec, recipe.origin("dataset.path") + ": dataset '" + data_opts_.path + "'");
      int64_t bytes = 0;
      data_crc_ = static_cast<int64_t>(tensors_crc32(
          {torch::from_blob(data_.actions.data(), {static_cast<int64_t>(data_.actions.size())}, torch::kFloat32),
           torch::from_blob(data_.rewards.data(), {data_.size()}, torch::kFloat32)},
          0, &bytes));
    }
    recipe.check_all_used();

    A_ = act_flat_;
    low_ = torch::tensor(spec.action.low);
    high_ = torch::tensor(spec.action.high);
    critic_ = nn::make_mlp(obs_dim_ + A_, hnpg_.critic_hidden, 1, "tanh", /*head_gain=*/1.0);
    const int64_t B = T_ * N_;
    obs_buf_.resize(static_cast<size_t>(B * obs_dim_));
    act_buf_.resize(static_cast<size_t>(B * A_));
    logp_buf_.resize(static_cast<size_t>(B));
    rew_buf_.resize(logp_buf_.size());
    term_buf_.resize(logp_buf_.size());
    trunc_buf_.resize(logp_buf_.size());
    final_obs_buf_.resize(obs_buf_.size());
    next_obs_.resize(static_cast<size_t>(N_ * obs_dim_));

    envs_->reset(env_seed());
    observe(envs_->obs());
    toml::table own;
    core::write_options(hnpg_, &own, "hnpg");
    core::write_options(data_opts_, &own, "dataset");
    finish_setup(resolve(recipe, own));
  }

  bool data_parallel() const override { return false; }

 private:
  int64_t checkpoint_version() const override { return 1; }

  void observe(const float* raw) {
    if (obs_norm_) {
      obs_norm_->normalize(raw, N_, /*update=*/true, next_obs_.data());
    } else {
      std::copy(raw, raw + N_ * obs_dim_, next_obs_.begin());
    }
  }

  // Actions a ~ π(·|s) for s (n, obs_dim) from rng_, (n, A) float.
  torch::Tensor sample_actions(const torch::Tensor& s) {
    torch::NoGradGuard no_grad;
    const int64_t n = s.size(0);
    const torch::Tensor mean = model_->actor_out(s).contiguous();
    const torch::Tensor log_std = model_->log_std.contiguous();
    torch::Tensor a = torch::empty({n, A_});
    std::vector<float> logp(static_cast<size_t>(n));
    nn::sample_gaussian(mean.data_ptr<float>(), log_std.data_ptr<float>(), n, A_, rng_, /*deterministic=*/false,
                        a.data_ptr<float>(), logp.data());
    return a;
  }

  // Q(s, clip(a)): s (n, obs_dim), a (n, A) -> (n).
  torch::Tensor q(const torch::Tensor& s, const torch::Tensor& a) {
    return critic_->forward(torch::cat({s, torch::max(torch::min(a, high_), low_)}, 1)).squeeze(1);
  }

  // V(s) = (1/K) Σ_k Q(s, a_k), a_k ~ π(·|s): s (n, obs_dim) -> (n).
  torch::Tensor v(const torch::Tensor& s) {
    torch::NoGradGuard no_grad;
    torch::Tensor sum = torch::zeros({s.size(0)});
    for (int k = 0; k < hnpg_.value_samples; ++k) sum = sum + q(s, sample_actions(s));
    return sum / hnpg_.value_samples;
  }

  void collect_rollout(EpisodeSums* eps) {
    torch::NoGradGuard no_grad;
    std::vector<float> val(static_cast<size_t>(N_));
    for (int64_t t = 0; t < T_; ++t) {
      global_step_ += steps_per_batch_step();
      float* obs_t = obs_buf_.data() + t * N_ * obs_dim_;
      std::copy(next_obs_.begin(), next_obs_.end(), obs_t);
      float* act_t = act_buf_.data() + t * N_ * A_;
      learner_->act(obs_t, N_, rng_, /*deterministic=*/false, act_t, logp_buf_.data() + t * N_, val.data());
      step_envs(act_t);
      float* rew_t = rew_buf_.data() + t * N_;
      std::copy(envs_->reward(), envs_->reward() + N_, rew_t);
      record_step(rew_t, term_buf_.data() + t * N_, trunc_buf_.data() + t * N_, eps);
      normalize(envs_->final_obs(), N_, final_obs_buf_.data() + t * N_ * obs_dim_);
      observe(envs_->obs());
    }
  }

  // Advantages and returns (T, N) with the current critic.
  algo::AdvantageOutput estimate(const torch::Tensor& obs) {
    torch::NoGradGuard no_grad;
    const torch::Tensor values = v(obs).view({T_, N_});
    const torch::Tensor next_value = v(torch::from_blob(next_obs_.data(), {N_, obs_dim_}, torch::kFloat32));
    torch::Tensor final_values = torch::zeros({T_, N_});
    if (bootstraps_truncation()) {
      final_values = v(torch::from_blob(final_obs_buf_.data(), {T_ * N_, obs_dim_}, torch::kFloat32)).view({T_, N_}) *
                     view(trunc_buf_, {T_, N_}) * (1 - view(term_buf_, {T_, N_}));
    }
    return advantages(view(rew_buf_, {T_, N_}), values, view(term_buf_, {T_, N_}), view(trunc_buf_, {T_, N_}),
                      next_value, final_values);
  }

  static torch::Tensor view(std::vector<float>& v, std::vector<int64_t> shape) {
    return torch::from_blob(v.data(), shape, torch::kFloat32);
  }

  // Offline rows (normalised s, s'), drawn uniformly with rng_.
  struct OfflineBatch {
    torch::Tensor s, a, r, d, s2;  // (M, obs_dim), (M, A), (M), (M), (M, obs_dim)
  };
  OfflineBatch draw_offline(int64_t m) {
    OfflineBatch b;
    std::vector<float> s(static_cast<size_t>(m * obs_dim_)), s2(s.size()), a(static_cast<size_t>(m * A_)),
        r(static_cast<size_t>(m)), d(static_cast<size_t>(m));
    for (int64_t i = 0; i < m; ++i) {
      const auto k = static_cast<int64_t>(rng_.below(static_cast<uint64_t>(data_.size())));
      std::copy_n(data_.observations.data() + k * obs_dim_, obs_dim_, s.data() + i * obs_dim_);
      std::copy_n(data_.next_observations.data() + k * obs_dim_, obs_dim_, s2.data() + i * obs_dim_);
      std::copy_n(data_.actions.data() + k * A_, A_, a.data() + i * A_);
      r[static_cast<size_t>(i)] = data_.rewards[static_cast<size_t>(k)];
      d[static_cast<size_t>(i)] = data_.terminals[static_cast<size_t>(k)];
    }
    std::vector<float> sn(s.size()), s2n(s.size());
    normalize(s.data(), m, sn.data());
    normalize(s2.data(), m, s2n.data());
    b.s = torch::tensor(sn).view({m, obs_dim_});
    b.s2 = torch::tensor(s2n).view({m, obs_dim_});
    b.a = torch::tensor(a).view({m, A_});
    b.r = torch::tensor(r);
    b.d = torch::tensor(d);
    return b;
  }

  core::MetricRow step() override {
    const double lr = learning_rate();
    EpisodeSums eps;
    collect_rollout(&eps);
    ++update_;
    const int64_t B = T_ * N_;
    const torch::Tensor obs = view(obs_buf_, {B, obs_dim_}).clone();  // (B, obs_dim)
    const torch::Tensor act = view(act_buf_, {B, A_}).clone();        // (B, A) unclipped samples
    const torch::Tensor logp_old = view(logp_buf_, {B}).clone();      // (B)

    // HPE: on-policy targets with the critic before the fit; offline targets under π.
    const torch::Tensor g_on = estimate(obs).returns.reshape({B}).clone();
    const bool hybrid = data_.size() > 0;
    OfflineBatch off;
    torch::Tensor q_next;
    if (hybrid) {
      off = draw_offline(hnpg_.offline_batch > 0 ? hnpg_.offline_batch : B);
      torch::NoGradGuard no_grad;
      q_next = q(off.s2, sample_actions(off.s2));
    }
    torch::optim::Adam opt(critic_->parameters(), torch::optim::AdamOptions(hnpg_.critic_lr));
    HybridCriticLoss c;
    for (int k = 0; k < hnpg_.critic_steps; ++k) {
      opt.zero_grad();
      c = hybrid_critic_loss(q(obs, act), g_on, hybrid ? q(off.s, off.a) : torch::Tensor(), off.r, off.d, q_next,
                             ppo_.gamma, hnpg_.offline_weight);
      torch::Tensor loss = c.loss;
      if (hnpg_.l2_reg > 0) {
        for (const auto& p : critic_->parameters()) loss = loss + hnpg_.l2_reg * p.pow(2).sum();
      }
      loss.backward();
      opt.step();
    }

    // Advantages with the fitted critic; offline states with a ~ π and Â = Q − V.
    const algo::AdvantageOutput a2 = estimate(obs);
    torch::Tensor s_all = obs, a_all = act, adv_all = a2.advantages.reshape({B}).clone(), logp_all = logp_old;
    if (hybrid && hnpg_.offline_actor) {
      torch::NoGradGuard no_grad;
      const torch::Tensor a_off = sample_actions(off.s);
      const torch::Tensor adv_off = q(off.s, a_off) - v(off.s);
      s_all = torch::cat({obs, off.s});
      a_all = torch::cat({act, a_off});
      adv_all = torch::cat({adv_all, adv_off});
      logp_all = torch::cat({logp_old, log_prob(off.s, a_off).detach()});
    }
    const torch::Tensor mean_old = model_->actor_out(s_all).detach();
    const torch::Tensor log_std_old = model_->log_std.detach().clone();
    std::vector<torch::Tensor> params = model_->actor->parameters();
    params.push_back(model_->log_std);
    auto surrogate = [&]() { return -(adv_all * (log_prob(s_all, a_all) - logp_all).exp()).mean(); };
    auto kl = [&]() { return gaussian_kl(mean_old, log_std_old, model_->actor_out(s_all), model_->log_std); };
    const NpgStep st = npg_step(params, surrogate, kl, hnpg_);

    ControlUpdateSummary u;
    u.last.policy_loss = st.loss_after;
    u.last.value_loss = c.on_loss;
    u.last.approx_kl = st.kl;
    u.last.grad_norm = st.grad_norm;
    u.epochs = 1;
    {
      const torch::Tensor ret = a2.returns.reshape({B}).to(torch::kDouble), val = (a2.returns - a2.advantages).reshape({B}).to(torch::kDouble);
      const double var = ret.var(/*unbiased=*/false).item<double>();
      u.explained_variance = var > 0 ? 1 - (ret - val).var(false).item<double>() / var : 0;
    }
    core::MetricRow row = control_row(lr, eps, u);
    row.emplace_back(kHnpgOnLoss, c.on_loss);
    if (hybrid) row.emplace_back(kHnpgOffLoss, c.off_loss);
    row.emplace_back(kHnpgStep, st.step_fraction);
    row.emplace_back(kHnpgKl, st.kl);
    return row;
  }

  // log π(a|s): s (n, obs_dim), a (n, A) -> (n).
  torch::Tensor log_prob(const torch::Tensor& s, const torch::Tensor& a) {
    const torch::Tensor mean = model_->actor_out(s);
    const torch::Tensor log_std = model_->log_std;
    return (-(a - mean).pow(2) / (2 * (2 * log_std).exp()) - log_std - 0.5 * std::log(2 * M_PI)).sum(1);
  }

  void save_state(CheckpointWriter& w) override {
    ControlRun::save_state(w);
    critic_->save(w.child("critic"));
    w.put_ints("dataset", {data_.size(), data_crc_});
  }
  void load_state(CheckpointReader& r, bool full) override {
    ControlRun::load_state(r, full);
    critic_->load(r.child("critic"));
    if (!full) return;
    const auto fp = r.get_ints("dataset", 2);
    core::require(fp[0] == data_.size() && fp[1] == data_crc_,
                  "checkpoint '" + r.path() + "' was written with another [dataset] than this run's");
  }
  void save_rank_state(CheckpointWriter& w) override {
    ControlRun::save_rank_state(w);
    w.put_floats("next_obs", next_obs_);
  }
  void load_rank_state(CheckpointReader& r) override {
    ControlRun::load_rank_state(r);
    next_obs_ = r.get_floats("next_obs", next_obs_.size());
  }

  HnpgOptions hnpg_;
  offline::DatasetOptions data_opts_;
  offline::D4rlDataset data_;  // empty without [dataset]
  int64_t data_crc_ = 0;
  nn::ActorCritic model_{nullptr};  // the learner's: π's mean net and log σ are updated here (its V head and Adam are unused)
  torch::nn::Sequential critic_{nullptr};  // Q(s, a)
  torch::Tensor low_, high_;  // (A) action box
  int64_t A_ = 0;
  // Rollout storage, time-major. T = num_steps, N = num_envs.
  std::vector<float> obs_buf_;        // (T, N, obs_dim) normalised observations the policy saw
  std::vector<float> act_buf_;        // (T, N, A) unclipped actions
  std::vector<float> logp_buf_;       // (T, N)
  std::vector<float> rew_buf_;        // (T, N) (scaled when normalize_reward)
  std::vector<float> term_buf_;       // (T, N)
  std::vector<float> trunc_buf_;      // (T, N)
  std::vector<float> final_obs_buf_;  // (T, N, obs_dim) normalised final observations (rows where done)
  std::vector<float> next_obs_;       // (N, obs_dim)
};

}  // namespace

std::unique_ptr<Trainer> make_hnpg_trainer(const core::Recipe& recipe, const RunContext& ctx) {
  return std::make_unique<HnpgTrainer>(recipe, ctx);
}

}  // namespace rlpp::train
