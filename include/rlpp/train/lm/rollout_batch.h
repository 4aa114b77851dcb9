// The responses of one RL step, as the rlvr trainer assembles them from one or more generation
// rounds (dynamic-sampling refills, Knapsack allocations, reused batches). Rows of different rounds
// have different prompt and response lengths; `concat` re-pads them: prompts on the left (as the
// generator pads them), responses on the right.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "rlpp/sample/generator.h"

namespace rlpp::train::lm {

struct RolloutBatch {
  torch::Tensor prompt_tokens;  // (B, Lp) int64, left-padded with pad_token
  torch::Tensor prompt_mask;    // (B, Lp) bool: a real prompt token
  torch::Tensor tokens;         // (B, N) int64 response tokens, right-padded with pad_token
  torch::Tensor mask;           // (B, N) bool: a generated token (trained on)
  torch::Tensor attend;         // (B, N) bool: a real response token, generated or environment text
                                //   (multi_turn.h); = mask for single-turn rollouts
  torch::Tensor turn;           // (B, N) int64 index of the model turn a token belongs to (environment
                                //   text: the turn before it); 0 for single-turn rollouts
  torch::Tensor lengths;        // (B) int64
  torch::Tensor truncated;      // (B) bool: the response hit max_new_tokens without a stop token
  torch::Tensor logp;           // (B, N) fp32 log π at T = 1 under the sampling-time parameters
  torch::Tensor logp_sample;    // (B, N) fp32 log q: the distribution actually sampled from
  torch::Tensor entropy;        // (B, N) fp32 entropy of π at T = 1
  torch::Tensor group_id;       // (B) int64 prompt id (a pool index, or a running count of fresh prompts)
  torch::Tensor reward;         // (B) fp32 reward (correctness plus any format / length terms)
  torch::Tensor correct;        // (B) fp32 the grader's correctness in [0, 1]
  int64_t pad_token = 0;

  int64_t rows() const { return tokens.defined() ? tokens.size(0) : 0; }
};

// Every tensor of a batch, named (the checkpoint key) with how `concat` pads it: prompt fields on
// the left, response fields on the right (token fields with the pad token, the others with 0),
// per-row fields not at all.
enum class BatchPad { kNone, kLeft, kRight };
struct BatchField {
  const char* key;
  torch::Tensor* tensor;
  BatchPad pad;
  bool tokens;  // padded with the pad token (else 0 / false)
};
std::vector<BatchField> batch_fields(RolloutBatch& b);

// A generation's rows with the generator's prompt indices mapped to prompt ids:
// group_id[i] = prompt_ids[g.group_id[i]].
RolloutBatch rollout_from_generation(const sample::Generation& g,
                                     const std::vector<int64_t>& prompt_ids,  // (number of prompts)
                                     const torch::Tensor& reward,             // (B) fp32
                                     const torch::Tensor& correct);           // (B) fp32

// Rows `idx` (K) int64 of `b`, in that order.
RolloutBatch select_rows(const RolloutBatch& b, const torch::Tensor& idx);

// `b` with its response fields right-padded to `width` ≥ their length (data-parallel ranks share one
// response length).
RolloutBatch pad_responses(const RolloutBatch& b, int64_t width);

// The rows of every part, in order; prompts re-padded on the left and responses on the right to the
// longest of all parts. Parts with no rows are skipped; all parts must share one pad token.
RolloutBatch concat(const std::vector<RolloutBatch>& parts);

}  // namespace rlpp::train::lm
