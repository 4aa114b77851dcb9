// Multi-turn rollouts against an exactly-known bigram language model: every recorded log-prob is
// re-derived from the bigram table and the previous token of the assembled row — environment text
// included, which checks that each turn was generated from the whole dialogue so far — and the
// masks, the environment's text and what the environment received are checked token by token.
#include "rlpp/train/lm/multi_turn.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/tiny_lm.h"
#include "rlpp/nn/tokenizer/char_tokenizer.h"
#include "rlpp/sample/sampler_chain.h"

using namespace rlpp;
using namespace rlpp::train::lm;

namespace {

// Next-token logits depend on the last token only: a fixed random table (V, V).
class Bigram final : public nn::lm::CausalLm {
 public:
  Bigram(const nn::Tokenizer& tok, uint64_t seed) {
    const int64_t v = tok.vocab_size();
    cfg_.vocab_size = v;
    cfg_.hidden_size = 4;
    cfg_.intermediate_size = 4;
    cfg_.num_hidden_layers = 1;
    cfg_.num_attention_heads = 1;
    cfg_.num_key_value_heads = 1;
    cfg_.eos_token_id = tok.eos_id;
    torch::manual_seed(seed);
    table_ = torch::rand({v, v}) * 2.0 - 1.0;
    table_.select(1, tok.eos_id) += 0.5;  // turns end after a few tokens
  }
  torch::Tensor forward_cached(const torch::Tensor& tokens, const torch::Tensor& positions, const torch::Tensor& valid,
                               nn::lm::KvCache& cache) override {
    cache.key_valid.narrow(1, cache.length, tokens.size(1)).copy_(valid);
    cache.length += tokens.size(1);
    return table_.index_select(0, tokens.flatten()).view({tokens.size(0), tokens.size(1), -1});
  }
  const nn::lm::LmConfig& lm_config() const override { return cfg_; }
  torch::Device lm_device() const override { return torch::kCPU; }
  // log softmax(table[prev])[next], in double precision.
  double logp(int64_t prev, int64_t next) const {
    const auto row = table_[prev].to(torch::kFloat64);
    return (row[next] - row.exp().sum().log()).item<double>();
  }

 private:
  nn::lm::LmConfig cfg_;
  torch::Tensor table_;
};

nn::CharTokenizer make_tok() { return nn::CharTokenizer(rlpp::testing::char_tokenizer_spec("abc>.", {"<eos>", "<bos>"})); }

// Replies "." + "c>" after each model turn; done after `turns` model turns. Records what it got.
class Echo final : public TurnEnv {
 public:
  explicit Echo(int turns) : turns_(turns) {}
  std::string opening() override { return "ab>"; }
  Reply respond(const std::string& model_turn) override {
    received.push_back(model_turn);
    const bool done = static_cast<int>(received.size()) >= turns_;
    return {done ? "" : ".c>", done};
  }
  double reward() const override { return static_cast<double>(received.size()); }
  double correct() const override { return received.size() >= static_cast<size_t>(turns_) ? 1.0 : 0.0; }
  std::vector<std::string> received;

 private:
  int turns_;
};

}  // namespace

TEST(MultiTurn, ModelTokensCarryBigramLogProbsOfTheWholeDialogue) {
  torch::set_num_threads(1);
  const nn::CharTokenizer tok = make_tok();
  Bigram lm(tok, 7);
  sample::GenerationOptions go;
  go.max_new_tokens = 12;
  go.seed = 3;
  sample::Generator gen(sample::SamplerChain{}, go);
  std::vector<std::unique_ptr<TurnEnv>> envs;
  const std::vector<int> turns = {1, 2, 3, 3, 3, 3};
  for (int t : turns) envs.push_back(std::make_unique<Echo>(t));
  MultiTurnOptions opts;
  opts.max_turns = 3;
  const RolloutBatch b = multi_turn_rollout(lm, tok, gen, envs, {0, 0, 1, 1, 2, 2}, opts);

  const int64_t B = 6, eos = tok.eos_id;
  ASSERT_EQ(b.rows(), B);
  const std::vector<int64_t> env_reply = tok.encode(".c>");
  for (int64_t i = 0; i < B; ++i) {
    auto* env = static_cast<Echo*>(envs[static_cast<size_t>(i)].get());
    // The prompt: BOS + "ab>", left-padded.
    std::vector<int64_t> seq;
    for (int64_t j = 0; j < b.prompt_tokens.size(1); ++j)
      if (b.prompt_mask[i][j].item<bool>()) seq.push_back(b.prompt_tokens[i][j].item<int64_t>());
    std::vector<int64_t> want_prompt = {tok.bos_id};
    for (int64_t id : tok.encode("ab>")) want_prompt.push_back(id);
    ASSERT_EQ(seq, want_prompt);
    // Walk the response: model turns end with EOS (or the length limit), each followed by ".c>".
    int64_t t = 0, model_tokens = 0;
    size_t turn = 0;
    const int64_t n_attend = b.attend[i].sum().item<int64_t>();
    double max_err = 0;
    while (t < n_attend) {
      std::vector<int64_t> turn_ids;
      while (t < n_attend && b.mask[i][t].item<bool>()) {
        const int64_t id = b.tokens[i][t].item<int64_t>();
        max_err = std::max(max_err, std::abs(b.logp[i][t].item<double>() - lm.logp(seq.back(), id)));
        EXPECT_EQ(b.turn[i][t].item<int64_t>(), static_cast<int64_t>(turn));
        // No sampler: the sampling distribution is the policy itself.
        EXPECT_NEAR(b.logp_sample[i][t].item<double>(), b.logp[i][t].item<double>(), 1e-6);
        turn_ids.push_back(id);
        seq.push_back(id);
        ++t;
        ++model_tokens;
        if (id == eos) break;
      }
      ASSERT_LT(turn, env->received.size() + (b.truncated[i].item<bool>() ? 1 : 0)) << "row " << i;
      if (turn < env->received.size()) {
        EXPECT_EQ(env->received[turn], tok.decode(turn_ids, /*skip_special=*/true));
      }
      ++turn;
      if (t < n_attend && !b.mask[i][t].item<bool>()) {  // the environment's reply, never trained on
        for (int64_t id : env_reply) {
          ASSERT_LT(t, n_attend);
          EXPECT_FALSE(b.mask[i][t].item<bool>());
          EXPECT_EQ(b.tokens[i][t].item<int64_t>(), id);
          EXPECT_EQ(b.logp[i][t].item<float>(), 0.F);
          EXPECT_EQ(b.turn[i][t].item<int64_t>(), static_cast<int64_t>(turn) - 1);  // after model turn `turn - 1`
          seq.push_back(id);
          ++t;
        }
      }
    }
    EXPECT_LT(max_err, 1e-5) << "row " << i;
    EXPECT_EQ(b.lengths[i].item<int64_t>(), model_tokens);
    EXPECT_EQ(b.mask[i].sum().item<int64_t>(), model_tokens);
    // Done when the env said so; truncated exactly when it did not.
    const bool finished = static_cast<int>(env->received.size()) == turns[static_cast<size_t>(i)];
    EXPECT_EQ(b.truncated[i].item<bool>(), !finished) << "row " << i;
    EXPECT_EQ(b.reward[i].item<float>(), static_cast<float>(env->received.size()));
    for (int64_t j = n_attend; j < b.tokens.size(1); ++j) EXPECT_EQ(b.tokens[i][j].item<int64_t>(), b.pad_token);
  }
  EXPECT_TRUE(torch::equal(b.group_id, torch::tensor({0, 0, 1, 1, 2, 2}, torch::kInt64)));
}

TEST(MultiTurn, TurnAndTokenBudgetsTruncate) {
  torch::set_num_threads(1);
  const nn::CharTokenizer tok = make_tok();
  Bigram lm(tok, 11);
  sample::GenerationOptions go;
  go.max_new_tokens = 12;
  sample::Generator gen(sample::SamplerChain{}, go);
  std::vector<std::unique_ptr<TurnEnv>> envs;
  for (int i = 0; i < 4; ++i) envs.push_back(std::make_unique<Echo>(100));
  MultiTurnOptions opts;
  opts.max_turns = 2;
  RolloutBatch b = multi_turn_rollout(lm, tok, gen, envs, {0, 1, 2, 3}, opts);
  for (int64_t i = 0; i < 4; ++i) {
    EXPECT_TRUE(b.truncated[i].item<bool>());
    EXPECT_LE(static_cast<Echo*>(envs[static_cast<size_t>(i)].get())->received.size(), 2u);
  }
  // A token budget smaller than the opening: no model turn at all.
  std::vector<std::unique_ptr<TurnEnv>> one;
  one.push_back(std::make_unique<Echo>(1));
  opts.max_total_tokens = 3;
  b = multi_turn_rollout(lm, tok, gen, one, {0}, opts);
  EXPECT_TRUE(b.truncated[0].item<bool>());
  EXPECT_EQ(b.mask.sum().item<int64_t>(), 0);
  EXPECT_THROW(multi_turn_rollout(lm, tok, gen, one, {0, 1}, opts), core::UserError);
}
