// Token batches for language-model training (next-token cross-entropy): examples as token ids,
// laid out into (B, L) rows either packed (sequences concatenated and cut into rows of exactly L
// tokens, no padding) or padded (one sequence per row, right-padded to the longest in the batch).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace rlpp::train::lm {

// One sequence: prompt then response. The loss covers the response tokens, and the prompt tokens
// too unless training response-only (SFT).
struct LmExample {
  std::vector<int64_t> prompt;
  std::vector<int64_t> response;
};

struct LmBatch {
  torch::Tensor tokens;     // (B, L) int64
  torch::Tensor attention;  // (B, L) bool: false on padding
  torch::Tensor loss_mask;  // (B, L) float32: 1 where tokens[:, t] is a prediction target (never t = 0)
  int64_t target_tokens() const { return static_cast<int64_t>(loss_mask.sum().item<double>()); }
};

struct LayoutOptions {
  int64_t seq_len = 128;       // L: row length (packed) or truncation length (padded)
  bool pack = true;
  bool response_only = false;  // loss only on response tokens
  int64_t pad_id = 0;          // token written into padding (never attended to or predicted)
};

// Padded layout: row i holds examples[i] (prompt + response), truncated to seq_len and
// right-padded to the longest row. Target positions: t >= 1 inside the sequence, and, when
// response_only, only where tokens[t] belongs to the response.
LmBatch pad_examples(const std::vector<LmExample>& examples, const LayoutOptions& opts);

// Packs a stream of examples into rows of exactly seq_len tokens. Carries the unfinished tail of
// the stream between calls, so no token is lost or repeated.
class Packer {
 public:
  explicit Packer(const LayoutOptions& opts) : opts_(opts) {}
  void push(const LmExample& ex);
  int64_t rows_ready() const { return static_cast<int64_t>(tokens_.size()) / opts_.seq_len; }
  // Removes and returns `rows` full rows (rows <= rows_ready()). A row's first token is not a
  // target (its context lies in the previous row, which the model does not see).
  LmBatch pop(int64_t rows);
  // Unfinished tail (for checkpoints).
  const std::vector<int64_t>& pending_tokens() const { return tokens_; }
  const std::vector<uint8_t>& pending_targets() const { return target_; }
  void restore(std::vector<int64_t> tokens, std::vector<uint8_t> targets);

 private:
  LayoutOptions opts_;
  std::vector<int64_t> tokens_;
  std::vector<uint8_t> target_;  // 1: the token is a loss target given what precedes it
};

}  // namespace rlpp::train::lm
