// Language-model pre-training and supervised fine-tuning (algorithm "lm"): next-token cross-entropy
// (or response-only, for SFT) on generated task data or JSONL/text files, packed or padded rows,
// AdamW (no decay on norms and biases), linear warm-up + cosine schedule, global grad-norm clip,
// micro-batches with gradient accumulation (the loss is divided by the target count of the whole
// step, so micro-batching leaves the gradient unchanged), periodic held-out loss and greedy task
// accuracy, checkpoints and the same run artifacts as control runs. run.total_steps counts
// optimizer steps. The final model is written to RUN_DIR/model in Hugging Face format.
#pragma once
#include <memory>
#include <string>

#include "rlpp/core/config.h"
#include "rlpp/train/trainer.h"

namespace rlpp::train::lm {

struct LmTrainOptions {
  int64_t batch_size = 32;          // rows per optimizer step
  int64_t micro_batch_size = 8;     // rows per forward/backward
  int64_t seq_len = 128;            // row length (packed) / truncation (padded)
  bool pack = true;
  bool response_only = false;       // SFT: loss on response tokens only
  double learning_rate = 1e-3;
  double min_lr_ratio = 0.1;
  int64_t warmup_steps = 50;
  double weight_decay = 0.1;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double adam_eps = 1e-8;
  double max_grad_norm = 1.0;
  int64_t eval_every = 100;         // optimizer steps between evaluations (0 = at the end only)
  int64_t eval_batch_size = 64;
  int64_t accuracy_examples = 128;  // task data: held-out prompts decoded greedily (0 = off)
  int64_t max_new_tokens = 64;
  int64_t logprob_chunk = 128;      // positions per chunk of the lm_head + log-softmax
  int64_t max_nonfinite_steps = 10; // skipped non-finite steps before the run stops

  void bind(core::Binder& b);
};

std::unique_ptr<Trainer> make_lm_trainer(const core::Recipe& recipe, const RunContext& ctx);

}  // namespace rlpp::train::lm
