// sample::Generator over a TransformerLm with the fast decode path (fast_decode.h) against the same
// model on the LibTorch path: same seed, same prompts (ragged, several groups), same chain. The
// kernels equal LibTorch's to ~1e-6, so the exponential race picks another token only when a draw
// falls within rounding of a tie; every sampled token's log-probs must agree to 1e-4 and at least
// 99 % of the tokens must be identical (at this seed all of them are; a change of the kernels'
// rounding may flip a rare one, which the 99 % bound allows while any real error would fail it).
#include <gtest/gtest.h>

#include <vector>

#include "rlpp/nn/lm/transformer.h"
#include "rlpp/sample/generator.h"

// A named namespace of its own: the layer's tests are compiled in unity batches.
namespace rlpp::sample::fast_generate_test {
namespace {

nn::lm::TransformerLm make_model(bool fast) {
  nn::lm::LmConfig c;
  c.vocab_size = 20;
  c.hidden_size = 64;
  c.intermediate_size = 96;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.max_position_embeddings = 128;
  c.tie_word_embeddings = true;
  c.eos_token_id = 2;
  c.pad_token_id = 0;
  torch::manual_seed(11);
  nn::lm::TransformerLm m(c);
  torch::NoGradGuard g;
  for (auto& p : m->named_parameters()) {
    if (p.key().find("norm") == std::string::npos) p.value().normal_(0.0, 0.15);  // varied, not peaked
  }
  m->set_fast_path(fast);
  return m;
}

TEST(FastGenerate, SameTokensAndLogProbsAsTheLibTorchPath) {
  nn::lm::TransformerLm ref = make_model(false), fast = make_model(true);
  const std::vector<std::vector<int64_t>> prompts{{1, 5, 6, 7}, {1, 9}, {1, 3, 4, 12, 13, 8}, {1, 17, 18}};
  GenerationOptions o;
  o.max_new_tokens = 24;
  o.num_return_sequences = 8;
  o.seed = 4;
  Generator gr(default_chain({"top_p", "temperature"}), o), gf(default_chain({"top_p", "temperature"}), o);
  for (int call = 0; call < 2; ++call) {  // the second call reuses the cache
    const Generation a = gr.generate(*ref, prompts), b = gf.generate(*fast, prompts);
    ASSERT_EQ(a.tokens.sizes(), b.tokens.sizes()) << "call " << call;
    const torch::Tensor both = a.mask.logical_and(b.mask);
    const double same = a.tokens.eq(b.tokens).logical_and(both).sum().item<double>() / both.sum().item<double>();
    EXPECT_GE(same, 0.99) << "call " << call;
    // Log-probs where the rows have not diverged yet (identical prefix of tokens).
    const torch::Tensor agree = a.tokens.eq(b.tokens).to(torch::kLong).cumprod(1).to(torch::kBool).logical_and(both);
    for (const auto& [x, y, what] : {std::tuple{a.logp, b.logp, "logp"}, std::tuple{a.logp_sample, b.logp_sample, "logp_sample"},
                                     std::tuple{a.entropy, b.entropy, "entropy"}}) {
      const double diff = (x - y).abs().masked_select(agree).max().item<double>();
      EXPECT_LT(diff, 1e-4) << what << " call " << call;
    }
    EXPECT_GT(a.tokens_generated, 100);
    std::printf("[ fast_generate ] call %d: %lld tokens, identical %.4f\n", call,
                static_cast<long long>(a.tokens_generated), same);
  }
}

}  // namespace
}  // namespace rlpp::sample::fast_generate_test
