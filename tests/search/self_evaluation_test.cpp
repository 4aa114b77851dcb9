// Step self-evaluation (MCTS-DPO's confidence C): the evaluation prompt's tokens by hand, C of a
// batch of candidates against a softmax of the model's logits computed here in double, one
// sequence at a time (no padding, no batching); bad answer tokens are UserErrors; ROC AUC against
// hand-counted pairs.
#include <gtest/gtest.h>

#include <cmath>
#include <initializer_list>
#include <string>

#include "common/tiny_lm.h"
#include "rlpp/search/self_evaluation.h"

using namespace rlpp;
using namespace rlpp::search;

namespace {

// A core::UserError whose message holds every part (local: this file shares a unity batch).
template <class Fn>
void expect_self_eval_user_error(Fn fn, std::initializer_list<std::string> parts) {
  try {
    fn();
    ADD_FAILURE() << "no UserError";
  } catch (const core::UserError& e) {
    const std::string msg = e.what();
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "message: " << msg << "\nlacks: " << p;
  }
}

// Ids: <pad> 0, <bos> 1, <eos> 2, then "0123456789+=\n" from 3 ("0" = 3, "1" = 4, "=" = 14, "\n" = 15).
nn::CharTokenizer self_eval_tok() {
  return nn::CharTokenizer(rlpp::testing::char_tokenizer_spec("0123456789+=\n", {"<pad>", "<bos>", "<eos>"}));
}

nn::lm::TransformerLm self_eval_lm(const nn::CharTokenizer& tok) {
  return rlpp::testing::tiny_lm(rlpp::testing::tiny_lm_config(tok.vocab_size(), /*hidden=*/16, /*max_positions=*/64),
                                /*seed=*/23);
}

// p(correct) / (p(correct) + p(incorrect)) at the last position of `seq`, from the full forward of
// that sequence alone, softmax over the whole vocabulary in double.
double reference_confidence(nn::lm::TransformerLm& model, const Tokens& seq, const std::vector<int64_t>& correct,
                            const std::vector<int64_t>& incorrect) {
  torch::NoGradGuard ng;
  const torch::Tensor logits = model->forward(torch::tensor(seq, torch::kLong).unsqueeze(0))[0];  // (L, V)
  const torch::Tensor last = logits[static_cast<int64_t>(seq.size()) - 1].to(torch::kDouble);    // (V,)
  double z_max = last.max().item<double>(), total = 0;
  for (int64_t v = 0; v < last.size(0); ++v) total += std::exp(last[v].item<double>() - z_max);
  auto p = [&](int64_t t) { return std::exp(last[t].item<double>() - z_max) / total; };
  double pc = 0, pi = 0;
  for (int64_t t : correct) pc += p(t);
  for (int64_t t : incorrect) pi += p(t);
  return pc / (pc + pi);
}

}  // namespace

TEST(StepSelfEvaluation, PromptTokensAreTheStateTheStepAndTheQuery) {
  const nn::CharTokenizer tok = self_eval_tok();
  SelfEvalOptions o;  // query "=", correct "1", incorrect "0"
  o.query = "=\n";
  StepSelfEvaluator judge(self_eval_lm(tok), tok, o);
  // prompt "<bos>3+4=" , steps "3+4+0=7\n", step "7"
  const Tokens prompt = {1, 6, 13, 7, 14};
  const Tokens steps = {6, 13, 7, 13, 3, 14, 10, 15};
  const Tokens step = {10};
  EXPECT_EQ(judge.prompt(prompt, steps, step), (Tokens{1, 6, 13, 7, 14, 6, 13, 7, 13, 3, 14, 10, 15, 10, 14, 15}));
  EXPECT_EQ(judge.correct_ids(), (std::vector<int64_t>{4}));
  EXPECT_EQ(judge.incorrect_ids(), (std::vector<int64_t>{3}));
}

TEST(StepSelfEvaluation, ConfidenceIsTheNormalisedAnswerProbabilityInOneBatch) {
  const nn::CharTokenizer tok = self_eval_tok();
  nn::lm::TransformerLm model = self_eval_lm(tok);
  model->eval();
  for (const bool two_answers : {false, true}) {
    SelfEvalOptions o;
    if (two_answers) {  // several tokens per verdict are summed (as the authors' code sums variants)
      o.correct = {"1", "9"};
      o.incorrect = {"0", "+"};
    }
    StepSelfEvaluator judge(model, tok, o);
    const Tokens prompt = {1, 5, 13, 8, 14};  // "<bos>2+5="
    const Tokens steps = {5, 13, 8, 13, 3, 14, 10, 15};
    // Candidates of different lengths: the batch is right-padded.
    const std::vector<Tokens> cands = {{10}, {5, 13, 8, 15}, {12, 12, 12, 12, 12, 12}, {2}};
    const std::vector<double> c = judge.confidence(prompt, steps, cands);
    ASSERT_EQ(c.size(), cands.size());
    EXPECT_EQ(judge.forwards(), 1);
    EXPECT_EQ(judge.judged(), 4);
    double lo = 1, hi = 0;
    for (size_t i = 0; i < cands.size(); ++i) {
      const double ref = reference_confidence(model, judge.prompt(prompt, steps, cands[i]), judge.correct_ids(),
                                              judge.incorrect_ids());
      EXPECT_NEAR(c[i], ref, 1e-6) << "candidate " << i;
      EXPECT_GE(c[i], 0.0);
      EXPECT_LE(c[i], 1.0);
      lo = std::min(lo, c[i]), hi = std::max(hi, c[i]);
    }
    EXPECT_GT(hi - lo, 1e-3);  // the candidates are told apart (a constant C would pass trivially)
  }
  EXPECT_TRUE(StepSelfEvaluator(model, tok, SelfEvalOptions{}).confidence({1}, {}, {}).empty());
}

TEST(StepSelfEvaluation, AnswersMustBeSingleDistinctTokens) {
  const nn::CharTokenizer tok = self_eval_tok();
  const nn::lm::TransformerLm model = self_eval_lm(tok);
  SelfEvalOptions two_tokens;
  two_tokens.correct = {"11"};
  expect_self_eval_user_error([&] { StepSelfEvaluator(model, tok, two_tokens); }, {"\"11\"", "exactly one token"});
  SelfEvalOptions shared;
  shared.incorrect = {"0", "1"};
  expect_self_eval_user_error([&] { StepSelfEvaluator(model, tok, shared); }, {"both a correct and an incorrect"});
  SelfEvalOptions none;
  none.incorrect = {};
  expect_self_eval_user_error([&] { StepSelfEvaluator(model, tok, none); }, {"incorrect answers is empty"});
  SelfEvalOptions english;
  english.query = "Is this step correct?";  // not in the character alphabet
  expect_self_eval_user_error([&] { StepSelfEvaluator(model, tok, english); }, {"query", "does not encode"});
}

TEST(StepSelfEvaluation, RocAucCountsOrderedPairs) {
  // Positives {0.9, 0.4}, negatives {0.5, 0.4, 0.1}: pairs won 0.9 > all 3; 0.4 > 0.1, tie with 0.4
  // (½), below 0.5: (3 + 1.5) / 6.
  EXPECT_NEAR(roc_auc({0.9, 0.5, 0.4, 0.4, 0.1}, {1, 0, 1, 0, 0}), 4.5 / 6.0, 1e-15);
  EXPECT_NEAR(roc_auc({0.1, 0.9}, {1, 0}), 0.0, 1e-15);
  EXPECT_TRUE(std::isnan(roc_auc({0.3, 0.7}, {1, 1})));
  expect_self_eval_user_error([] { roc_auc({0.3}, {1, 0}); }, {"1 scores for 2 labels"});
}
