// What the on-policy control trainers (ppo, props) share, on the one run loop (run_loop.h):
//   * sections [run], [env], [ppo], [policy], and optionally [advantage] and [objective];
//   * the batch of environments, the learner (fast or LibTorch backend), observation and reward
//     normalisers, episode statistics, the generator, the counters and their checkpoint;
//   * advantages from the advantage registry: `[advantage] name = "gae"` (or "mc") with its own
//     options; without the section, gae with ppo.gamma, ppo.gae_lambda and ppo.bootstrap_truncated
//     (the same function call either way);
//   * the policy objective: without [objective], PPO's clip at ppo.clip_coef (either backend);
//     with `[objective] name = "…"`, any registered objective's per-sample loss, mean over the
//     minibatch (LibTorch backend; the fast backend implements PPO's clip only and says so);
//   * the minibatch update (epochs of shuffled minibatches, target-KL stop), the metrics row with
//     the names of metric_names.h, and deterministic evaluation;
//   * optionally `[record] path = "x.hdf5"`: every transition stepped through step_envs() written
//     as a D4RL-layout dataset (offline/rollout_recorder.h; rlpp's medium-replay). Off when absent.
// A control trainer adds only its data collection (ppo: rollouts; props: buffer + behaviour policy).
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "rlpp/algo/advantage.h"
#include "rlpp/algo/objective.h"
#include "rlpp/core/config.h"
#include "rlpp/env/vec_env.h"
#include "rlpp/train/actor_critic_learner.h"
#include "rlpp/train/env_section.h"
#include "rlpp/train/offline/rollout_recorder.h"
#include "rlpp/train/recent_returns.h"
#include "rlpp/train/run_loop.h"
#include "rlpp/train/running_mean_std.h"

namespace rlpp::train {

struct PpoOptions {
  int num_steps = 128;           // rollout length per environment copy
  double learning_rate = 2.5e-4;
  bool anneal_lr = true;         // linear decay to 0 over the run
  double gamma = 0.99;
  double gae_lambda = 0.95;
  int num_minibatches = 4;
  int update_epochs = 4;
  bool norm_adv = true;
  double clip_coef = 0.2;
  bool clip_vloss = true;
  double ent_coef = 0.01;
  double vf_coef = 0.5;
  double max_grad_norm = 0.5;
  double target_kl = 0.0;        // 0 = off; else stop the epochs once approx_kl exceeds it
  double adam_eps = 1e-5;
  bool bootstrap_truncated = false;  // add gamma * V(final_obs) on truncation (SB3 does, CleanRL does not)
  bool normalize_obs = false;
  bool normalize_reward = false;
  double obs_clip = 10.0;
  double reward_clip = 10.0;

  void bind(core::Binder& b);
};

// A batch the minibatch update trains on, flat and contiguous. B = rows.
struct ControlBatch {
  int64_t rows = 0;                   // B
  const float* obs = nullptr;         // (B, obs_dim) normalised observations the policy saw
  const float* actions = nullptr;     // (B, act_flat)
  const float* logp_old = nullptr;    // (B)
  const float* advantages = nullptr;  // (B)
  const float* returns = nullptr;     // (B)
  const float* values = nullptr;      // (B)
};

struct ControlUpdateSummary {
  UpdateStats last;               // the last minibatch's statistics
  double clipfrac = 0;            // mean over every minibatch
  double explained_variance = 0;  // of the values against the returns
  int epochs = 0;
};

// Episodes that ended during one update.
struct EpisodeSums {
  double ret = 0, len = 0;
  int count = 0;
};

class ControlRun : public LoopTrainer {
 public:
  EvalResult evaluate(const EvalRequest& req) override;
  bool data_parallel() const override { return true; }

 protected:
  // Reads [run], [env], [ppo], [policy], [advantage], [objective]; checks that the minibatches
  // divide the rollout; seeds; builds the environments, learner and normalisers. The trainer reads
  // its own section, then calls recipe.check_all_used().
  ControlRun(const core::Recipe& recipe, const RunContext& ctx);

  // The resolved recipe: every option of the shared sections, then `own` (the trainer's).
  std::string resolve(const core::Recipe& recipe, const toml::table& own) const;

  // Learning rate of the update about to run (linear annealing when ppo.anneal_lr).
  double learning_rate() const;
  // raw (n, obs_dim) -> y under the current statistics (not updated); a copy without normalisation.
  void normalize(const float* raw, int64_t n, float* y) const;
  // envs_->step(actions), recorded when the recipe has [record] (actions: (N, act_flat)).
  void step_envs(const float* actions);
  // After envs_->step(): writes terminated/truncated (N) as 0/1, counts the episodes that ended
  // into `eps`, and scales `rewards` (N) in place when ppo.normalize_reward.
  void record_step(float* rewards, float* terminated, float* truncated, EpisodeSums* eps);
  // Advantages and returns (T, N) of a time-major rollout (T, N) with next_value (N) and, when
  // truncations bootstrap, final_values (T, N).
  algo::AdvantageOutput advantages(const torch::Tensor& rewards, const torch::Tensor& values,
                                   const torch::Tensor& terminated, const torch::Tensor& truncated,
                                   const torch::Tensor& next_value, const torch::Tensor& final_values);
  // Data-parallel: after a rollout, the normalisers' statistics merged over the ranks (each rank
  // updates its own between syncs; see RunningMeanStd::sync). Nothing for a single process.
  void sync_normalizers();
  // Whether V(final_obs) of truncated steps is needed by the advantage estimator.
  bool bootstraps_truncation() const { return bootstrap_truncated_; }
  // ppo.update_epochs passes of shuffled minibatches over `batch` (one learner update each).
  ControlUpdateSummary minibatch_update(const ControlBatch& batch, double lr);
  // The row every control trainer logs (names: metric_names.h), once per update: the episodes
  // that ended (`eps`, of every rank when data-parallel) join the episode window.
  core::MetricRow control_row(double lr, EpisodeSums eps, const ControlUpdateSummary& u);
  // Environment copies seeded by reset(): rank r's copy i is seeded as copy r·N + i of one
  // process with every rank's copies.
  uint64_t env_seed() const { return static_cast<uint64_t>(run_.seed) + static_cast<uint64_t>(rank() * N_); }
  // Environment steps of one step of the batch (every rank's copies).
  int64_t steps_per_batch_step() const { return N_ * world_size(); }

  // Checkpoint: shared state (counters, episode window, observation statistics, the learner) and
  // each rank's own (its generator, environments and reward scaler). A trainer adds its own.
  void save_state(CheckpointWriter& w) override;
  void load_state(CheckpointReader& r, bool full) override;
  void save_rank_state(CheckpointWriter& w) override;
  void load_rank_state(CheckpointReader& r) override;
  // CRC-32 of the learner's weights (and of the observation statistics).
  std::string replica_fingerprint() override;
  std::string why_ranks_fixed(CheckpointReader&) const override { return "each rank's environments are in it"; }

  LoopPosition position() const override;
  void on_start(core::MetricsLogger& metrics) override;
  void on_finish() override;  // the recorded dataset's final write
  std::optional<double> progress_value() const override;

  EnvSection env_opts_;
  PpoOptions ppo_;
  nn::MlpPolicyOptions policy_;
  LearnerConfig lc_;

  std::unique_ptr<env::VecEnv> envs_;
  std::unique_ptr<ActorCriticLearner> learner_;  // π_θ and V
  std::unique_ptr<ObsNormalizer> obs_norm_;
  std::unique_ptr<RewardScaler> reward_scaler_;
  std::unique_ptr<algo::AdvantageEstimator> advantage_;
  std::unique_ptr<algo::PolicyObjective> objective_;  // {} = PPO's clip at ppo.clip_coef
  std::unique_ptr<offline::RolloutRecorder> recorder_;  // {} unless [record]
  core::Rng rng_;

  int64_t T_ = 0, N_ = 0, obs_dim_ = 0, act_flat_ = 0;  // rollout length, copies, observation and action widths
  int64_t num_updates_ = 0, global_step_ = 0, update_ = 0, episodes_ = 0;
  RecentReturns recent_;  // charts/return_mean_100

 private:
  // Data-parallel: an epoch's statistics (its last minibatch's, and the running clip-fraction sum)
  // averaged over the ranks, each trained on an equal share of the global minibatch; and the
  // explained variance over every rank's rows.
  void average_over_ranks(UpdateStats* u, double* clipfrac_sum);
  // (mean, std) of the advantages of each of an epoch's minibatches (rows idx[k·mb, (k+1)·mb) of
  // every rank), for the learner's whitening.
  std::vector<std::pair<double, double>> global_whitening(const float* adv, const std::vector<int64_t>& idx,
                                                          int64_t mb);
  double explained_variance(const float* values, const float* returns, int64_t n);
  // The returns of episodes ended since the last row (of every rank, in rank order) into the window.
  void gather_episodes(EpisodeSums* eps);
  core::MetricRow control_row_values(double lr, const EpisodeSums& eps, const ControlUpdateSummary& u) const;
  // Data-parallel: perf/comm_share, the share of the time since the last row spent in collectives.
  void add_comm_share(core::MetricRow* row);

  static constexpr uint64_t kRankSeedStride = 1000003;  // rank r's generator: seed + r * stride

  bool bootstrap_truncated_ = false;
  std::vector<double> ended_returns_;  // this rank's episodes ended since the last row
  toml::table advantage_section_, objective_section_, record_section_;  // resolved, when given
  std::chrono::steady_clock::time_point call_start_{}, last_row_time_{};
  double last_row_busy_ = 0;
  int64_t call_start_step_ = 0;
  std::vector<uint8_t> done_;  // (N)
  // Minibatch gather buffers (M = rows / num_minibatches).
  std::vector<float> mb_obs_, mb_act_, mb_logp_, mb_adv_, mb_ret_, mb_val_;
};

}  // namespace rlpp::train
