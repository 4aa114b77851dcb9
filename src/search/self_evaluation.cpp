#include "rlpp/search/self_evaluation.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "rlpp/core/error.h"
#include "rlpp/search/sequences.h"

namespace rlpp::search {

void SelfEvalOptions::bind(core::Binder& b) {
  b.flag("enabled", enabled, "judge every new step with the policy (false: confidence 0)");
  b.text("query", query, "text appended after the candidate step to ask for the verdict");
  b.texts("correct", correct, "answer tokens (one token each) meaning the step is correct");
  b.texts("incorrect", incorrect, "answer tokens (one token each) meaning the step is wrong");
}

namespace {

std::vector<int64_t> answer_ids(const nn::Tokenizer& tok, const std::vector<std::string>& answers, const char* which) {
  core::require(!answers.empty(), std::string("self_eval: the list of ") + which + " answers is empty");
  std::vector<int64_t> ids;
  for (const std::string& a : answers) {
    std::vector<int64_t> t;
    try {
      t = tok.encode(a);
    } catch (const core::UserError& e) {
      throw core::UserError(std::string("self_eval: the ") + which + " answer \"" + a + "\" does not encode: " + e.what());
    }
    core::require(t.size() == 1, std::string("self_eval: the ") + which + " answer \"" + a + "\" is " +
                                     std::to_string(t.size()) + " tokens; each answer must be exactly one token");
    if (std::find(ids.begin(), ids.end(), t[0]) == ids.end()) ids.push_back(t[0]);
  }
  return ids;
}

}  // namespace

StepSelfEvaluator::StepSelfEvaluator(nn::lm::TransformerLm model, const nn::Tokenizer& tok, SelfEvalOptions opts)
    : model_(std::move(model)), opts_(std::move(opts)) {
  try {
    query_ = tok.encode(opts_.query);
  } catch (const core::UserError& e) {
    throw core::UserError("self_eval: the query \"" + opts_.query + "\" does not encode: " + e.what());
  }
  correct_ = answer_ids(tok, opts_.correct, "correct");
  incorrect_ = answer_ids(tok, opts_.incorrect, "incorrect");
  for (int64_t c : correct_)
    core::require(std::find(incorrect_.begin(), incorrect_.end(), c) == incorrect_.end(),
                  "self_eval: token " + std::to_string(c) + " is both a correct and an incorrect answer");
  const int64_t vocab = model_->config().vocab_size;
  for (const std::vector<int64_t>* ids : {&correct_, &incorrect_})
    for (int64_t t : *ids)
      core::require(t >= 0 && t < vocab, "self_eval: answer token " + std::to_string(t) +
                                             " is outside the model's vocabulary of " + std::to_string(vocab));
}

Tokens StepSelfEvaluator::prompt(const Tokens& prompt, const Tokens& steps, const Tokens& step) const {
  Tokens s = prompt;
  s.insert(s.end(), steps.begin(), steps.end());
  s.insert(s.end(), step.begin(), step.end());
  s.insert(s.end(), query_.begin(), query_.end());
  return s;
}

std::vector<double> StepSelfEvaluator::confidence(const Tokens& prompt_tokens, const Tokens& steps,
                                                  const std::vector<Tokens>& candidates) {
  if (candidates.empty()) return {};
  torch::NoGradGuard ng;
  std::vector<Tokens> rows;
  rows.reserve(candidates.size());
  for (const Tokens& c : candidates) rows.push_back(prompt(prompt_tokens, steps, c));
  std::vector<const Tokens*> ptrs;
  for (const Tokens& r : rows) {
    core::require(!r.empty(), "self_eval: an empty evaluation prompt");
    ptrs.push_back(&r);
  }
  auto [tokens, attention] = pad_rows(ptrs);  // (B, L) int64, (B, L) bool; right padding
  const torch::Device dev = model_->lm_device();
  // Right padding leaves every real position's causal context unchanged: row b is read at its
  // last real token, len_b − 1.
  const torch::Tensor logits = model_->forward(tokens.to(dev), attention.to(dev));  // (B, L, V) fp32
  std::vector<int64_t> last;
  for (const Tokens& r : rows) last.push_back(static_cast<int64_t>(r.size()) - 1);
  const torch::Tensor rows_idx = torch::arange(static_cast<int64_t>(rows.size()), torch::kLong).to(dev);
  const torch::Tensor at = logits.index({rows_idx, torch::tensor(last, torch::kLong).to(dev)});  // (B, V)
  // Normalised over the answer tokens only: C = Σ_correct e^z / Σ_answers e^z (a softmax over the
  // answers' logits; the other tokens' mass cancels).
  std::vector<int64_t> answers = correct_;
  answers.insert(answers.end(), incorrect_.begin(), incorrect_.end());
  const torch::Tensor z = at.index_select(1, torch::tensor(answers, torch::kLong).to(dev)).to(torch::kDouble).cpu();  // (B, A)
  const torch::Tensor p = torch::softmax(z, 1);                                                    // (B, A)
  const torch::Tensor c = p.narrow(1, 0, static_cast<int64_t>(correct_.size())).sum(1).contiguous();  // (B,)
  ++forwards_;
  judged_ += static_cast<int64_t>(candidates.size());
  const double* d = c.data_ptr<double>();
  return std::vector<double>(d, d + c.numel());
}

double roc_auc(const std::vector<double>& scores, const std::vector<int>& labels) {
  core::require(scores.size() == labels.size(), "roc_auc: " + std::to_string(scores.size()) + " scores for " +
                                                    std::to_string(labels.size()) + " labels");
  double wins = 0;
  int64_t pos = 0, neg = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (!labels[i]) continue;
    ++pos;
    for (size_t j = 0; j < scores.size(); ++j) {
      if (labels[j]) continue;
      wins += scores[i] > scores[j] ? 1.0 : (scores[i] == scores[j] ? 0.5 : 0.0);
    }
  }
  for (int l : labels) neg += l ? 0 : 1;
  if (pos == 0 || neg == 0) return std::numeric_limits<double>::quiet_NaN();
  return wins / (static_cast<double>(pos) * static_cast<double>(neg));
}

}  // namespace rlpp::search
