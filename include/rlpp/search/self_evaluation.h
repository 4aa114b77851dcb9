// MCTS-DPO's step self-evaluation (arXiv 2405.00451 §2.1): the policy itself judges a candidate
// step. The evaluation prompt is the problem's prompt, the steps so far, the candidate step and a
// query; the confidence is the probability the policy gives the "correct" answer token(s) at the
// next position, normalised over the correct and incorrect answer tokens (the paper prompts "(A)
// correct / (B) incorrect" and reads the option token's probability):
//
//   C = Σ_{t ∈ correct} π(t | eval prompt) / Σ_{t ∈ correct ∪ incorrect} π(t | eval prompt) ∈ [0, 1]
//
// All candidate steps of one state are judged in one forward pass (right-padded (B, L) batch, the
// logits read at each row's last token). What C means depends on the model: a policy that was never
// trained to answer the query gives a confidence unrelated to the step's correctness (rlpp's small
// arithmetic models: docs/search.md measures it). With rlpp's character tokenizer the query and the
// answers must be characters of the task's alphabet (default: query "=", correct "1", incorrect "0").
//
//   search::StepSelfEvaluator judge(model, tok, opts);
//   std::vector<double> c = judge.confidence(prompt_tokens, steps_so_far, {step_a, step_b});
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/nn/lm/transformer.h"
#include "rlpp/nn/tokenizer/tokenizer.h"
#include "rlpp/search/step_model.h"

namespace rlpp::search {

struct SelfEvalOptions {  // [self_eval]
  bool enabled = true;                          // false: C = 0 (R = the outcome alone)
  std::string query = "=";                      // appended after the candidate step
  std::vector<std::string> correct = {"1"};     // answer tokens meaning "the step is correct"
  std::vector<std::string> incorrect = {"0"};   // answer tokens meaning "the step is wrong"

  void bind(core::Binder& b);
};

class StepSelfEvaluator {
 public:
  // `model` is a handle (the policy being trained keeps being judged with its current weights);
  // `tok` must outlive this object. UserError when an answer is not exactly one token, when the
  // lists are empty or share a token, or when the query does not encode.
  StepSelfEvaluator(nn::lm::TransformerLm model, const nn::Tokenizer& tok, SelfEvalOptions opts);

  // The evaluation prompt: prompt + steps + step + the query's tokens.
  Tokens prompt(const Tokens& prompt, const Tokens& steps, const Tokens& step) const;
  // C of each candidate step taken after `steps` (no grad; one forward for all candidates).
  std::vector<double> confidence(const Tokens& prompt, const Tokens& steps, const std::vector<Tokens>& candidates);

  const std::vector<int64_t>& correct_ids() const { return correct_; }
  const std::vector<int64_t>& incorrect_ids() const { return incorrect_; }
  int64_t forwards() const { return forwards_; }    // batched forward passes so far
  int64_t judged() const { return judged_; }        // steps judged so far

 private:
  nn::lm::TransformerLm model_;
  SelfEvalOptions opts_;
  Tokens query_;
  std::vector<int64_t> correct_, incorrect_;
  int64_t forwards_ = 0, judged_ = 0;
};

// Area under the ROC curve of `scores` for the binary `labels` (Mann–Whitney: the probability that
// a random positive scores above a random negative, ties counted ½); NaN without both classes.
double roc_auc(const std::vector<double>& scores, const std::vector<int>& labels);

}  // namespace rlpp::search
