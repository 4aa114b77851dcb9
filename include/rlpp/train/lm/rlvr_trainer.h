// RL with verifiable rewards for language models (algorithm "rlvr"): prompts from a generated task
// -> G samples per prompt from the generation engine (any sampler chain) -> rewards from the task's
// grader -> an advantage estimator -> a policy objective + aggregation (+ KL to a frozen reference,
// + entropy bonus) -> PPO epochs over mini-batches with micro-batch accumulation. Every estimator
// and objective of the registries is one recipe line:
//   [advantage]  name = "grpo"        (+ its options)
//   [objective]  name = "hapo"        (+ its options)
// run.total_steps counts RL steps (one batch of prompts each).
#pragma once
#include <memory>
#include <string>

#include "rlpp/core/config.h"
#include "rlpp/train/trainer.h"

namespace rlpp::train::lm {

struct RlvrOptions {
  int64_t prompts_per_step = 16;    // P; the batch is P·G responses (G = sample.num_return_sequences)
  int64_t ppo_epochs = 1;
  int64_t mini_batches = 1;         // optimizer steps per epoch
  int64_t micro_batch_size = 0;     // rows per forward/backward; 0 = a whole mini-batch
  std::string aggregation = "token-mean";
  double learning_rate = 1e-5;
  double weight_decay = 0.0;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double adam_eps = 1e-8;
  double max_grad_norm = 1.0;
  double kl_coef = 0.0;             // > 0: KL to a frozen copy of the initial policy, as a loss term
  std::string kl_estimator = "k3";
  double entropy_coef = 0.0;        // entropy bonus: − coef · H per token
  bool hapo_temperature_stats = false;  // feed the last batch's entropy statistics to hapo_temperature
  int64_t eval_every = 10;          // RL steps between greedy evaluations (0 = at the end only)
  int64_t eval_batch_size = 64;
  int64_t accuracy_examples = 128;
  int64_t logprob_chunk = 128;
  double lp_reg_kappa = 0.02;       // objective lp_reg: min-p threshold κ of its proxy policy

  void bind(core::Binder& b);
};

std::unique_ptr<Trainer> make_rlvr_trainer(const core::Recipe& recipe, const RunContext& ctx);

}  // namespace rlpp::train::lm
