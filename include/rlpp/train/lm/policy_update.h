// The one policy update for token-level losses, used by every language-model RL trainer (rlvr,
// search_pg, ...): over a batch of sequences with per-token advantages, `ppo_epochs` passes of
// `mini_batches` optimizer steps, each accumulated over micro-batches of `micro_batch_size` rows:
//
//   ℓ_t   = objective(log π_θ, log π_old, A, mask, entropy[, log π_proxy])   (algo/objective.h)
//           · token weight (selectors: truncated IS, …)
//           + c · KL_est(log π_θ, log π_ref)      [kl] name = "fixed" | "adaptive" (algo/kl.h)
//           − entropy_coef · H_t
//           + entropy control   [entropy_control] name = "epo" | "adaptive" (entropy_control.h)
//   loss  = aggregate(ℓ, mask) with the counts of the whole mini-batch      (algo/aggregation.h)
//
// so micro-batching never changes the gradient; objectives whose loss depends on batch statistics
// fix them on the whole mini-batch (PolicyObjective::prepare) before it is split. A component says
// what it needs instead of being recognised by name: an objective that regularises toward a min-p
// proxy of the old policy reports its κ (PolicyObjective::proxy_min_p), and the update computes
// log π_proxy for it. The options are bound inside the trainer's own section ([rl], [pg]); the KL
// term and the entropy control are components with sections of their own. Without a [kl] section
// there is no KL term and no reference model; with one, the controller's coefficient c (fixed, or
// adapted toward a target KL after every optimizer step, with the mini-batch's sequences as its
// steps) multiplies the estimator `kl.estimator` against a frozen copy of the initial policy.
//
// The three log-probs of a token (docs/language-models.md, "The three log-probs"): logp_behaviour,
// log q of the distribution it was drawn from (recorded at sampling, after the samplers; the
// trainer's off-policy selectors use it); logp_proximal, log π of the parameters the ratio and clip
// are anchored to (UpdateBatch::logp_old, passed on as algo::PolicyLossInput::logp_old = π_old
// above); and logp, the current log π_θ, recomputed with gradient here.
//
// Data-parallel (set_comm with more than one rank): each rank passes its own rows of the global
// batch, every rank with the same response length N (pad first), and its own generator for the
// mini-batch shuffle. Mini-batch m is the union of every rank's m-th part; the aggregation counts,
// the skip of an empty mini-batch, the objective's prepare() (on the mini-batch gathered from every
// rank, each rank then computing its rows with PolicyLossInput::rows offset by its first global
// row), the KL controller's statistics, the entropy control's history and the metrics are global,
// and the gradients are summed over the ranks (each rank's loss is its part of the global loss). So
// with one mini-batch, N ranks take the step one process takes on the concatenated batch.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>

#include "rlpp/algo/aggregation.h"
#include "rlpp/algo/kl.h"
#include "rlpp/algo/objective.h"
#include "rlpp/core/config.h"
#include "rlpp/core/metrics.h"
#include "rlpp/core/rng.h"
#include "rlpp/dist/data_parallel.h"
#include "rlpp/nn/lm/transformer.h"
#include "rlpp/train/checkpoint.h"
#include "rlpp/train/lm/entropy_control.h"

namespace rlpp::train::lm {

struct PolicyUpdateOptions {
  int64_t ppo_epochs = 1;
  int64_t mini_batches = 1;         // optimizer steps per epoch
  int64_t micro_batch_size = 0;     // rows per forward/backward; 0 = a whole mini-batch
  std::string aggregation = "token-mean";
  double max_grad_norm = 1.0;
  double entropy_coef = 0.0;        // entropy bonus: − coef · H per token
  int64_t lr_warmup_steps = 0;      // optimizer steps of linear learning-rate warm-up: lr·(k+1)/W at step k < W
  int64_t logprob_chunk = 128;

  // Binds into the trainer's section (the keys sit beside the trainer's own).
  void bind(core::Binder& b);
};

// A UserError naming the new spelling when the trainer's `section` still holds a key that became
// a component section (kl_coef, kl_estimator -> [kl]; entropy_control -> [entropy_control]).
void refuse_moved_keys(const core::Recipe& recipe, const std::string& section);

// The batch one update trains on. Sequences are (B, S); the trained positions are the last
// N = S − response_start ones (the response after a left-padded prompt; or every position, with
// the mask selecting the trained tokens).
// Extra rollouts an entropy control asked for (AEPO), trained on beside the batch: mini-batch m of
// M takes the m-th of M near-equal shares of them (in a shuffled order), and its term is aggregated
// like the policy loss over that share.
struct ExtraRollouts {
  torch::Tensor tokens;      // (X, S) int64 prompt + response
  torch::Tensor attention;   // (X, S) bool
  int64_t response_start = 0;
  torch::Tensor mask;        // (X, N) float 0/1 the responses' tokens
  torch::Tensor advantages;  // (X) float group advantages of their rewards
  double mean_entropy = 0;   // the batch's mean sampling-time entropy that chose their temperature
  int64_t rows() const { return tokens.defined() ? tokens.size(0) : 0; }
};

struct UpdateBatch {
  torch::Tensor tokens;      // (B, S) int64
  torch::Tensor attention;   // (B, S) bool or 0/1
  int64_t response_start = 0;
  torch::Tensor mask;        // (B, N) float 0/1 tokens that enter the loss
  torch::Tensor weight;      // (B, N) float token weights from selectors; {} = 1
  torch::Tensor advantages;  // (B, N) float
  // (B, N) float logp_proximal: log π of the policy the ratio and clip are anchored to (the
  // parameters the step starts from). Keeps the objectives' name logp_old, which it becomes.
  torch::Tensor logp_old;
  torch::Tensor turn;        // (B, N) int64 turn step of each token (entropy control "epo")
  // EPO's history grows by the sampling-time entropies of fresh data (not yet trained on):
  bool fresh = true;
  torch::Tensor sampled_entropy;  // (B, N) float H at sampling time
  torch::Tensor valid;            // (B, N) float every response token (before selection)
  ExtraRollouts extra;            // none unless the entropy control wants them
};

// The aggregation counts of a mini-batch split across the ranks (one collective; `c` itself without
// a group): tokens and sequences summed; L_max is the padded response length every rank shares.
algo::AggregationCounts global_counts(dist::Comm* comm, algo::AggregationCounts c);

class PolicyUpdate {
 public:
  // Reads the [kl] and [entropy_control] sections (absent: none), and makes the frozen reference
  // policy when there is a KL term (a copy of `model` as it is now).
  PolicyUpdate(const PolicyUpdateOptions& opts, std::unique_ptr<algo::PolicyObjective> objective,
               nn::lm::TransformerLm model, torch::optim::Optimizer& optimizer, const core::Recipe& recipe,
               toml::table* resolved);

  // One update over `batch`; `progress` ∈ [0, 1] is the fraction of training done (EPO's phase).
  // Rows: losses/* (metric_names.h), the objective's means, rl/skipped_update.
  core::MetricRow run(const UpdateBatch& batch, core::Rng& rng, double progress);

  const algo::PolicyObjective& objective() const { return *objective_; }
  // Whether the entropy control wants extra rollouts (AEPO), and their temperature for a batch of
  // mean sampling-time entropy `mean_entropy`.
  bool wants_extra_rollouts() const { return entropy_control_ && entropy_control_->wants_extra_rollouts(); }
  double extra_rollout_temperature(double mean_entropy) const {
    return wants_extra_rollouts() ? entropy_control_->extra_rollout_temperature(mean_entropy) : 0.0;
  }
  bool has_reference() const { return static_cast<bool>(reference_); }
  // The ranks' process group (null or one rank: a single-process update). See the top of the file.
  void set_comm(dist::Comm* comm) { comm_ = comm && comm->size() > 1 ? comm : nullptr; }

  void save(CheckpointWriter& w) const;
  void load(CheckpointReader& r);

 private:
  // The learning rate of optimizer step `step` (0-based): the warm-up, then the optimizer's own.
  double learning_rate(int64_t step) const;
  // log π_proxy (B, N) of the batch's tokens under the min-p proxy of the current policy.
  torch::Tensor proxy_logp(const UpdateBatch& b, double kappa);
  // Backward of the entropy control's term on extra rollouts `rows` (int64 (k)); returns its loss.
  double extra_backward(const ExtraRollouts& x, const torch::Tensor& rows, std::map<std::string, double>* sums,
                        double* weight);
  // Fixes the objective's batch statistics on mini-batch `idx` before it is split; data-parallel,
  // on the mini-batch gathered from every rank (`split`: its rows per rank).
  void prepare(const UpdateBatch& b, const torch::Tensor& idx, const torch::Tensor& logp_proxy,
               const dist::RowSplit* split);

  PolicyUpdateOptions opts_;
  std::unique_ptr<algo::PolicyObjective> objective_;
  nn::lm::TransformerLm model_;
  torch::optim::Optimizer& optimizer_;
  algo::Aggregation aggregation_{};
  double base_lr_ = 0;              // the optimizer's learning rate after warm-up
  int64_t optimizer_steps_ = 0;     // optimizer steps taken over the run (warm-up position)
  std::unique_ptr<algo::KlController> kl_;  // {} = no KL term
  algo::KlEstimatorFn kl_fn_ = nullptr;
  nn::lm::TransformerLm reference_{nullptr};  // defined iff kl_
  std::unique_ptr<EntropyControl> entropy_control_;  // {} = none
  dist::Comm* comm_ = nullptr;  // data-parallel group of more than one rank, or null
};

}  // namespace rlpp::train::lm
