#include "rlpp/train/ppo_trainer.h"

#include <torch/torch.h>

#include "rlpp/train/control_run.h"

namespace rlpp::train {

namespace {

// PPO: a rollout of T steps of N copies under π_θ, then ControlRun's advantages and minibatch
// update. Everything else (environments, learner, normalisers, the loop) is ControlRun's.
class PpoTrainer : public ControlRun {
 public:
  PpoTrainer(const core::Recipe& recipe, const RunContext& ctx) : ControlRun(recipe, ctx) {
    recipe.check_all_used();
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
    scratch_.resize(static_cast<size_t>(N_));

    envs_->reset(env_seed());
    observe(envs_->obs());
    finish_setup(resolve(recipe, {}));
  }

 private:
  int64_t checkpoint_version() const override { return kPpoCheckpointVersion; }

  core::MetricRow step() override {
    const double lr = learning_rate();
    EpisodeSums eps;
    collect_rollout(&eps);
    sync_normalizers();
    const algo::AdvantageOutput a = compute_advantages();
    const torch::Tensor adv = a.advantages.contiguous(), ret = a.returns.contiguous();
    ++update_;
    const ControlBatch batch{T_ * N_,           obs_buf_.data(),      act_buf_.data(), logp_buf_.data(),
                             adv.data_ptr<float>(), ret.data_ptr<float>(), val_buf_.data()};
    return control_row(lr, eps, minibatch_update(batch, lr));
  }

  // Takes the batch's current raw observations into next_obs_ (normalised, statistics updated).
  void observe(const float* raw) {
    if (obs_norm_) {
      obs_norm_->normalize(raw, N_, /*update=*/true, next_obs_.data());
    } else {
      std::copy(raw, raw + N_ * obs_dim_, next_obs_.begin());
    }
  }

  void collect_rollout(EpisodeSums* eps) {
    torch::NoGradGuard no_grad;
    for (int64_t t = 0; t < T_; ++t) {
      global_step_ += steps_per_batch_step();
      float* obs_t = obs_buf_.data() + t * N_ * obs_dim_;
      std::copy(next_obs_.begin(), next_obs_.end(), obs_t);
      float* act_t = act_buf_.data() + t * N_ * act_flat_;
      learner_->act(obs_t, N_, rng_, /*deterministic=*/false, act_t, logp_buf_.data() + t * N_,
                    val_buf_.data() + t * N_);
      step_envs(act_t);  // recorded when [record]

      float* rew_t = rew_buf_.data() + t * N_;
      std::copy(envs_->reward(), envs_->reward() + N_, rew_t);
      record_step(rew_t, term_buf_.data() + t * N_, trunc_buf_.data() + t * N_, eps);
      std::fill_n(final_val_buf_.data() + t * N_, N_, 0.f);
      bool any_bootstrap = false;
      for (int64_t i = 0; i < N_; ++i) any_bootstrap = any_bootstrap || (envs_->truncated()[i] && !envs_->terminated()[i]);
      if (bootstraps_truncation() && any_bootstrap) {
        normalize(envs_->final_obs(), N_, final_obs_norm_.data());
        learner_->value(final_obs_norm_.data(), N_, scratch_.data());
        for (int64_t i = 0; i < N_; ++i) {
          if (envs_->truncated()[i] && !envs_->terminated()[i]) final_val_buf_[t * N_ + i] = scratch_[i];
        }
      }
      observe(envs_->obs());
    }
  }

  algo::AdvantageOutput compute_advantages() {
    torch::NoGradGuard no_grad;
    std::vector<float> next_value(static_cast<size_t>(N_));
    learner_->value(next_obs_.data(), N_, next_value.data());
    auto view = [&](std::vector<float>& v, std::vector<int64_t> shape) {
      return torch::from_blob(v.data(), shape, torch::kFloat32);
    };
    return advantages(view(rew_buf_, {T_, N_}), view(val_buf_, {T_, N_}), view(term_buf_, {T_, N_}),
                      view(trunc_buf_, {T_, N_}), view(next_value, {N_}), view(final_val_buf_, {T_, N_}));
  }

  void save_rank_state(CheckpointWriter& w) override {
    ControlRun::save_rank_state(w);
    w.put_floats("next_obs", next_obs_);
  }

  void load_rank_state(CheckpointReader& r) override {
    ControlRun::load_rank_state(r);
    next_obs_ = r.get_floats("next_obs", next_obs_.size());
  }

  static constexpr int64_t kPpoCheckpointVersion = 4;

  // Rollout storage, time-major. T = num_steps, N = num_envs.
  std::vector<float> obs_buf_;        // (T, N, obs_dim) normalised observations the policy saw
  std::vector<float> act_buf_;        // (T, N, act_flat) unclipped actions
  std::vector<float> logp_buf_;       // (T, N)
  std::vector<float> val_buf_;        // (T, N)
  std::vector<float> rew_buf_;        // (T, N) (scaled when normalize_reward)
  std::vector<float> term_buf_;       // (T, N)
  std::vector<float> trunc_buf_;      // (T, N)
  std::vector<float> final_val_buf_;  // (T, N) V(final_obs) where truncated (bootstrap only)
  std::vector<float> next_obs_;       // (N, obs_dim)
  std::vector<float> final_obs_norm_; // (N, obs_dim)
  std::vector<float> scratch_;        // (N)
};

}  // namespace

std::unique_ptr<Trainer> make_ppo_trainer(const core::Recipe& recipe, const RunContext& ctx) {
  return std::make_unique<PpoTrainer>(recipe, ctx);
}

}  // namespace rlpp::train
