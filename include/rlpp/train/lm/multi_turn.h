// Multi-turn rollouts for agent RL: the model and an environment alternate in one token sequence,
//
//   row = opening prompt | model turn 1 | environment reply 1 | model turn 2 | … | model turn T
//
// Model turns are sampled by the generation engine (mask = 1; log π, log q and the entropy
// recorded as in a single-turn rollout). Environment text — tool responses, the next user turn, the
// header that opens the next assistant turn — is tokenized and appended with mask = 0: the model
// attends to it (attend = 1) but the loss never trains on it. Each turn re-encodes the whole prefix
// (no KV cache across turns), so the log-probs recorded for a model token are those of the full
// sequence, and a teacher-forced pass over the finished row reproduces them.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "rlpp/env/text/turn_env.h"
#include "rlpp/nn/lm/causal_lm.h"
#include "rlpp/nn/tokenizer/tokenizer.h"
#include "rlpp/sample/generator.h"
#include "rlpp/train/lm/rollout_batch.h"

namespace rlpp::train::lm {

using env::text::TurnEnv;

struct MultiTurnOptions {
  int64_t max_turns = 8;           // model turns per episode
  int64_t max_total_tokens = 2048;  // prompt + response; an episode that would pass it ends, truncated
  bool add_bos = true;              // prepend the tokenizer's BOS token to the opening (as SFT data does)
  double temperature = -1;          // >= 0: replaces the sampler chain's temperature in every row (0 = greedy)
};

// Runs every env to the end and returns one row per env; group_id[i] = group_ids[i]. truncated =
// the episode ran out of turns or tokens (or a turn hit max_new_tokens) before the env said done;
// lengths = model tokens per row. The generator's own max_new_tokens bounds each turn.
RolloutBatch multi_turn_rollout(nn::lm::CausalLm& model, const nn::Tokenizer& tokenizer, sample::Generator& generator,
                                std::vector<std::unique_ptr<TurnEnv>>& envs, const std::vector<int64_t>& group_ids,
                                const MultiTurnOptions& opts);

}  // namespace rlpp::train::lm
