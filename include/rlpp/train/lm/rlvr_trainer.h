// RL with verifiable rewards for language models (algorithm "rlvr"): prompts from a generated task
// (fresh, or a fixed pool drawn uniformly or prioritized) -> G samples per prompt (or per-prompt
// Knapsack budgets) from the generation engine (any sampler chain) -> rewards from the task's
// grader -> (dynamic-sampling refill rounds) -> an advantage estimator -> selectors (token / sample
// masks and weights) -> the one policy update (policy_update.h: objective + aggregation, KL to a
// frozen reference, entropy terms, epochs of mini-batches with micro-batch accumulation); a batch
// may be reused for several steps (staleness) with the proximal log-probs recomputed. Every estimator, objective and
// selector of the registries is one recipe line:
//   [advantage]  name = "grpo"        (+ its options)
//   [objective]  name = "hapo"        (+ its options)
//   [[selectors]] name = "top_entropy"  (+ its options; one table per selector, applied in order)
//   [rollout_allocation] name = "knapsack"  (+ its options; default uniform)
// A task whose instances are dialogues (tool use) is rolled out turn by turn (multi_turn.h); the
// episode's reward replaces the grader and the [reward] terms.
// With rl.max_staleness > 0 the rollouts come from a worker thread up to that many policy versions
// behind the learner (async_rollouts.h), or from a worker rank (rl.rollout_worker = "rank",
// remote_rollouts.h).
// run.total_steps counts RL steps. docs/language-models.md describes the step in full.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/train/lm/policy_update.h"
#include "rlpp/train/trainer.h"

namespace rlpp::train::lm {

struct RlvrOptions {
  int64_t prompts_per_step = 16;    // P; the batch is P·G responses (G = sample.num_return_sequences)
  int64_t prompt_pool = 0;          // 0: a fresh task instance per prompt; > 0: a fixed training set of this size
  std::string prompt_sampling = "uniform";       // uniform | prioritized (SPO weights; needs prompt_pool)
  int64_t dynamic_sampling_rounds = 0;  // > 0: DAPO refill, at most this many generation rounds per batch
  int64_t reuse_steps = 1;          // steps trained on one batch of rollouts (> 1: stale, off-policy)
  // The train–inference mismatch meter (algo/mismatch.h) on a fresh batch every this many steps: one
  // extra no-grad forward of the batch (0 = off).
  int64_t mismatch_every = 1;
  // Asynchronous rollouts (async_rollouts.h): 0 = synchronous (sample, then train, every step);
  // s > 0 = a worker thread samples batch k from the policy of version max(0, k − s) while the
  // learner trains, so every trained token is at most s versions old.
  int64_t max_staleness = 0;
  // Partial rollouts (needs max_staleness ≥ 2): batch k is generated in chunks of
  // partial_chunk_tokens new tokens, chunk j from version min(v(k) + j, k − 1); an unfinished
  // response continues under the newer weights, its tokens keeping their own versions.
  bool partial_rollouts = false;
  int64_t partial_chunk_tokens = 8;
  // Where the asynchronous rollouts are made: "thread" (a worker thread of this process) or
  // "rank" (rank 1 of a 2-process run, the learner on rank 0; weights broadcast over the process
  // group, remote_rollouts.h). The same schedule: the same rows and the same model either way.
  std::string rollout_worker = "thread";
  // The proximal log-probs (the ratio's and clip's anchor) of stale data: "recomputed" under the
  // learner's weights at the start of the step (decoupled PPO: the importance weight proximal /
  // behaviour goes to the off-policy selectors), or "behaviour": the sampling-time log π, so the
  // objective's own ratio sees the staleness (BAPO's adaptive clip, a plain PPO clip).
  std::string proximal = "recomputed";
  PolicyUpdateOptions update;        // epochs, mini/micro-batches, aggregation, KL, entropy (policy_update.h)
  double learning_rate = 1e-5;
  double weight_decay = 0.0;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double adam_eps = 1e-8;
  bool hapo_temperature_stats = false;  // feed the last batch's entropy statistics to hapo_temperature
  int64_t eval_every = 10;          // RL steps between greedy evaluations (0 = at the end only)
  int64_t eval_batch_size = 64;
  int64_t accuracy_examples = 128;
  // Tasks whose instances are dialogues (env/text/turn_env.h, e.g. tool use) are rolled out turn by
  // turn: environment text is attended to but never trained on (train/lm/multi_turn.h).
  int64_t max_turns = 8;            // model turns per episode
  int64_t max_total_tokens = 2048;  // prompt + response tokens per episode

  void bind(core::Binder& b);
};

std::unique_ptr<Trainer> make_rlvr_trainer(const core::Recipe& recipe, const RunContext& ctx);

}  // namespace rlpp::train::lm
