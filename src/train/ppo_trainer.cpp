#include "rlpp/train/ppo_trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <deque>
#include <numeric>
#include <sstream>

#include "rlpp/algo/advantage.h"
#include "rlpp/algo/stats.h"
#include "rlpp/core/error.h"
#include "rlpp/core/metrics.h"
#include "rlpp/core/progress.h"
#include "rlpp/env/vec_env.h"
#include "rlpp/train/actor_critic_learner.h"
#include "rlpp/train/checkpoint.h"
#include "rlpp/train/control_eval.h"
#include "rlpp/train/recent_returns.h"
#include "rlpp/train/env_section.h"
#include "rlpp/train/running_mean_std.h"

namespace rlpp::train {

void PpoOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.integer("num_steps", num_steps, "rollout length per environment copy", Bounds::closed(1, 1 << 20));
  b.num("learning_rate", learning_rate, "Adam learning rate", Bounds::positive());
  b.flag("anneal_lr", anneal_lr, "decay the learning rate linearly to 0");
  b.num("gamma", gamma, "discount factor", Bounds::unit());
  b.num("gae_lambda", gae_lambda, "GAE lambda", Bounds::unit());
  b.integer("num_minibatches", num_minibatches, "minibatches per epoch", Bounds::closed(1, 1 << 20));
  b.integer("update_epochs", update_epochs, "epochs over each rollout", Bounds::closed(1, 1000));
  b.flag("norm_adv", norm_adv, "normalise advantages per minibatch");
  b.num("clip_coef", clip_coef, "PPO ratio clip epsilon", Bounds::closed(0, 10));
  b.flag("clip_vloss", clip_vloss, "clip the value loss around the old values");
  b.num("ent_coef", ent_coef, "entropy bonus coefficient", Bounds::non_negative());
  b.num("vf_coef", vf_coef, "value loss coefficient", Bounds::non_negative());
  b.num("max_grad_norm", max_grad_norm, "global gradient-norm clip", Bounds::positive());
  b.num("target_kl", target_kl, "stop the epochs when approx_kl exceeds this (0 = off)", Bounds::non_negative());
  b.num("adam_eps", adam_eps, "Adam epsilon", Bounds::positive());
  b.flag("bootstrap_truncated", bootstrap_truncated, "bootstrap V(final_obs) on truncation");
  b.flag("normalize_obs", normalize_obs, "running mean/std observation normalisation");
  b.flag("normalize_reward", normalize_reward, "scale rewards by the running std of the discounted return");
  b.num("obs_clip", obs_clip, "clip of normalised observations", Bounds::positive());
  b.num("reward_clip", reward_clip, "clip of scaled rewards", Bounds::positive());
}

namespace {

class PpoTrainer : public Trainer {
 public:
  PpoTrainer(const core::Recipe& recipe, const RunContext& ctx) : ctx_(ctx) {
    run_ = core::read_options<RunOptions>(recipe, "run");
    env_opts_ = core::read_options<EnvSection>(recipe, "env");
    ppo_ = core::read_options<PpoOptions>(recipe, "ppo");
    policy_ = core::read_options<nn::MlpPolicyOptions>(recipe, "policy");
    recipe.check_all_used();

    batch_size_ = static_cast<int64_t>(ppo_.num_steps) * env_opts_.num_envs;
    core::require(batch_size_ % ppo_.num_minibatches == 0,
                  recipe.origin("ppo.num_minibatches") + ": ppo.num_minibatches = " +
                      std::to_string(ppo_.num_minibatches) + " must divide num_steps * num_envs = " +
                      std::to_string(batch_size_));
    num_updates_ = run_.total_steps / batch_size_;
    core::require(num_updates_ >= 1, recipe.origin("run.total_steps") + ": run.total_steps = " +
                                         std::to_string(run_.total_steps) + " is less than one rollout (" +
                                         std::to_string(batch_size_) + " steps)");

    torch::set_num_threads(run_.torch_threads);
    torch::manual_seed(static_cast<uint64_t>(run_.seed));
    rng_.reseed(static_cast<uint64_t>(run_.seed));

    envs_ = env_opts_.make();
    const env::Spec& spec = envs_->spec();
    N_ = envs_->num_envs();
    T_ = ppo_.num_steps;
    obs_dim_ = envs_->obs_dim();
    act_flat_ = envs_->act_dim();

    LearnerConfig lc;
    lc.obs_dim = obs_dim_;
    lc.discrete = spec.action.is_discrete();
    lc.act_dim = lc.discrete ? spec.action.n : spec.action.dim;
    lc.policy = policy_;
    lc.adam_eps = ppo_.adam_eps;
    learner_ = make_actor_critic_learner(lc);

    if (ppo_.normalize_obs) obs_norm_ = std::make_unique<ObsNormalizer>(obs_dim_, ppo_.obs_clip);
    if (ppo_.normalize_reward) reward_scaler_ = std::make_unique<RewardScaler>(N_, ppo_.gamma, ppo_.reward_clip);

    obs_buf_.resize(static_cast<size_t>(T_ * N_ * obs_dim_));
    act_buf_.resize(static_cast<size_t>(T_ * N_ * act_flat_));
    logp_buf_.resize(static_cast<size_t>(T_ * N_));
    val_buf_.resize(logp_buf_.size());
    rew_buf_.resize(logp_buf_.size());
    term_buf_.resize(logp_buf_.size());
    trunc_buf_.resize(logp_buf_.size());
    final_val_buf_.resize(logp_buf_.size());
    next_obs_.resize(static_cast<size_t>(N_ * obs_dim_));
    final_obs_norm_.resize(next_obs_.size());

    envs_->reset(static_cast<uint64_t>(run_.seed));
    observe(envs_->obs(), /*update_stats=*/true);

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
    std::ostream null_out(nullptr);  // a stream with no buffer discards what is written
    core::Progress progress(num_updates_ * batch_size_, ctx_.quiet ? std::optional<bool>(false) : std::nullopt,
                            ctx_.quiet ? 1e30 : run_.log_interval_s, ctx_.quiet ? null_out : std::cout);
    const auto start = std::chrono::steady_clock::now();
    const int64_t start_step = global_step_;
    int64_t updates_this_call = 0;
    bool finished = update_ >= num_updates_;
    while (!finished && !stop.load()) {
      ++update_;
      const double frac = 1.0 - static_cast<double>(update_ - 1) / static_cast<double>(num_updates_);
      const double lr = ppo_.anneal_lr ? frac * ppo_.learning_rate : ppo_.learning_rate;

      EpisodeSums eps;
      collect_rollout(&eps);
      compute_advantages();
      const Losses losses = optimize(lr);

      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double sps = static_cast<double>(global_step_ - start_step) / std::max(elapsed, 1e-9);
      const double nan = std::nan("");
      std::vector<std::pair<std::string, double>> row = {
          {"charts/learning_rate", lr},
          {"charts/episodic_return", eps.count ? eps.ret / eps.count : nan},
          {"charts/episodic_length", eps.count ? eps.len / eps.count : nan},
          {"charts/episodes", static_cast<double>(episodes_)},
          {"charts/return_mean_100", recent_.mean()},
          {"charts/SPS", sps},
          {"losses/value_loss", losses.last.value_loss},
          {"losses/policy_loss", losses.last.policy_loss},
          {"losses/entropy", losses.last.entropy},
          {"losses/old_approx_kl", losses.last.old_approx_kl},
          {"losses/approx_kl", losses.last.approx_kl},
          {"losses/clipfrac", losses.clipfrac},
          {"losses/explained_variance", losses.explained_variance},
          {"losses/grad_norm", losses.last.grad_norm},
          {"losses/epochs", static_cast<double>(losses.epochs)},
      };
      metrics.log(global_step_, row);
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
                                   [this](const float* x, int64_t n, float* y) { normalize_obs(x, n, y); });
  }

  void load_checkpoint(const std::string& path) override { load_state(path, /*full=*/false); }

 private:
  struct EpisodeSums {
    double ret = 0, len = 0;
    int count = 0;
  };
  struct Losses {
    UpdateStats last;
    double clipfrac = 0;
    double explained_variance = 0;
    int epochs = 0;
  };

  std::string resolve(const core::Recipe& recipe) const {
    toml::table out;
    core::write_options(run_, &out, "run");
    core::write_options(env_opts_, &out, "env");
    core::write_options(ppo_, &out, "ppo");
    core::write_options(policy_, &out, "policy");
    std::ostringstream s;
    s << "# Resolved recipe (every option, defaults filled in), from " << recipe.source() << "\n"
      << core::to_toml_text(out) << "\n";
    return s.str();
  }

  // x (n, obs_dim) raw -> y normalised (or copied when normalisation is off); stats frozen.
  void normalize_obs(const float* x, int64_t n, float* y) {
    if (obs_norm_) {
      obs_norm_->normalize(x, n, /*update=*/false, y);
    } else {
      std::copy(x, x + n * obs_dim_, y);
    }
  }

  // Takes the batch's current raw observations into next_obs_ (normalised, stats updated).
  void observe(const float* raw, bool update_stats) {
    if (obs_norm_) {
      obs_norm_->normalize(raw, N_, update_stats, next_obs_.data());
    } else {
      std::copy(raw, raw + N_ * obs_dim_, next_obs_.begin());
    }
  }

  void collect_rollout(EpisodeSums* eps) {
    torch::NoGradGuard no_grad;
    for (int64_t t = 0; t < T_; ++t) {
      global_step_ += N_;
      float* obs_t = obs_buf_.data() + t * N_ * obs_dim_;
      std::copy(next_obs_.begin(), next_obs_.end(), obs_t);
      float* act_t = act_buf_.data() + t * N_ * act_flat_;
      learner_->act(obs_t, N_, rng_, /*deterministic=*/false, act_t, logp_buf_.data() + t * N_,
                    val_buf_.data() + t * N_);
      envs_->step(act_t);

      float* rew_t = rew_buf_.data() + t * N_;
      std::copy(envs_->reward(), envs_->reward() + N_, rew_t);
      done_.assign(static_cast<size_t>(N_), 0);
      bool any_bootstrap = false;
      for (int64_t i = 0; i < N_; ++i) {
        const bool term = envs_->terminated()[i], trunc = envs_->truncated()[i];
        term_buf_[t * N_ + i] = term ? 1.f : 0.f;
        trunc_buf_[t * N_ + i] = trunc ? 1.f : 0.f;
        final_val_buf_[t * N_ + i] = 0.f;
        done_[i] = term || trunc;
        any_bootstrap = any_bootstrap || (trunc && !term);
        if (done_[i]) {
          const double r = envs_->episode_return()[i];
          eps->ret += r;
          eps->len += envs_->episode_length()[i];
          eps->count += 1;
          ++episodes_;
          recent_.push(r);
        }
      }
      if (reward_scaler_) reward_scaler_->scale(rew_t, done_.data());
      if (ppo_.bootstrap_truncated && any_bootstrap) {
        normalize_obs(envs_->final_obs(), N_, final_obs_norm_.data());
        learner_->value(final_obs_norm_.data(), N_, final_val_scratch(N_));
        for (int64_t i = 0; i < N_; ++i) {
          if (envs_->truncated()[i] && !envs_->terminated()[i]) final_val_buf_[t * N_ + i] = scratch_[i];
        }
      }
      observe(envs_->obs(), /*update_stats=*/true);
    }
  }

  float* final_val_scratch(int64_t n) {
    scratch_.resize(static_cast<size_t>(n));
    return scratch_.data();
  }

  void compute_advantages() {
    torch::NoGradGuard no_grad;
    std::vector<float> next_value(static_cast<size_t>(N_));
    learner_->value(next_obs_.data(), N_, next_value.data());
    auto from = [&](std::vector<float>& v, std::vector<int64_t> shape) {
      return torch::from_blob(v.data(), shape, torch::kFloat32);
    };
    algo::GaeInput in;
    in.rewards = from(rew_buf_, {T_, N_});
    in.values = from(val_buf_, {T_, N_});
    in.terminated = from(term_buf_, {T_, N_});
    in.truncated = from(trunc_buf_, {T_, N_});
    in.next_value = from(next_value, {N_});
    if (ppo_.bootstrap_truncated) in.final_values = from(final_val_buf_, {T_, N_});
    algo::GaeOptions go;
    go.gamma = ppo_.gamma;
    go.lambda = ppo_.gae_lambda;
    go.bootstrap_truncated = ppo_.bootstrap_truncated;
    const algo::GaeOutput out = algo::gae(in, go);
    const torch::Tensor adv = out.advantages.contiguous();
    const torch::Tensor ret = out.returns.contiguous();
    adv_.assign(adv.data_ptr<float>(), adv.data_ptr<float>() + T_ * N_);
    ret_.assign(ret.data_ptr<float>(), ret.data_ptr<float>() + T_ * N_);
  }

  Losses optimize(double lr) {
    PpoLossOptions lo;
    lo.clip_coef = ppo_.clip_coef;
    lo.clip_vloss = ppo_.clip_vloss;
    lo.ent_coef = ppo_.ent_coef;
    lo.vf_coef = ppo_.vf_coef;
    lo.max_grad_norm = ppo_.max_grad_norm;
    lo.norm_adv = ppo_.norm_adv;

    const int64_t mb_size = batch_size_ / ppo_.num_minibatches;
    std::vector<int64_t> idx(static_cast<size_t>(batch_size_));
    std::iota(idx.begin(), idx.end(), 0);
    mb_obs_.resize(static_cast<size_t>(mb_size * obs_dim_));
    mb_act_.resize(static_cast<size_t>(mb_size * act_flat_));
    mb_logp_.resize(mb_size);
    mb_adv_.resize(mb_size);
    mb_ret_.resize(mb_size);
    mb_val_.resize(mb_size);

    Losses out;
    double clipfrac_sum = 0;
    int64_t num_mb = 0;
    for (int epoch = 0; epoch < ppo_.update_epochs; ++epoch) {
      rng_.shuffle(idx.data(), batch_size_);
      for (int64_t start = 0; start < batch_size_; start += mb_size) {
        for (int64_t k = 0; k < mb_size; ++k) {
          const int64_t j = idx[start + k];
          std::copy_n(obs_buf_.data() + j * obs_dim_, obs_dim_, mb_obs_.data() + k * obs_dim_);
          std::copy_n(act_buf_.data() + j * act_flat_, act_flat_, mb_act_.data() + k * act_flat_);
          mb_logp_[k] = logp_buf_[j];
          mb_adv_[k] = adv_[j];
          mb_ret_[k] = ret_[j];
          mb_val_[k] = val_buf_[j];
        }
        ControlMinibatch mb;
        mb.size = mb_size;
        mb.obs = mb_obs_.data();
        mb.actions = mb_act_.data();
        mb.logp_old = mb_logp_.data();
        mb.advantages = mb_adv_.data();
        mb.returns = mb_ret_.data();
        mb.values_old = mb_val_.data();
        out.last = learner_->update(mb, lo, lr);
        clipfrac_sum += out.last.clipfrac;
        ++num_mb;
      }
      out.epochs = epoch + 1;
      if (ppo_.target_kl > 0 && out.last.approx_kl > ppo_.target_kl) break;
    }
    out.clipfrac = clipfrac_sum / static_cast<double>(num_mb);
    out.explained_variance = algo::explained_variance(
        torch::from_blob(val_buf_.data(), {T_ * N_}), torch::from_blob(ret_.data(), {T_ * N_}));
    return out;
  }

  void save_checkpoint() {
    CheckpointWriter w;
    w.put_int("version", kPpoCheckpointVersion);
    w.put_ints("counters", {global_step_, update_, episodes_});
    w.put_rng("rng", rng_);
    w.put_env("env", *envs_);
    w.put_floats("next_obs", next_obs_);
    recent_.save(w, "recent_returns");
    if (obs_norm_) w.put_rms("obs_norm", obs_norm_->stats());
    if (reward_scaler_) w.put_reward_scaler("reward_norm", *reward_scaler_);
    learner_->save(w.child("learner"));
    w.commit(ctx_.run_dir, update_, run_.keep_checkpoints);
  }

  void load_state(const std::string& path, bool full) {
    CheckpointReader r(path);
    r.require_version(kPpoCheckpointVersion);
    learner_->load(r.child("learner"));
    if (obs_norm_) r.get_rms("obs_norm", &obs_norm_->stats());
    if (!full) return;
    const auto counters = r.get_ints("counters", 3);
    global_step_ = counters[0];
    update_ = counters[1];
    episodes_ = counters[2];
    r.get_rng("rng", &rng_);
    r.get_env("env", envs_.get());
    next_obs_ = r.get_floats("next_obs", next_obs_.size());
    recent_.load(r, "recent_returns");
    if (reward_scaler_) r.get_reward_scaler("reward_norm", reward_scaler_.get());
  }

  static constexpr int64_t kPpoCheckpointVersion = 2;

  RunContext ctx_;
  RunOptions run_;
  EnvSection env_opts_;
  PpoOptions ppo_;
  nn::MlpPolicyOptions policy_;
  std::string resolved_;

  std::unique_ptr<env::VecEnv> envs_;
  std::unique_ptr<ActorCriticLearner> learner_;
  std::unique_ptr<ObsNormalizer> obs_norm_;
  std::unique_ptr<RewardScaler> reward_scaler_;
  core::Rng rng_;

  int64_t T_ = 0, N_ = 0, obs_dim_ = 0, act_flat_ = 0;
  int64_t batch_size_ = 0, num_updates_ = 0;
  int64_t global_step_ = 0, update_ = 0, episodes_ = 0;
  RecentReturns recent_;  // charts/return_mean_100

  // Rollout storage, time-major. T = num_steps, N = num_envs.
  std::vector<float> obs_buf_;        // (T, N, obs_dim) normalised observations the policy saw
  std::vector<float> act_buf_;        // (T, N, act_flat) unclipped actions
  std::vector<float> logp_buf_;       // (T, N)
  std::vector<float> val_buf_;        // (T, N)
  std::vector<float> rew_buf_;        // (T, N) (scaled when normalize_reward)
  std::vector<float> term_buf_;       // (T, N)
  std::vector<float> trunc_buf_;      // (T, N)
  std::vector<float> final_val_buf_;  // (T, N) V(final_obs) where truncated (bootstrap only)
  std::vector<float> adv_, ret_;      // (T, N)
  std::vector<float> next_obs_;       // (N, obs_dim)
  std::vector<float> final_obs_norm_; // (N, obs_dim)
  std::vector<float> scratch_;        // (N)
  std::vector<uint8_t> done_;         // (N)
  // Minibatch gather buffers (M = batch / num_minibatches).
  std::vector<float> mb_obs_, mb_act_, mb_logp_, mb_adv_, mb_ret_, mb_val_;
};

}  // namespace

std::unique_ptr<Trainer> make_ppo_trainer(const core::Recipe& recipe, const RunContext& ctx) {
  return std::make_unique<PpoTrainer>(recipe, ctx);
}

}  // namespace rlpp::train
