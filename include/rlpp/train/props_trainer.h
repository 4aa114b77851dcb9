// PPO-buffer and PROPS for control (Corrado & Hanna, arXiv 2311.08290; shared docs
// ENVIRONMENTS.md), registered as algorithm "props":
//  * the last b batches of data are kept (b = props.buffer_batches; b = 1 with no behaviour
//    policy is plain PPO with the sampling-error metric);
//  * every n = ppo.num_steps × num_envs steps, a PPO update of π_θ on the whole buffer, with
//    observations re-normalised under the current statistics and log-probs and values
//    recomputed under the current θ (the buffer is treated as on-policy data for θ);
//  * PROPS only (props.behavior = true): actions are sampled from a behaviour policy π_φ; every
//    m = props.behavior_every steps φ ← θ and φ minimises algo::props_loss over the buffer's
//    rows that the next m steps keep (once the buffer is full, the oldest m are left out: they
//    are evicted before the next target update) with λ weighing the KL per action dimension
//    (behavior_kl_scale), Adam, epochs × minibatches, grad-norm clip, and an early stop before the
//    first minibatch step whose mean KL(π_φ‖π_θ) exceeds props.behavior_target_kl (as the
//    authors' update_props does);
//  * sampling error KL(π_D‖π_θ) measured at each update (algo::sampling_error after a
//    maximum-likelihood fit of the policy head from θ with the feature layers frozen).
// θ is the usual ActorCriticLearner (fast or LibTorch backend); φ follows policy.backend too
// (train/behavior_policy.h: train/fast_behavior_policy.h or the LibTorch props_behavior_update
// below); the θ snapshots used
// for recomputation are LibTorch nn::ActorCritic modules. Runs resume bit-identically from their
// checkpoints (run.checkpoint_every, `rlpp resume`).
#pragma once
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/core/rng.h"
#include "rlpp/nn/actor_critic.h"
#include "rlpp/train/actor_critic_learner.h"
#include "rlpp/train/trainer.h"

namespace rlpp::train {

struct PropsOptions {
  int buffer_batches = 2;            // b: target-update batches kept
  bool behavior = true;              // false: PPO-buffer (collect with π_θ)
  int behavior_every = 1024;         // m: env steps (all copies) between φ ← θ + PROPS update
  double behavior_lr = 1e-4;
  double behavior_clip = 0.3;        // ε
  double behavior_kl_coef = 0.3;     // λ
  double behavior_target_kl = 0.03;  // stop before a minibatch step whose KL(π_φ‖π_θ) exceeds this
  int behavior_epochs = 16;
  int behavior_minibatches = 16;
  double behavior_max_grad_norm = 0.5;
  bool sampling_error = true;        // measure KL(π_D‖π_θ) at each target update
  int mle_steps = 100;               // full-batch Adam steps of the π_D fit
  double mle_lr = 1e-2;

  void bind(core::Binder& b);
};

// ---- the pieces, exposed for tests --------------------------------------------------------------

// Time-major ring of the last `capacity` rows (one row = N copies' step). push() overwrites the
// oldest row once full; ordered() returns the rows oldest first. R = row width in floats.
class RowRing {
 public:
  RowRing(int64_t capacity, int64_t row_floats);
  void push(const float* row);                    // row: (R)
  int64_t size() const { return size_; }
  int64_t row_floats() const { return row_floats_; }
  std::vector<float> ordered() const;             // (size, R)
  void clear() { size_ = 0, next_ = 0; }

 private:
  int64_t capacity_, row_floats_;
  int64_t size_ = 0, next_ = 0;
  std::vector<float> data_;  // (capacity, R)
};

// The learner's current policy and value as a LibTorch module (through the learner's checkpoint
// archive, whose "model" child is nn::ActorCritic's layout for both backends).
nn::ActorCritic snapshot_policy(ActorCriticLearner& learner, const LearnerConfig& config);

// φ ← θ: copies every parameter of `from` into `to` (same architecture).
void copy_policy(const nn::ActorCritic& from, nn::ActorCritic& to);

// log π(a|s) (B) and the distribution parameters of `policy` on obs (B, obs_dim), actions
// (B, A) floats (discrete: the index as a float in column 0).
torch::Tensor policy_log_prob(nn::ActorCritic& policy, const torch::Tensor& obs, const torch::Tensor& actions);

// KL(π_p(·|s) ‖ π_q(·|s)) per state (B) of two policies of the same kind; q is held constant.
torch::Tensor policy_kl(nn::ActorCritic& p, nn::ActorCritic& q, const torch::Tensor& obs);

struct BehaviorUpdateStats {
  double loss = 0, kl = 0, clipfrac = 0;  // kl: mean KL(π_φ‖π_θ) over the rows after the update
  int epochs = 0;                         // epochs begun
  int steps = 0;                          // minibatch steps taken
};

// κ in L(φ) = clip term + λ κ mean_i KL(π_φ(·|s_i) ‖ π_θ(·|s_i)): 1/A for a Gaussian over A
// action dimensions (the authors' code averages the per-dimension KL over the minibatch and the
// dimensions, so their tuned λ is a weight per dimension), 1 for a categorical.
inline double behavior_kl_scale(bool discrete, int64_t act_dim) {
  return discrete ? 1.0 : 1.0 / static_cast<double>(act_dim);
}

// Rows of the buffer a behaviour update fits, the newest: those that the next `every_rows` rows
// (m / N) leave in a ring of `capacity` rows, min(rows, capacity − every_rows); all of them when
// the next rows replace the whole ring (b = 1, m = n).
inline int64_t behavior_rows(int64_t rows, int64_t capacity, int64_t every_rows) {
  const int64_t survive = capacity - every_rows;
  return survive >= 1 ? std::min(rows, survive) : rows;
}
// φ ← θ, then the PROPS epochs on (obs, actions) (B rows). rng shuffles the minibatches.
BehaviorUpdateStats props_behavior_update(nn::ActorCritic& theta, nn::ActorCritic& phi,
                                          const torch::Tensor& obs, const torch::Tensor& actions,
                                          const PropsOptions& opts, core::Rng& rng);

// Registered as algorithm "props".
std::unique_ptr<Trainer> make_props_trainer(const core::Recipe& recipe, const RunContext& ctx);

}  // namespace rlpp::train
