// What the offline control trainers (bc, td3_bc, iql, cql, and the ones built on them) share, on
// the one run loop (run_loop.h):
//   * sections [run], [env], [dataset] (this file's DatasetOptions), [offline] (OfflineOptions,
//     with each algorithm's defaults) and the algorithm's own section;
//   * the dataset: a D4RL-layout file (d4rl_dataset.h) read and validated once, checked against
//     [env] (widths and recorded id: a mismatch is a UserError, exit 2), held in memory as a
//     read-only ReplayBuffer of one copy (n-step 1): a terminal stops bootstrapping
//     (discount = 0), a timeout does not (its next_observation is the true last one, and the
//     target bootstraps from it), as D4RL's qlearning_dataset and TD3+BC/IQL/CQL's loaders do;
//   * optional dataset preprocessing: observation normalisation with the dataset's mean and
//     std + 1e-3 (TD3+BC, arXiv 2106.06860 §5; applied to s and s', and at acting time), reward
//     scaling by 1000 / (max − min episode return) (IQL's locomotion setting, arXiv 2110.06169
//     appendix B);
//   * the generator every random draw comes from (minibatch rows, target noise, actor samples),
//     its state in the checkpoint with the counters and the trainer's networks, so a resumed run
//     is bit-identical (the dataset itself is not copied into checkpoints: its size and a CRC-32 of
//     its actions and rewards are, and a resume on another file is refused);
//   * the schedule: one loop update = offline.gradient_steps minibatch steps (one metrics row, the
//     unit of run.checkpoint_every); run.total_steps counts gradient steps; every
//     offline.eval_every updates (and after the last) the deterministic policy plays
//     offline.eval_episodes episodes of [env] (seed run.seed + 100, the same every time, as
//     TD3+BC's eval_policy) and the row gets eval/return and the D4RL-normalised eval/score
//     (episodes.h; reference returns from configs/d4rl_reference_returns.toml, absent for an env
//     that has none);
//   * the online phase (offline-to-online, offline.online_steps > 0; 0 = none, the run as before):
//     after the offline updates the run steps one copy of [env] (seed run.seed) with the
//     trainer's exploration action (explore(); only trainers that define it allow the phase:
//     iql, famo2o, expo, td3_bc, prdc, a2pr, cql, odice; bc refuses it) and trains on,
//     offline.updates_per_step gradient steps after each env step. Transitions go into one
//     replay buffer that starts as the dataset, sampled uniformly over dataset and
//     online rows together (IQL's train_finetune.py and FamO2O's family_train_finetune.py:
//     initialize_with_dataset, then insert; no separate online buffer, no mixing ratio), or with
//     offline.offline_ratio in [0, 1] a fixed share of each batch from the dataset (RLPD, EXPO). Online
//     rows get the dataset's preprocessing (observation normaliser, reward scale); a terminal
//     stops bootstrapping, a time-limit truncation does not (its next_obs is the true last
//     observation), as in the off-policy trainers. The online rows alone are stored apart so a
//     checkpoint holds them, the env and its generator, not the dataset. One online loop update =
//     offline.gradient_steps env steps (offline.online_steps must be a multiple of it); the row
//     adds charts/online_env_steps, charts/episodic_return, charts/episodes. Progress counts
//     gradient steps of the offline phase plus env steps of the online one; an evaluation is
//     always made at the end of the offline phase (the score before fine-tuning).
// A trainer adds its networks, act(), train_step() and their checkpoint, and explore() for the
// online phase. Continuous (bounded Box) actions only.
#pragma once
#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/core/rng.h"
#include "rlpp/train/env_section.h"
#include "rlpp/train/offpolicy/replay_buffer.h"
#include "rlpp/train/run_loop.h"

namespace rlpp::train::offline {

namespace metric {
inline constexpr const char* kEvalReturn = "eval/return";          // mean return of the evaluation episodes
inline constexpr const char* kEvalReturnStd = "eval/return_std";
inline constexpr const char* kEvalLength = "eval/length";
inline constexpr const char* kEvalScore = "eval/score";            // D4RL-normalised score of eval/return
inline constexpr const char* kGradientSteps = "charts/gradient_steps";  // since the start of the run
inline constexpr const char* kStepsPerSecond = "charts/SPS";       // gradient steps per second
inline constexpr const char* kActorLoss = "losses/actor_loss";
inline constexpr const char* kQf1Loss = "losses/qf1_loss";
inline constexpr const char* kQf2Loss = "losses/qf2_loss";
inline constexpr const char* kQfLoss = "losses/qf_loss";
inline constexpr const char* kQf1Values = "losses/qf1_values";
inline constexpr const char* kValueLoss = "losses/value_loss";     // IQL's expectile loss
inline constexpr const char* kValues = "losses/values";            // IQL: mean V(s)
inline constexpr const char* kBcLoss = "losses/bc_loss";           // mean (μ(s) − a)²
inline constexpr const char* kLambda = "losses/lambda";            // TD3+BC's λ
inline constexpr const char* kCqlPenalty = "losses/cql_penalty";   // CQL: mean of the two critics' penalties (before α)
inline constexpr const char* kAlpha = "losses/alpha";              // SAC temperature (CQL)
inline constexpr const char* kAlphaLoss = "losses/alpha_loss";
inline constexpr const char* kAdvWeight = "losses/adv_weight";     // IQL: mean clipped exp(β A)
inline constexpr const char* kActorLr = "charts/actor_lr";         // IQL's cosine-decayed actor lr
inline constexpr const char* kOnlineEnvSteps = "charts/online_env_steps";  // env steps of the online phase so far
}  // namespace metric

// The [dataset] section.
struct DatasetOptions {
  std::string path;  // a D4RL-layout HDF5 file (docs/datasets.md)

  void bind(core::Binder& b);
};

// The [offline] section. Defaults are each algorithm's, set before reading.
struct OfflineOptions {
  int batch_size = 256;
  double gamma = 0.99;
  int gradient_steps = 1000;        // gradient steps per loop update (one metrics row)
  int eval_every = 5;               // loop updates between evaluations (0 = only after the last)
  int eval_episodes = 10;
  bool normalize_observations = false;  // dataset mean / (std + 1e-3) (TD3+BC)
  bool normalize_rewards = false;       // r · 1000 / (max − min episode return) (IQL, locomotion)
  std::string reference_returns;        // "" = configs/d4rl_reference_returns.toml
  int64_t online_steps = 0;             // env steps of the online phase after the offline one (0 = none)
  int updates_per_step = 1;             // gradient steps after each online env step
  // Online phase: the share of each batch drawn from the dataset, the rest from the online rows
  // (RLPD's symmetric sampling: 0.5; arXiv 2302.02948); −1 = uniform over both together.
  double offline_ratio = -1;

  void bind(core::Binder& b);
};

// Observation statistics of TD3+BC (its utils.normalize_states): per component the mean and the
// population std + eps over the dataset's observations, in double. obs: (N, obs_dim).
struct ObsStats {
  std::vector<double> mean, std;  // (obs_dim)
};
ObsStats observation_stats(const std::vector<float>& obs, int64_t obs_dim, double eps);

// IQL's locomotion reward scale (its train_offline.normalize): 1000 / (max − min) over the
// dataset's episode returns (split at terminals | timeouts; a trailing unfinished episode counts).
// UserError when all episodes have the same return.
double iql_reward_scale(const std::vector<double>& episode_returns);

class OfflineRun : public LoopTrainer {
 public:
  EvalResult evaluate(const EvalRequest& req) override;

 protected:
  // Reads [run], [env], [dataset], [offline] (over `defaults`); seeds; reads and checks the dataset
  // and fills the transition store.
  OfflineRun(const core::Recipe& recipe, const RunContext& ctx, const OfflineOptions& defaults,
             const std::string& algorithm);

  // Last in the trainer's constructor, after recipe.check_all_used(): records the resolved recipe
  // (the shared sections, then `own`) and resumes when asked.
  void start(const core::Recipe& recipe, const toml::table& own);

  // The algorithm's deterministic policy: obs (n, obs_dim), already normalised when
  // offline.normalize_observations -> actions (n, act_dim) inside the box. Called without grad.
  virtual torch::Tensor act(const torch::Tensor& obs) = 0;
  // One gradient step on `batch` (obs, next_obs normalised; returns = r scaled; discount =
  // gamma · (1 − terminal); weights all 1). step_index: gradient steps done before this one.
  virtual void train_step(const offpolicy::ReplaySample& batch, int64_t step_index) = 0;
  // The exploration action of the online phase: obs (n, obs_dim) normalised -> actions (n, act_dim)
  // inside the box, random draws from rng_. Called without grad. A trainer that defines it returns
  // true from can_explore(); the others refuse offline.online_steps > 0.
  virtual bool can_explore() const { return false; }
  virtual torch::Tensor explore(const torch::Tensor& obs) { return act(obs); }
  // Whether the run is in its online phase (the next gradient step is an online one).
  bool online_phase() const { return update_ >= num_updates_; }
  // Values for the row beyond the accumulated means (e.g. a learning rate).
  virtual void add_row_values(core::MetricRow* row) {}
  // Networks, optimizers and anything learned (evaluation needs only the networks).
  virtual void save_model(CheckpointWriter& w) = 0;
  virtual void load_model(CheckpointReader& r) = 0;

  // The metrics a trainer reports as means over the row's gradient steps (NaN when none).
  void declare_metrics(const std::vector<const char*>& names);
  void accumulate(const char* name, double value);

  // Box bounds as tensors (A): (high − low)/2, (high + low)/2, low, high.
  torch::Tensor action_scale() const;
  torch::Tensor action_bias() const;
  torch::Tensor action_low() const;
  torch::Tensor action_high() const;
  // A (n, a) float tensor of standard normals drawn from rng_ (all randomness of a run goes
  // through rng_, whose state is in the checkpoint).
  torch::Tensor normal_noise(int64_t n, int64_t a);
  // A (n, a) float tensor of uniforms on [low_k, high_k] (per component k) from rng_.
  torch::Tensor uniform_actions(int64_t n, int64_t a);
  // All gradient steps of the run: offline ones plus online_steps · updates_per_step.
  int64_t total_gradient_steps() const {
    return num_updates_ * off_.gradient_steps + off_.online_steps * off_.updates_per_step;
  }
  int64_t gradient_steps_done() const { return gradient_steps_done_; }

  static void save_module(CheckpointWriter& w, const std::string& key, torch::nn::Module& m);
  static void load_module(CheckpointReader& r, const std::string& key, torch::nn::Module& m);
  static void save_optimizer(CheckpointWriter& w, const std::string& key, torch::optim::Optimizer& o);
  static void load_optimizer(CheckpointReader& r, const std::string& key, torch::optim::Optimizer& o);

  EnvSection env_opts_;
  DatasetOptions data_opts_;
  OfflineOptions off_;
  core::Rng rng_;
  int64_t obs_dim_ = 0, act_dim_ = 0;
  std::vector<float> low_, high_;  // (A) Box bounds

 private:
  LoopPosition position() const override;
  core::MetricRow step() override;
  void save_state(CheckpointWriter& w) override;
  void load_state(CheckpointReader& r, bool full) override;
  void on_start(core::MetricsLogger& metrics) override;
  std::optional<double> progress_value() const override;
  const char* rate_label() const override { return "grad steps/s"; }

  // Deterministic evaluation of the current policy (raw observations in).
  EvalResult evaluate_policy(int episodes, uint64_t seed);
  // One online env step: explore, store, then updates_per_step gradient steps.
  void online_env_step();
  // A batch drawn uniformly from the dataset's and the online rows together.
  offpolicy::ReplaySample sample_batch();

  std::unique_ptr<offpolicy::ReplayBuffer> data_;  // the dataset, read-only after construction
  std::vector<int64_t> fingerprint_;               // rows, obs_dim, act_dim, CRC-32 of actions and rewards
  std::vector<float> obs_mean_, obs_std_;          // (obs_dim) normaliser (mean 0, std 1 when off)
  bool have_reference_ = false;
  double ref_random_ = 0, ref_expert_ = 0;
  int64_t num_updates_ = 0, update_ = 0, gradient_steps_done_ = 0;  // num_updates_: offline ones
  // The online phase (built only when offline.online_steps > 0).
  int64_t num_online_updates_ = 0, online_env_steps_ = 0, episodes_ = 0;
  float reward_scale_ = 1.f;                          // the dataset's reward scale (1 when off)
  std::unique_ptr<env::VecEnv> env_;                  // one copy of [env]
  std::unique_ptr<offpolicy::ReplayBuffer> online_;   // the online transitions (capacity online_steps)
  std::vector<float> obs_, next_obs_, action_;        // (obs_dim), (obs_dim), (act_dim) scratch
  double ep_ret_sum_ = 0;                             // episodes that ended in this row
  int64_t ep_count_ = 0;
  double last_eval_ = std::nan("");
  struct Mean {
    const char* name;
    double sum = 0;
    int64_t count = 0;
  };
  std::vector<Mean> means_;
  std::chrono::steady_clock::time_point call_start_{};
  int64_t call_start_steps_ = 0;
};

}  // namespace rlpp::train::offline
