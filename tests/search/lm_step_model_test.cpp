// The language-model step adapter on an exactly-known bigram model over a character vocabulary:
// steps are lines, terminal steps are graded by the task, log-probs and compute are exact, and
// MCTS over it reaches a correct solution.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "common/tiny_lm.h"
#include "rlpp/core/error.h"
#include "rlpp/env/text/task.h"
#include "rlpp/nn/tokenizer/char_tokenizer.h"
#include "rlpp/sample/sampler_chain.h"
#include "rlpp/search/beam_search.h"
#include "rlpp/search/best_of_n.h"
#include "rlpp/search/lm_step_model.h"
#include "rlpp/search/mcts.h"

using namespace rlpp;
using namespace rlpp::search;

namespace {

// "1+1=" with answer 2; default grading (final answer = last non-empty line).
class OnePlusOne : public env::text::TextTask {
 public:
  env::text::TaskInstance sample(core::Rng&) const override { return {"1+1=", "2", "2"}; }
  std::string alphabet() const override { return "0123+=\n"; }
};

// Next-token logits depend on the last token only. After '=' or '\n': '1' or '2' (after '\n': '3'
// or '2'), each with probability 1/2; '1' -> '\n'; '2' and '3' -> EOS. So the solutions are
// "2" (correct), "1\n2" (correct) and "1\n3" (wrong).
class LineBigram final : public nn::lm::CausalLm {
 public:
  explicit LineBigram(const nn::Tokenizer& tok) {
    const int64_t v = tok.vocab_size();
    cfg_.vocab_size = v;
    cfg_.hidden_size = 4;
    cfg_.intermediate_size = 4;
    cfg_.num_hidden_layers = 1;
    cfg_.num_attention_heads = 1;
    cfg_.num_key_value_heads = 1;
    cfg_.eos_token_id = tok.eos_id;
    table_ = torch::full({v, v}, -30.0f);
    auto id = [&](const char* s) { return tok.encode(s).at(0); };
    table_[id("=")][id("1")] = 0;
    table_[id("=")][id("2")] = 0;
    table_[id("\n")][id("3")] = 0;
    table_[id("\n")][id("2")] = 0;
    table_[id("1")][id("\n")] = 0;
    table_[id("2")][tok.eos_id] = 0;
    table_[id("3")][tok.eos_id] = 0;
    for (int64_t r = 0; r < v; ++r)  // every other row: EOS, so nothing runs away
      if (table_[r].max().item<float>() < -1) table_[r][tok.eos_id] = 0;
  }
  torch::Tensor forward_cached(const torch::Tensor& tokens, const torch::Tensor& positions,
                               const torch::Tensor& valid, nn::lm::KvCache& cache) override {
    cache.key_valid.narrow(1, cache.length, tokens.size(1)).copy_(valid);
    cache.length += tokens.size(1);
    return table_.index_select(0, tokens.flatten()).view({tokens.size(0), tokens.size(1), -1});
  }
  const nn::lm::LmConfig& lm_config() const override { return cfg_; }
  torch::Device lm_device() const override { return torch::kCPU; }

 private:
  nn::lm::LmConfig cfg_;
  torch::Tensor table_;  // (V, V)
};

nn::CharTokenizer make_tok() { return nn::CharTokenizer(rlpp::testing::char_tokenizer_spec(OnePlusOne().alphabet(), {"<eos>"})); }

// log of the bigram's probability 1/2 (two logits 0, the other V − 2 at −30), re-derived.
double log_half(int64_t v) { return -std::log(2.0 + (v - 2) * std::exp(-30.0)); }
double log_one(int64_t v) { return -std::log(1.0 + (v - 1) * std::exp(-30.0)); }

}  // namespace

TEST(LmStepModel, StepsAreLinesAndTerminalsAreGraded) {
  torch::set_num_threads(1);
  const nn::CharTokenizer tok = make_tok();
  LineBigram lm(tok);
  OnePlusOne task;
  LmStepModel steps(lm, tok, task, sample::SamplerChain{}, LmStepOptions{});
  core::Rng rng(1);
  steps.set_problem(task.sample(rng));
  const int64_t nl = tok.encode("\n").at(0), one = tok.encode("1").at(0), two = tok.encode("2").at(0),
                three = tok.encode("3").at(0), eos = tok.eos_id, v = tok.vocab_size();

  const auto cands = steps.expand({{}, {one, nl}}, /*k=*/16);
  ASSERT_EQ(cands.size(), 2u);
  std::set<Tokens> seen0, seen1;
  int64_t tokens = 0;
  for (const StepCandidate& c : cands[0]) {
    tokens += static_cast<int64_t>(c.tokens.size());
    seen0.insert(c.tokens);
    if (c.tokens == Tokens{one, nl}) {
      EXPECT_FALSE(c.terminal);
      EXPECT_NEAR(c.logp, log_half(v) + log_one(v), 1e-5);
    } else {
      ASSERT_EQ(c.tokens, (Tokens{two, eos}));
      EXPECT_TRUE(c.terminal);
      EXPECT_EQ(c.reward, 1.0);  // "2" is correct
    }
  }
  for (const StepCandidate& c : cands[1]) {
    tokens += static_cast<int64_t>(c.tokens.size());
    seen1.insert(c.tokens);
    EXPECT_TRUE(c.terminal);
    EXPECT_EQ(c.reward, c.tokens.front() == two ? 1.0 : -1.0);  // "1\n3" is wrong
  }
  // 16 draws of a fair coin: both outcomes appear (probability 1 − 2^−15 for this seed's stream).
  EXPECT_EQ(seen0.size(), 2u);
  EXPECT_EQ(seen1, (std::set<Tokens>{{two, eos}, {three, eos}}));
  EXPECT_EQ(steps.compute().tokens_generated, tokens);
  EXPECT_EQ(steps.compute().expansions, 2);
  EXPECT_EQ(steps.text({one, nl, three, eos}), "1\n3");
  EXPECT_EQ(steps.grade({one, nl, two, eos}), 1.0);
}

TEST(LmStepModel, RolloutEvaluationIsAGradedCompletion) {
  torch::set_num_threads(1);
  const nn::CharTokenizer tok = make_tok();
  LineBigram lm(tok);
  OnePlusOne task;
  LmStepOptions opts;
  opts.evaluation = "rollout";
  LmStepModel steps(lm, tok, task, sample::SamplerChain{}, opts);
  core::Rng rng(1);
  steps.set_problem(task.sample(rng));
  const int64_t nl = tok.encode("\n").at(0), one = tok.encode("1").at(0);
  std::vector<Tokens> states(64, Tokens{one, nl});
  const std::vector<double> v = steps.evaluate(states);
  double mean = 0;
  for (double x : v) {
    EXPECT_TRUE(x == 1.0 || x == -1.0);
    mean += x / 64;
  }
  EXPECT_NEAR(mean, 0.0, 0.5);  // E = ½·1 + ½·(−1) = 0; 64 draws: sd 0.125
}

TEST(LmStepModel, SearchesReachACorrectSolution) {
  torch::set_num_threads(1);
  const nn::CharTokenizer tok = make_tok();
  LineBigram lm(tok);
  OnePlusOne task;
  LmStepModel steps(lm, tok, task, sample::SamplerChain{}, LmStepOptions{});
  core::Rng rng(1);
  steps.set_problem(task.sample(rng));
  MctsOptions mo;
  mo.num_children = 4;
  mo.iterations = 8;
  mo.max_depth = 4;
  const MctsResult r = Mcts(steps, mo).solve();
  EXPECT_TRUE(r.terminal);
  EXPECT_EQ(r.reward, 1.0);
  EXPECT_EQ(steps.grade(r.solution), 1.0);
  EXPECT_GT(r.compute.model_calls, 0);

  BeamSearchOptions bo;
  bo.expansions = 4;
  bo.beam_width = 2;
  const BeamSearchResult b = beam_search(steps, bo);
  EXPECT_TRUE(b.terminal);
  EXPECT_EQ(steps.grade(b.solution), 1.0);
}

TEST(BestOfN, MajorityVoteAndArgmax) {
  EXPECT_EQ(best_of_n({0.1, 0.7, 0.7, -1.0}), 1u);
  const Vote v = majority_vote({"a\n12", "13", "x\n 13 \n", "12", "9"});
  // Final answers 12, 13, 13, 12, 9: a tie at two votes, and 13 reached two first (third text).
  EXPECT_EQ(v.answer, "13");
  EXPECT_EQ(v.count, 2);
  EXPECT_THROW(best_of_n({}), core::UserError);
}

TEST(BestOfN, SamplesNSolutionsFromTheEngine) {
  torch::set_num_threads(1);
  const nn::CharTokenizer tok = make_tok();
  LineBigram lm(tok);
  sample::GenerationOptions go;
  go.max_new_tokens = 8;
  go.num_return_sequences = 32;
  sample::Generator gen(sample::SamplerChain{}, go);
  const SampledSolutions s = sample_solutions(lm, tok, gen, "1+1=");
  ASSERT_EQ(s.texts.size(), 32u);
  int64_t total = 0;
  for (size_t i = 0; i < s.texts.size(); ++i) {
    EXPECT_TRUE(s.texts[i] == "2" || s.texts[i] == "1\n2" || s.texts[i] == "1\n3") << s.texts[i];
    total += static_cast<int64_t>(s.tokens[i].size());
  }
  EXPECT_EQ(s.compute.tokens_generated, total);
}

TEST(LmStepModel, TerminalRewardFromTheValueFunction) {
  // terminal_reward = "value": finished steps are scored by the value function on prompt + steps
  // (here 0.25 when the last real token is "3", a wrong answer, else −0.75), not by the verifier.
  torch::set_num_threads(1);
  const nn::CharTokenizer tok = make_tok();
  LineBigram lm(tok);
  OnePlusOne task;
  LmStepOptions opts;
  opts.terminal_reward = "value";
  LmStepModel steps(lm, tok, task, sample::SamplerChain{}, opts);
  core::Rng rng(1);
  steps.set_problem(task.sample(rng));
  const int64_t nl = tok.encode("\n").at(0), one = tok.encode("1").at(0), three = tok.encode("3").at(0);
  EXPECT_THROW(steps.expand({{one, nl}}, 4), core::UserError);  // no value function yet
  int64_t calls = 0;
  steps.set_value_fn([&](const std::vector<Tokens>& seqs) {
    ++calls;
    std::vector<double> v;
    for (const Tokens& s : seqs) v.push_back(s[s.size() - 2] == three ? 0.25 : -0.75);
    return v;
  });
  const auto cands = steps.expand({{one, nl}}, 16);
  ASSERT_FALSE(cands[0].empty());
  for (const StepCandidate& c : cands[0]) {
    ASSERT_TRUE(c.terminal);
    EXPECT_EQ(c.reward, c.tokens.front() == three ? 0.25 : -0.75);
  }
  EXPECT_EQ(calls, 1);  // one batched call for every finished candidate
  LmStepOptions bad;
  bad.terminal_reward = "judge";
  EXPECT_THROW(LmStepModel(lm, tok, task, sample::SamplerChain{}, bad), core::UserError);
}
