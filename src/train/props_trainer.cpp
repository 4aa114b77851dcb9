#include "rlpp/train/props_trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <numeric>
#include <sstream>

#include "rlpp/algo/advantage.h"
#include "rlpp/algo/props.h"
#include "rlpp/algo/stats.h"
#include "rlpp/core/error.h"
#include "rlpp/core/metrics.h"
#include "rlpp/core/progress.h"
#include "rlpp/env/vec_env.h"
#include "rlpp/nn/action_sampling.h"
#include "rlpp/train/checkpoint.h"
#include "rlpp/train/control_eval.h"
#include "rlpp/train/recent_returns.h"
#include "rlpp/train/env_section.h"
#include "rlpp/train/fast_behavior_policy.h"
#include "rlpp/train/ppo_trainer.h"
#include "rlpp/train/running_mean_std.h"
#include "rlpp/train/sampling_error.h"

namespace rlpp::train {

void PropsOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.integer("buffer_batches", buffer_batches, "target-update batches kept in the buffer (b)", Bounds::closed(1, 64));
  b.flag("behavior", behavior, "collect with the PROPS behaviour policy (false: PPO-buffer)");
  b.integer("behavior_every", behavior_every, "env steps between behaviour updates (m)", Bounds::closed(1, 1 << 24));
  b.num("behavior_lr", behavior_lr, "behaviour-policy Adam learning rate", Bounds::positive());
  b.num("behavior_clip", behavior_clip, "PROPS ratio clip epsilon", Bounds::closed(0, 1));
  b.num("behavior_kl_coef", behavior_kl_coef, "PROPS KL regulariser weight (lambda)", Bounds::non_negative());
  b.num("behavior_target_kl", behavior_target_kl, "stop the behaviour epochs above this KL(phi||theta) (0 = off)", Bounds::non_negative());
  b.integer("behavior_epochs", behavior_epochs, "behaviour-update epochs", Bounds::closed(1, 1000));
  b.integer("behavior_minibatches", behavior_minibatches, "behaviour-update minibatches per epoch", Bounds::closed(1, 1 << 16));
  b.num("behavior_max_grad_norm", behavior_max_grad_norm, "behaviour-update grad-norm clip", Bounds::positive());
  b.flag("sampling_error", sampling_error, "measure KL(pi_D||pi_theta) at each target update");
  b.integer("mle_steps", mle_steps, "full-batch Adam steps of the pi_D fit", Bounds::closed(1, 100000));
  b.num("mle_lr", mle_lr, "Adam learning rate of the pi_D fit", Bounds::positive());
}

// ---- pieces --------------------------------------------------------------------------------------

RowRing::RowRing(int64_t capacity, int64_t row_floats)
    : capacity_(capacity), row_floats_(row_floats), data_(static_cast<size_t>(capacity * row_floats)) {}

void RowRing::push(const float* row) {
  std::copy(row, row + row_floats_, data_.begin() + next_ * row_floats_);
  next_ = (next_ + 1) % capacity_;
  size_ = std::min(size_ + 1, capacity_);
}

std::vector<float> RowRing::ordered() const {
  std::vector<float> out(static_cast<size_t>(size_ * row_floats_));
  const int64_t first = size_ < capacity_ ? 0 : next_;  // the oldest row
  for (int64_t k = 0; k < size_; ++k) {
    const int64_t src = (first + k) % capacity_;
    std::copy_n(data_.begin() + src * row_floats_, row_floats_, out.begin() + k * row_floats_);
  }
  return out;
}

nn::ActorCritic snapshot_policy(ActorCriticLearner& learner, const LearnerConfig& config) {
  torch::serialize::OutputArchive out;
  learner.save(out);
  std::ostringstream bytes;
  out.save_to(bytes);
  std::istringstream in_bytes(bytes.str());
  torch::serialize::InputArchive in, model;
  in.load_from(in_bytes);
  in.read("model", model);
  nn::ActorCritic module(config.obs_dim, config.act_dim, config.discrete, config.policy);
  module->load(model);
  return module;
}

void copy_policy(const nn::ActorCritic& from, nn::ActorCritic& to) {
  torch::NoGradGuard no_grad;
  const auto src = from->parameters(), dst = to->parameters();
  for (size_t k = 0; k < src.size(); ++k) dst[k].copy_(src[k]);
}

torch::Tensor policy_log_prob(nn::ActorCritic& policy, const torch::Tensor& obs, const torch::Tensor& actions) {
  if (policy->discrete()) return policy->log_prob_entropy(obs, actions.select(1, 0).to(torch::kInt64)).first;
  return policy->log_prob_entropy(obs, actions).first;
}

torch::Tensor policy_kl(nn::ActorCritic& p, nn::ActorCritic& q, const torch::Tensor& obs) {
  // q is the fixed reference: its outputs enter as constants
  if (p->discrete()) return algo::categorical_kl(p->actor_out(obs), q->actor_out(obs).detach());
  return algo::gaussian_kl(p->actor_out(obs), p->log_std, q->actor_out(obs).detach(), q->log_std.detach());
}

BehaviorUpdateStats props_behavior_update(nn::ActorCritic& theta, nn::ActorCritic& phi,
                                          const torch::Tensor& obs, const torch::Tensor& actions,
                                          const PropsOptions& opts, core::Rng& rng) {
  copy_policy(theta, phi);
  std::vector<torch::Tensor> params = phi->actor->parameters();
  if (!phi->discrete()) params.push_back(phi->log_std);
  torch::optim::Adam adam(params, torch::optim::AdamOptions(opts.behavior_lr).eps(1e-5));
  torch::Tensor logp_theta;
  {
    torch::NoGradGuard no_grad;
    logp_theta = policy_log_prob(theta, obs, actions);  // (B), fixed target
  }
  const int64_t rows = obs.size(0);
  const int64_t mb = std::max<int64_t>(1, rows / opts.behavior_minibatches);
  std::vector<int64_t> idx(static_cast<size_t>(rows));
  std::iota(idx.begin(), idx.end(), 0);
  algo::PropsLossOptions lo{opts.behavior_clip, opts.behavior_kl_coef};
  BehaviorUpdateStats stats;
  for (int epoch = 0; epoch < opts.behavior_epochs; ++epoch) {
    rng.shuffle(idx.data(), rows);
    const torch::Tensor perm = torch::from_blob(idx.data(), {rows}, torch::kInt64);
    for (int64_t start = 0; start + mb <= rows; start += mb) {
      const torch::Tensor sel = perm.slice(0, start, start + mb);
      const torch::Tensor o = obs.index_select(0, sel), a = actions.index_select(0, sel);
      const torch::Tensor kl = policy_kl(phi, theta, o);  // (mb)
      const auto out = algo::props_loss(policy_log_prob(phi, o, a), logp_theta.index_select(0, sel), kl, lo);
      adam.zero_grad();
      out.loss.backward();
      torch::nn::utils::clip_grad_norm_(params, opts.behavior_max_grad_norm);
      adam.step();
      stats.loss = out.loss.item<double>();
      stats.clipfrac = out.metrics.at("clipfrac").item<double>();
    }
    stats.epochs = epoch + 1;
    torch::NoGradGuard no_grad;
    stats.kl = policy_kl(phi, theta, obs).mean().item<double>();
    if (opts.behavior_target_kl > 0 && stats.kl > opts.behavior_target_kl) break;
  }
  return stats;
}

// ---- the trainer ---------------------------------------------------------------------------------

namespace {

class PropsTrainer : public Trainer {
 public:
  PropsTrainer(const core::Recipe& recipe, const RunContext& ctx) : ctx_(ctx) {
    run_ = core::read_options<RunOptions>(recipe, "run");
    env_opts_ = core::read_options<EnvSection>(recipe, "env");
    ppo_ = core::read_options<PpoOptions>(recipe, "ppo");
    props_ = core::read_options<PropsOptions>(recipe, "props");
    policy_ = core::read_options<nn::MlpPolicyOptions>(recipe, "policy");
    recipe.check_all_used();

    N_ = env_opts_.num_envs;
    T_ = ppo_.num_steps;
    const int64_t n = T_ * N_;
    core::require(n % ppo_.num_minibatches == 0,
                  recipe.origin("ppo.num_minibatches") + ": ppo.num_minibatches = " +
                      std::to_string(ppo_.num_minibatches) + " must divide num_steps * num_envs = " + std::to_string(n));
    core::require(props_.behavior_every % N_ == 0 && n % props_.behavior_every == 0,
                  recipe.origin("props.behavior_every") + ": props.behavior_every = " +
                      std::to_string(props_.behavior_every) + " must be a multiple of env.num_envs and divide "
                      "num_steps * num_envs = " + std::to_string(n));
    num_updates_ = run_.total_steps / n;
    core::require(num_updates_ >= 1, recipe.origin("run.total_steps") + ": run.total_steps = " +
                                         std::to_string(run_.total_steps) + " is less than one rollout (" +
                                         std::to_string(n) + " steps)");

    torch::set_num_threads(run_.torch_threads);
    torch::manual_seed(static_cast<uint64_t>(run_.seed));
    rng_.reseed(static_cast<uint64_t>(run_.seed));
    envs_ = env_opts_.make();
    const env::Spec& spec = envs_->spec();
    obs_dim_ = envs_->obs_dim();
    act_flat_ = envs_->act_dim();
    lc_.obs_dim = obs_dim_;
    lc_.discrete = spec.action.is_discrete();
    lc_.act_dim = lc_.discrete ? spec.action.n : spec.action.dim;
    lc_.policy = policy_;
    lc_.adam_eps = ppo_.adam_eps;
    learner_ = make_actor_critic_learner(lc_);
    phi_ = snapshot_policy(*learner_, lc_);
    if (policy_.backend == "fast") {
      fast_phi_ = std::make_unique<FastBehaviorPolicy>(obs_dim_, lc_.act_dim, lc_.discrete, policy_);
      fast_phi_->set(phi_);
    }
    if (ppo_.normalize_obs) obs_norm_ = std::make_unique<ObsNormalizer>(obs_dim_, ppo_.obs_clip);
    if (ppo_.normalize_reward) reward_scaler_ = std::make_unique<RewardScaler>(N_, ppo_.gamma, ppo_.reward_clip);

    const int64_t cap = props_.buffer_batches * T_;
    obs_ring_ = std::make_unique<RowRing>(cap, N_ * obs_dim_);
    act_ring_ = std::make_unique<RowRing>(cap, N_ * act_flat_);
    rew_ring_ = std::make_unique<RowRing>(cap, N_);
    term_ring_ = std::make_unique<RowRing>(cap, N_);
    trunc_ring_ = std::make_unique<RowRing>(cap, N_);
    if (ppo_.bootstrap_truncated) final_ring_ = std::make_unique<RowRing>(cap, N_ * obs_dim_);

    envs_->reset(static_cast<uint64_t>(run_.seed));
    raw_obs_.assign(envs_->obs(), envs_->obs() + N_ * obs_dim_);
    if (obs_norm_) obs_norm_->stats().update(raw_obs_.data(), N_);
    resolved_ = resolve(recipe);
    if (ctx_.resume) {
      const std::string path = latest_checkpoint(ctx_.run_dir);
      core::require(!path.empty(), "cannot resume: no checkpoint in " + ctx_.run_dir + "/checkpoints");
      load_state(path, /*full=*/true);
    }
  }

  std::string resolved_recipe() const override { return resolved_; }

  bool run(const std::atomic<bool>& stop) override {
    core::MetricsLogger metrics(ctx_.run_dir, ctx_.resume, global_step_);
    std::ostream null_out(nullptr);
    core::Progress progress(num_updates_ * T_ * N_, ctx_.quiet ? std::optional<bool>(false) : std::nullopt,
                            ctx_.quiet ? 1e30 : run_.log_interval_s, ctx_.quiet ? null_out : std::cout);
    const auto start = std::chrono::steady_clock::now();
    const int64_t start_step = global_step_;
    int64_t updates_this_call = 0;
    bool finished = update_ >= num_updates_;
    while (!finished && !stop.load()) {
      ++update_;
      const double frac = 1.0 - static_cast<double>(update_ - 1) / static_cast<double>(num_updates_);
      const double lr = ppo_.anneal_lr ? frac * ppo_.learning_rate : ppo_.learning_rate;
      double ep_ret = 0, ep_len = 0;
      int ep_count = 0;
      BehaviorUpdateStats bstats;
      for (int64_t t = 0; t < T_; ++t) {
        collect_step(&ep_ret, &ep_len, &ep_count);
        // behaviour updates inside the rollout; the one at its end follows the target update
        if (props_.behavior && ((t + 1) * N_) % props_.behavior_every == 0 && t + 1 < T_) {
          bstats = behavior_update();
        }
      }
      Buffer buf = linearize();
      double sampling_error = std::nan("");
      if (props_.sampling_error) {
        sampling_error = measure_sampling_error(buf.theta, buf.obs, buf.actions, props_.mle_steps, props_.mle_lr);
      }
      const UpdateSummary u = target_update(buf, lr);
      if (props_.behavior) bstats = behavior_update();

      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double sps = static_cast<double>(global_step_ - start_step) / std::max(elapsed, 1e-9);
      const double nan = std::nan("");
      metrics.log(global_step_, {
          {"charts/learning_rate", lr},
          {"charts/episodic_return", ep_count ? ep_ret / ep_count : nan},
          {"charts/episodic_length", ep_count ? ep_len / ep_count : nan},
          {"charts/return_mean_100", recent_.mean()},
          {"charts/SPS", sps},
          {"losses/value_loss", u.last.value_loss},
          {"losses/policy_loss", u.last.policy_loss},
          {"losses/entropy", u.last.entropy},
          {"losses/approx_kl", u.last.approx_kl},
          {"losses/clipfrac", u.clipfrac},
          {"losses/explained_variance", u.explained_variance},
          {"losses/epochs", static_cast<double>(u.epochs)},
          {"props/sampling_error", sampling_error},
          {"props/buffer_size", static_cast<double>(buf.rows)},
          {"props/behavior_kl", props_.behavior ? bstats.kl : nan},
          {"props/behavior_loss", props_.behavior ? bstats.loss : nan},
          {"props/behavior_epochs", props_.behavior ? static_cast<double>(bstats.epochs) : nan},
      });
      progress.update(global_step_, sps, recent_.count() ? std::optional<double>(recent_.mean()) : std::nullopt);
      ++updates_this_call;
      finished = update_ >= num_updates_;
      const bool periodic = run_.checkpoint_every > 0 && update_ % run_.checkpoint_every == 0;
      const bool split = ctx_.stop_after_updates > 0 && updates_this_call >= ctx_.stop_after_updates;
      if (periodic && !finished && !split) save_checkpoint();
      if (split) break;
    }
    save_checkpoint();
    progress.finish();
    return finished;
  }

  EvalResult evaluate(const EvalRequest& req) override {
    return evaluate_control_policy(env_opts_, *learner_, req.episodes, req.seed,
                                   [this](const float* x, int64_t n, float* y) { normalize(x, n, y); });
  }

  void load_checkpoint(const std::string& path) override { load_state(path, /*full=*/false); }

 private:
  struct Buffer {
    int64_t rows = 0;                  // L (time rows; × N copies)
    torch::Tensor obs, actions;        // (L·N, obs_dim), (L·N, act_flat): re-normalised now
    torch::Tensor rewards, term, trunc;  // (L, N)
    torch::Tensor final_values;        // (L, N) V(final_obs) under θ (bootstrap only)
    nn::ActorCritic theta{nullptr};    // the current θ (snapshot)
  };
  struct UpdateSummary {
    UpdateStats last;
    double clipfrac = 0, explained_variance = 0;
    int epochs = 0;
  };

  std::string resolve(const core::Recipe& recipe) const {
    toml::table out;
    core::write_options(run_, &out, "run");
    core::write_options(env_opts_, &out, "env");
    core::write_options(ppo_, &out, "ppo");
    core::write_options(props_, &out, "props");
    core::write_options(policy_, &out, "policy");
    std::ostringstream s;
    s << "# Resolved recipe (every option, defaults filled in), from " << recipe.source() << "\n"
      << core::to_toml_text(out) << "\n";
    return s.str();
  }

  // x (n, obs_dim) raw -> y under the current statistics (not updated).
  void normalize(const float* x, int64_t n, float* y) {
    if (obs_norm_) {
      obs_norm_->normalize(x, n, /*update=*/false, y);
    } else {
      std::copy(x, x + n * obs_dim_, y);
    }
  }

  void collect_step(double* ep_ret, double* ep_len, int* ep_count) {
    torch::NoGradGuard no_grad;
    global_step_ += N_;
    std::vector<float> obs_n(static_cast<size_t>(N_ * obs_dim_)), act(static_cast<size_t>(N_ * act_flat_));
    normalize(raw_obs_.data(), N_, obs_n.data());
    if (props_.behavior) {
      sample_behavior(obs_n.data(), act.data());
    } else {
      std::vector<float> logp(static_cast<size_t>(N_)), val(static_cast<size_t>(N_));
      learner_->act(obs_n.data(), N_, rng_, /*deterministic=*/false, act.data(), logp.data(), val.data());
    }
    obs_ring_->push(raw_obs_.data());
    act_ring_->push(act.data());
    envs_->step(act.data());
    std::vector<float> rew(envs_->reward(), envs_->reward() + N_), term(N_), trunc(N_);
    std::vector<uint8_t> done(static_cast<size_t>(N_));
    for (int64_t i = 0; i < N_; ++i) {
      term[i] = envs_->terminated()[i], trunc[i] = envs_->truncated()[i];
      done[i] = term[i] || trunc[i];
      if (!done[i]) continue;
      *ep_ret += envs_->episode_return()[i];
      *ep_len += envs_->episode_length()[i];
      ++*ep_count;
      recent_.push(envs_->episode_return()[i]);
    }
    if (reward_scaler_) reward_scaler_->scale(rew.data(), done.data());
    rew_ring_->push(rew.data());
    term_ring_->push(term.data());
    trunc_ring_->push(trunc.data());
    if (final_ring_) final_ring_->push(envs_->final_obs());
    raw_obs_.assign(envs_->obs(), envs_->obs() + N_ * obs_dim_);
    if (obs_norm_) obs_norm_->stats().update(raw_obs_.data(), N_);
  }

  // a ~ π_φ(·|obs) from rng_ (nn/action_sampling.h's draws, the same for both backends).
  void sample_behavior(const float* obs_n, float* act) {
    if (fast_phi_) return fast_phi_->sample(obs_n, N_, rng_, act);
    const torch::Tensor o = torch::from_blob(const_cast<float*>(obs_n), {N_, obs_dim_});
    const torch::Tensor out = phi_->actor_out(o).contiguous();  // (N, A)
    std::vector<float> logp(static_cast<size_t>(N_));
    if (lc_.discrete) {
      nn::sample_categorical(out.data_ptr<float>(), N_, lc_.act_dim, rng_, false, act, logp.data());
    } else {
      const torch::Tensor log_std = phi_->log_std.contiguous();
      nn::sample_gaussian(out.data_ptr<float>(), log_std.data_ptr<float>(), N_, lc_.act_dim, rng_, false, act,
                          logp.data());
    }
  }

  // The ring's rows oldest first, observations re-normalised now, θ snapshotted.
  Buffer linearize() {
    Buffer b;
    b.rows = obs_ring_->size();
    const int64_t L = b.rows;
    const std::vector<float> raw = obs_ring_->ordered();
    std::vector<float> obs_n(raw.size());
    normalize(raw.data(), L * N_, obs_n.data());
    b.obs = torch::from_blob(obs_n.data(), {L * N_, obs_dim_}).clone();
    std::vector<float> act = act_ring_->ordered();
    b.actions = torch::from_blob(act.data(), {L * N_, act_flat_}).clone();
    auto rows = [&](const RowRing& r) {
      std::vector<float> v = r.ordered();
      return torch::from_blob(v.data(), {L, N_}).clone();
    };
    b.rewards = rows(*rew_ring_);
    b.term = rows(*term_ring_);
    b.trunc = rows(*trunc_ring_);
    b.theta = snapshot_policy(*learner_, lc_);
    if (final_ring_) {
      torch::NoGradGuard no_grad;
      const std::vector<float> fr = final_ring_->ordered();
      std::vector<float> fn(fr.size());
      normalize(fr.data(), L * N_, fn.data());
      b.final_values = b.theta->value(torch::from_blob(fn.data(), {L * N_, obs_dim_})).reshape({L, N_}).clone();
    }
    return b;
  }

  // PPO on the whole buffer with log-probs and values recomputed under the current θ.
  UpdateSummary target_update(Buffer& b, double lr) {
    const int64_t L = b.rows, B = L * N_;
    torch::Tensor logp_old, values;
    std::vector<float> next_obs(static_cast<size_t>(N_ * obs_dim_)), next_value(static_cast<size_t>(N_));
    {
      torch::NoGradGuard no_grad;
      logp_old = policy_log_prob(b.theta, b.obs, b.actions).contiguous();  // (B)
      values = b.theta->value(b.obs).contiguous();                          // (B)
      normalize(raw_obs_.data(), N_, next_obs.data());
      learner_->value(next_obs.data(), N_, next_value.data());
    }
    algo::GaeInput in;
    in.rewards = b.rewards;
    in.values = values.reshape({L, N_});
    in.terminated = b.term;
    in.truncated = b.trunc;
    in.next_value = torch::from_blob(next_value.data(), {N_});
    if (ppo_.bootstrap_truncated) in.final_values = b.final_values;
    algo::GaeOptions go;
    go.gamma = ppo_.gamma;
    go.lambda = ppo_.gae_lambda;
    go.bootstrap_truncated = ppo_.bootstrap_truncated;
    const algo::GaeOutput g = algo::gae(in, go);
    const torch::Tensor adv = g.advantages.reshape({B}).contiguous(), ret = g.returns.reshape({B}).contiguous();

    PpoLossOptions lo;
    lo.clip_coef = ppo_.clip_coef;
    lo.clip_vloss = ppo_.clip_vloss;
    lo.ent_coef = ppo_.ent_coef;
    lo.vf_coef = ppo_.vf_coef;
    lo.max_grad_norm = ppo_.max_grad_norm;
    lo.norm_adv = ppo_.norm_adv;
    const int64_t mb = B / ppo_.num_minibatches;
    std::vector<int64_t> idx(static_cast<size_t>(B));
    std::iota(idx.begin(), idx.end(), 0);
    const torch::Tensor obs = b.obs.contiguous(), act = b.actions.contiguous();
    std::vector<float> mo(static_cast<size_t>(mb * obs_dim_)), ma(static_cast<size_t>(mb * act_flat_)), ml(mb), mad(mb),
        mr(mb), mv(mb);
    UpdateSummary s;
    double clipfrac = 0;
    int64_t count = 0;
    for (int epoch = 0; epoch < ppo_.update_epochs; ++epoch) {
      rng_.shuffle(idx.data(), B);
      for (int64_t start = 0; start + mb <= B; start += mb) {
        for (int64_t k = 0; k < mb; ++k) {
          const int64_t j = idx[start + k];
          std::copy_n(obs.data_ptr<float>() + j * obs_dim_, obs_dim_, mo.data() + k * obs_dim_);
          std::copy_n(act.data_ptr<float>() + j * act_flat_, act_flat_, ma.data() + k * act_flat_);
          ml[k] = logp_old.data_ptr<float>()[j];
          mad[k] = adv.data_ptr<float>()[j];
          mr[k] = ret.data_ptr<float>()[j];
          mv[k] = values.data_ptr<float>()[j];
        }
        ControlMinibatch m{mb, mo.data(), ma.data(), ml.data(), mad.data(), mr.data(), mv.data()};
        s.last = learner_->update(m, lo, lr);
        clipfrac += s.last.clipfrac;
        ++count;
      }
      s.epochs = epoch + 1;
      if (ppo_.target_kl > 0 && s.last.approx_kl > ppo_.target_kl) break;
    }
    s.clipfrac = clipfrac / std::max<int64_t>(count, 1);
    s.explained_variance = algo::explained_variance(values, ret);
    return s;
  }

  BehaviorUpdateStats behavior_update() {
    Buffer b = linearize();
    if (!fast_phi_) return props_behavior_update(b.theta, phi_, b.obs, b.actions, props_, rng_);
    return fast_phi_->update(b.theta, b.obs.data_ptr<float>(), b.actions.data_ptr<float>(), b.obs.size(0), props_, rng_);
  }

  // Everything a bit-identical continuation needs: learner, φ, generators, environment state,
  // normalisers, the buffer rings and counters. (φ's Adam starts afresh at every behaviour update.)
  void save_checkpoint() {
    CheckpointWriter w;
    w.put_int("version", kPropsCheckpointVersion);
    w.put_ints("counters", {global_step_, update_, obs_ring_->size()});
    w.put_rng("rng", rng_);
    w.put_env("env", *envs_);
    w.put_floats("raw_obs", raw_obs_);
    recent_.save(w, "recent_returns");
    if (obs_norm_) w.put_rms("obs_norm", obs_norm_->stats());
    if (reward_scaler_) w.put_reward_scaler("reward_norm", *reward_scaler_);
    for (const auto& [key, ring] : rings()) w.put_floats("ring_" + key, ring->ordered());
    learner_->save(w.child("learner"));
    if (fast_phi_) fast_phi_->to_module(phi_);
    phi_->save(w.child("phi"));
    w.commit(ctx_.run_dir, update_, run_.keep_checkpoints);
  }

  // full = false: the learner and normaliser only (enough for `rlpp eval`).
  void load_state(const std::string& path, bool full) {
    CheckpointReader r(path);
    r.require_version(kPropsCheckpointVersion);
    learner_->load(r.child("learner"));
    if (obs_norm_) r.get_rms("obs_norm", &obs_norm_->stats());
    if (!full) return;
    const auto counters = r.get_ints("counters", 3);
    global_step_ = counters[0];
    update_ = counters[1];
    const int64_t ring_rows = counters[2];
    core::require(ring_rows >= 0 && ring_rows <= props_.buffer_batches * T_,
                  path + ": the buffer holds " + std::to_string(ring_rows) + " rows, more than this recipe's " +
                      std::to_string(props_.buffer_batches * T_));
    r.get_rng("rng", &rng_);
    r.get_env("env", envs_.get());
    raw_obs_ = r.get_floats("raw_obs", raw_obs_.size());
    recent_.load(r, "recent_returns");
    if (reward_scaler_) r.get_reward_scaler("reward_norm", reward_scaler_.get());
    for (const auto& [key, ring] : rings()) {
      const std::vector<float> rows = r.get_floats("ring_" + key, static_cast<size_t>(ring_rows * ring->row_floats()));
      ring->clear();
      for (int64_t k = 0; k < ring_rows; ++k) ring->push(rows.data() + k * ring->row_floats());
    }
    phi_->load(r.child("phi"));
    if (fast_phi_) fast_phi_->set(phi_);
  }

  // The buffer's rings by checkpoint key.
  std::vector<std::pair<std::string, RowRing*>> rings() const {
    std::vector<std::pair<std::string, RowRing*>> out = {{"obs", obs_ring_.get()},   {"act", act_ring_.get()},
                                                         {"rew", rew_ring_.get()},   {"term", term_ring_.get()},
                                                         {"trunc", trunc_ring_.get()}};
    if (final_ring_) out.emplace_back("final", final_ring_.get());
    return out;
  }

  static constexpr int64_t kPropsCheckpointVersion = 2;

  RunContext ctx_;
  RunOptions run_;
  EnvSection env_opts_;
  PpoOptions ppo_;
  PropsOptions props_;
  nn::MlpPolicyOptions policy_;
  std::string resolved_;
  LearnerConfig lc_;

  std::unique_ptr<env::VecEnv> envs_;
  std::unique_ptr<ActorCriticLearner> learner_;  // π_θ and V
  nn::ActorCritic phi_{nullptr};                 // π_φ (its critic is unused); the reference backend's
  std::unique_ptr<FastBehaviorPolicy> fast_phi_; // π_φ on the fast backend (then phi_ is only its archive form)
  std::unique_ptr<ObsNormalizer> obs_norm_;
  std::unique_ptr<RewardScaler> reward_scaler_;
  core::Rng rng_;

  int64_t T_ = 0, N_ = 0, obs_dim_ = 0, act_flat_ = 0;
  int64_t num_updates_ = 0, global_step_ = 0, update_ = 0;
  RecentReturns recent_;  // charts/return_mean_100

  // The buffer: the last b·T rows of N copies, time-major.
  std::unique_ptr<RowRing> obs_ring_;    // (rows, N·obs_dim) raw observations
  std::unique_ptr<RowRing> act_ring_;    // (rows, N·act_flat) unclipped actions
  std::unique_ptr<RowRing> rew_ring_;    // (rows, N) rewards (scaled when normalize_reward)
  std::unique_ptr<RowRing> term_ring_;   // (rows, N)
  std::unique_ptr<RowRing> trunc_ring_;  // (rows, N)
  std::unique_ptr<RowRing> final_ring_;  // (rows, N·obs_dim) raw final observations (bootstrap only)
  std::vector<float> raw_obs_;           // (N, obs_dim) the batch's current raw observations
};

}  // namespace

std::unique_ptr<Trainer> make_props_trainer(const core::Recipe& recipe, const RunContext& ctx) {
  return std::make_unique<PropsTrainer>(recipe, ctx);
}

}  // namespace rlpp::train
