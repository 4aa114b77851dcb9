// Evaluation of an LM policy on held-out data: mean next-token loss on the targets, and greedy
// task accuracy (the response's final answer, as the task grades it).
#pragma once
#include <vector>

#include "rlpp/nn/lm/transformer.h"
#include "rlpp/nn/tokenizer/tokenizer.h"
#include "rlpp/train/lm/lm_batch.h"
#include "rlpp/train/lm/lm_data.h"
#include "rlpp/train/trainer.h"

namespace rlpp::train::lm {

// Mean negative log-likelihood per target token of `examples` (padded layout, `batch_size` rows at a
// time), under no_grad.
double eval_loss(nn::lm::TransformerLm& model, const std::vector<LmExample>& examples, const LayoutOptions& layout,
                 int64_t batch_size, int64_t logprob_chunk);

struct AccuracyResult {
  int64_t examples = 0;
  double accuracy = 0;         // fraction graded correct
  double mean_length = 0;      // response tokens
  std::vector<std::string> responses;
};

// Greedy decoding of each held-out prompt (batched), graded by `task`.
AccuracyResult greedy_accuracy(nn::lm::TransformerLm& model, const nn::Tokenizer& tok, const LmData& data,
                               const env::text::TextTask& task, const std::vector<TextExample>& examples,
                               int64_t batch_size, int64_t max_new_tokens);

// Appends eval/accuracy and eval/response_length of greedy decoding on the first `n` examples of
// the data's held-out set.
void append_accuracy(std::vector<std::pair<std::string, double>>& row, nn::lm::TransformerLm& model,
                     const nn::Tokenizer& tok, const LmData& data, int64_t n, int64_t batch_size, int64_t max_new_tokens);

// `rlpp eval` of a language-model run: greedy accuracy on `examples` fresh task instances drawn with
// `seed` (UserError when the run's data is not a task).
EvalResult evaluate_greedy(nn::lm::TransformerLm& model, const nn::Tokenizer& tok, const LmData& data, int examples,
                           uint64_t seed, int64_t batch_size, int64_t max_new_tokens);

}  // namespace rlpp::train::lm
