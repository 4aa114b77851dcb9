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

// Greedy decoding of each held-out prompt (batched), graded by `task`. A MultiTurnTask plays whole
// greedy episodes instead (multi_turn.h), scored by each episode's correct(); `responses` then
// hold the dialogues after the opening (model and environment text).
AccuracyResult greedy_accuracy(nn::lm::TransformerLm& model, const nn::Tokenizer& tok, const LmData& data,
                               const env::text::TextTask& task, const std::vector<TextExample>& examples,
                               int64_t batch_size, int64_t max_new_tokens);

// Appends eval/accuracy and eval/response_length of greedy decoding on the first `n` examples of
// the data's held-out set.
void append_accuracy(std::vector<std::pair<std::string, double>>& row, nn::lm::TransformerLm& model,
                     const nn::Tokenizer& tok, const LmData& data, int64_t n, int64_t batch_size, int64_t max_new_tokens);

// Unbiased pass@k of one problem with c correct among n samples (Chen et al. 2021, arXiv
// 2107.03374): 1 − C(n − c, k)/C(n, k) = 1 − Π_{i = n−c+1}^{n} (1 − k/i); 1 when n − c < k.
double pass_at_k(int64_t n, int64_t c, int64_t k);

// The most frequent of `answers` (ties: the one seen first); "" for none.
std::string majority_answer(const std::vector<std::string>& answers);

// `rlpp eval` of a language-model run on req.episodes fresh task instances drawn with req.seed:
// greedy accuracy and length; with req.samples = n > 0 also n sampled responses per problem at
// req.temperature: pass@k (unbiased, k = 1, 2, 4, ... ≤ n, and n), maj@n, sampled length mean/std
// and entropy; req.samples_path receives one JSON line per problem. UserError when the run's data
// is not a task.
EvalResult evaluate_lm(nn::lm::TransformerLm& model, const nn::Tokenizer& tok, const LmData& data,
                       const EvalRequest& req, int64_t batch_size, int64_t max_new_tokens);

}  // namespace rlpp::train::lm
