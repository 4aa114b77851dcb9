// What the off-policy control trainers (sac, td3, dqn) share, on the one run loop (run_loop.h):
//   * sections [run], [env], [offpolicy] (this file's OffPolicyOptions, with each algorithm's
//     defaults), [replay] (replay_buffer.h) and the algorithm's own section;
//   * the batch of environments, the replay buffer, the generator every random draw comes from
//     (warm-up actions, exploration noise, ε-greedy, replay sampling, the actor's noise), the
//     episode statistics, counters, the metrics row and deterministic evaluation;
//   * the schedule, CleanRL's (counted in steps of the batch, i.e. environment steps when
//     num_envs = 1): at batch step t (0-based) act — uniformly at random while t < learning_starts
//     when the algorithm asks for it (sac, td3), else through the algorithm — step the copies,
//     store the transitions (the true final observation where an episode ended), then, when
//     t > learning_starts and t % train_frequency == 0, `gradient_steps` times: sample a batch,
//     train_step(); then after_step(t) (target networks on their own clock);
//   * optionally offline data in every minibatch ([replay] offline_dataset, offline_mix.h): the
//     batch is round(offline_ratio · B) rows of the file, drawn first, then the rest from the
//     replay buffer (uniform, n-step 1; prioritized replay and n-step returns are refused with it).
// One loop update = offpolicy.steps_per_update batch steps: one metrics row, the unit of
// run.checkpoint_every. A trainer adds its networks, act(), train_step() and their checkpoint.
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/env/vec_env.h"
#include "rlpp/train/env_section.h"
#include "rlpp/train/offpolicy/networks.h"
#include "rlpp/train/offpolicy/offline_mix.h"
#include "rlpp/train/offpolicy/replay_buffer.h"
#include "rlpp/train/recent_returns.h"
#include "rlpp/train/run_loop.h"

namespace rlpp::train::offpolicy {

// Metric names of the off-policy trainers (CleanRL's spellings); the run's progress names
// (charts/*) are metric_names.h's.
namespace metric {
inline constexpr const char* kQf1Loss = "losses/qf1_loss";
inline constexpr const char* kQf2Loss = "losses/qf2_loss";
inline constexpr const char* kQfLoss = "losses/qf_loss";        // the sum the critic optimizer steps on
inline constexpr const char* kQf1Values = "losses/qf1_values";  // mean Q1(s, a) of the sampled batch
inline constexpr const char* kQf2Values = "losses/qf2_values";
inline constexpr const char* kActorLoss = "losses/actor_loss";
inline constexpr const char* kAlpha = "losses/alpha";           // SAC's entropy temperature
inline constexpr const char* kAlphaLoss = "losses/alpha_loss";
inline constexpr const char* kTdLoss = "losses/td_loss";        // DQN
inline constexpr const char* kQValues = "losses/q_values";      // DQN: mean Q(s, a) of the batch
inline constexpr const char* kEpsilon = "charts/epsilon";       // DQN's exploration rate
inline constexpr const char* kGradientSteps = "charts/gradient_steps";  // since the start of the run
}  // namespace metric

// The [offpolicy] section. Defaults are each algorithm's (CleanRL's), set before reading.
struct OffPolicyOptions {
  int64_t buffer_size = 1000000;  // replay capacity (transitions of all copies)
  int batch_size = 256;
  double gamma = 0.99;
  int64_t learning_starts = 5000;  // batch steps before the first gradient step
  int train_frequency = 1;         // batch steps between training phases
  int gradient_steps = 1;          // gradient steps per training phase (update-to-data ratio)
  int steps_per_update = 1000;     // batch steps per loop update (one metrics row)

  void bind(core::Binder& b);
};

// The next observation of each copy's last transition, after envs.step(): the true final
// observation where the episode ended (terminated or truncated), else the current one (auto-reset
// has already put the next episode's first observation in obs() for the ended copies).
// next_obs: (N, obs_dim).
void transition_next_obs(const env::VecEnv& envs, float* next_obs);

// Reads `section` of `recipe` into `opts`, whose current values are the defaults (validates,
// refuses unknown keys).
template <class T>
void read_into(const core::Recipe& recipe, const std::string& section, T* opts) {
  core::Binder b = core::Binder::reader(recipe, section);
  opts->bind(b);
  b.finish();
  recipe.mark_used(section);
}

class OffPolicyRun : public LoopTrainer {
 public:
  EvalResult evaluate(const EvalRequest& req) override;

 protected:
  // Reads [run], [env], [offpolicy] (over `defaults`) and [replay]; seeds; builds the
  // environments and the replay buffer. `discrete`: whether the algorithm needs a discrete
  // action space (else a bounded Box); anything else is a UserError naming env.name.
  OffPolicyRun(const core::Recipe& recipe, const RunContext& ctx, const OffPolicyOptions& defaults, bool discrete,
               const std::string& algorithm);

  // Last in the trainer's constructor, after recipe.check_all_used(): resets the environments,
  // records the resolved recipe (the shared sections, then `own`) and resumes when asked.
  void start(const core::Recipe& recipe, const toml::table& own);

  // The algorithm. obs (n, obs_dim) -> actions (n, act_flat): exploring (noise, ε-greedy from
  // rng_) when `explore`, else the deterministic policy (greedy / mean action).
  virtual void act(const float* obs, int64_t n, bool explore, float* actions) = 0;
  // Uniform random actions while t < learning_starts (sac, td3), or act() throughout (dqn).
  virtual bool random_warmup() const { return true; }
  // One gradient step on `batch` at batch step t. Returns |δ| (B) for prioritized replay.
  virtual torch::Tensor train_step(const ReplaySample& batch, int64_t t) = 0;
  // After the training phase of batch step t > learning_starts (e.g. target networks).
  virtual void after_step(int64_t t) {}
  // Values for the row beyond the accumulated means (e.g. the current ε).
  virtual void add_row_values(core::MetricRow* row) {}
  // Networks, optimizers and anything learned (evaluation needs only the networks).
  virtual void save_model(CheckpointWriter& w) = 0;
  virtual void load_model(CheckpointReader& r) = 0;

  // The metrics a trainer reports as means over the row's gradient steps (NaN when none).
  void declare_metrics(const std::vector<const char*>& names);
  void accumulate(const char* name, double value);

  // One step of SAC's and TD3's twin critics toward `target` (B): twin_critic_loss, the optimizer
  // step, and the qf1/qf2 values and losses and qf_loss accumulated. Returns the mean |δ| of the
  // two critics (B), detached, for prioritized replay.
  torch::Tensor twin_critic_step(ContinuousQ& qf1, ContinuousQ& qf2, torch::optim::Optimizer& opt,
                                 const ReplaySample& batch, const torch::Tensor& target);

  // Box bounds as tensors (A): (high − low)/2 and (high + low)/2.
  torch::Tensor action_scale() const;
  torch::Tensor action_bias() const;
  // A (n, A) float tensor of standard normals drawn from rng_ (all randomness of a run goes
  // through rng_, whose state is in the checkpoint, so a resumed run draws the same numbers).
  torch::Tensor normal_noise(int64_t n, int64_t a);
  // The importance exponent β now: linear from replay.beta to 1 over the run.
  double beta_now() const;
  // Batch steps taken so far (the t of the next step) and in the whole run.
  int64_t batch_steps_done() const { return t_; }
  int64_t total_batch_steps() const { return num_updates_ * off_.steps_per_update; }

  // The offline data of [replay] offline_dataset (nullptr without). A minibatch's first
  // offline()->rows_per_batch(B) rows are the file's.
  const OfflineMix* offline() const { return offline_.get(); }

  static void save_module(CheckpointWriter& w, const std::string& key, torch::nn::Module& m);
  static void load_module(CheckpointReader& r, const std::string& key, torch::nn::Module& m);
  static void save_optimizer(CheckpointWriter& w, const std::string& key, torch::optim::Optimizer& o);
  static void load_optimizer(CheckpointReader& r, const std::string& key, torch::optim::Optimizer& o);

  EnvSection env_opts_;
  OffPolicyOptions off_;
  ReplayOptions replay_opts_;
  std::unique_ptr<env::VecEnv> envs_;
  std::unique_ptr<ReplayBuffer> replay_;
  core::Rng rng_;
  int64_t N_ = 0, obs_dim_ = 0, act_flat_ = 0, act_dim_ = 0;  // copies, widths; act_dim_ = actions (discrete) or components
  std::vector<float> low_, high_;                              // (A) Box bounds

 private:
  LoopPosition position() const override;
  core::MetricRow step() override;
  void save_state(CheckpointWriter& w) override;
  void load_state(CheckpointReader& r, bool full) override;
  void save_rank_state(CheckpointWriter& w) override;
  void load_rank_state(CheckpointReader& r) override;
  void on_start(core::MetricsLogger& metrics) override;
  std::optional<double> progress_value() const override;

  void batch_step();  // one step of the copies, storing and training

  std::unique_ptr<OfflineMix> offline_;  // [replay] offline_dataset, or null

  int64_t num_updates_ = 0, update_ = 0, global_step_ = 0, t_ = 0, episodes_ = 0, gradient_steps_done_ = 0;
  RecentReturns recent_;
  double ep_ret_sum_ = 0, ep_len_sum_ = 0;
  int ep_count_ = 0;
  struct Mean {
    const char* name;
    double sum = 0;
    int64_t count = 0;
  };
  std::vector<Mean> means_;
  std::chrono::steady_clock::time_point call_start_{};
  int64_t call_start_step_ = 0;
  std::vector<float> obs_, actions_, next_obs_;  // (N, obs_dim), (N, act_flat), (N, obs_dim)
};

}  // namespace rlpp::train::offpolicy
