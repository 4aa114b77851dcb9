// token_logprobs() against log_softmax of the full logits taken in double here, for chunk sizes
// 1, 3 and L and a temperature; its gradients against autograd through the full (B, L, V) logits.
#include <gtest/gtest.h>

#include "rlpp/core/error.h"
#include "rlpp/nn/lm/transformer.h"

namespace rlpp::nn::lm {
namespace {

LmConfig tiny_config(bool tied) {
  LmConfig c;
  c.vocab_size = 29;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.tie_word_embeddings = tied;
  return c;
}

TransformerLm make_model(bool tied) {
  torch::manual_seed(11);
  TransformerLm m(tiny_config(tied));
  torch::NoGradGuard g;
  for (auto& p : m->named_parameters()) {
    if (p.key().find("norm") == std::string::npos) p.value().normal_(0.0, 0.4);
  }
  return m;
}

struct Case {
  torch::Tensor tokens;     // (B, L)
  torch::Tensor attention;  // (B, L)
};

Case make_case() {
  torch::manual_seed(5);
  Case c;
  c.tokens = torch::randint(0, 29, {2, 7}, torch::kLong);
  c.attention = torch::ones({2, 7}, torch::kBool);
  c.attention[1].slice(0, 0, 2).fill_(false);  // left padding in row 1
  return c;
}

TEST(LmTokenLogprobs, EqualsDoubleLogSoftmaxForEveryChunkSize) {
  TransformerLm m = make_model(false);
  const Case k = make_case();
  const int64_t L = k.tokens.size(1);
  for (double temperature : {1.0, 0.7}) {
    torch::Tensor ref_logp, ref_ent;
    {
      torch::NoGradGuard g;
      const torch::Tensor logits = m->forward(k.tokens, k.attention).to(torch::kDouble) / temperature;  // (B, L, V)
      const torch::Tensor lsm = torch::log_softmax(logits, -1);
      ref_logp = torch::zeros({2, L}, torch::kDouble);
      ref_ent = torch::zeros({2, L}, torch::kDouble);
      for (int64_t b = 0; b < 2; ++b)
        for (int64_t t = 1; t < L; ++t) {
          ref_logp[b][t] = lsm[b][t - 1][k.tokens[b][t].item<int64_t>()];
          ref_ent[b][t] = -(lsm[b][t - 1].exp() * lsm[b][t - 1]).sum();
        }
    }
    for (int64_t chunk : {int64_t{1}, int64_t{3}, L}) {
      const TokenLogProbs out = token_logprobs(m, k.tokens, k.attention, chunk, temperature);
      ASSERT_EQ(out.logp.sizes(), (std::vector<int64_t>{2, L}));
      EXPECT_LT((out.logp.to(torch::kDouble) - ref_logp).abs().max().item<double>(), 1e-5) << "chunk " << chunk;
      EXPECT_LT((out.entropy.to(torch::kDouble) - ref_ent).abs().max().item<double>(), 1e-5) << "chunk " << chunk;
      EXPECT_EQ(out.logp.select(1, 0).abs().sum().item<double>(), 0.0);
    }
  }
}

// loss = sum(a * logp) + sum(c * entropy), its parameter gradients through token_logprobs and
// through autograd of log_softmax on the whole logits tensor.
void check_gradients(bool tied) {
  TransformerLm m = make_model(tied);
  const Case k = make_case();
  const int64_t L = k.tokens.size(1);
  torch::manual_seed(9);
  const torch::Tensor a = torch::randn({2, L}), c = torch::randn({2, L});
  const double temperature = 0.8;

  m->zero_grad();
  const torch::Tensor logits = m->forward(k.tokens, k.attention) / temperature;             // (B, L, V)
  const torch::Tensor lsm = torch::log_softmax(logits.slice(1, 0, L - 1), -1);              // (B, L-1, V)
  const torch::Tensor logp = lsm.gather(-1, k.tokens.slice(1, 1, L).unsqueeze(-1)).squeeze(-1);
  const torch::Tensor ent = -(lsm.exp() * lsm).sum(-1);
  ((a.slice(1, 1, L) * logp).sum() + (c.slice(1, 1, L) * ent).sum()).backward();
  std::map<std::string, torch::Tensor> ref;
  for (const auto& p : m->named_parameters()) ref[p.key()] = p.value().grad().clone();

  for (int64_t chunk : {int64_t{1}, int64_t{4}}) {
    m->zero_grad();
    const TokenLogProbs out = token_logprobs(m, k.tokens, k.attention, chunk, temperature);
    ASSERT_TRUE(out.logp.requires_grad());
    ((a * out.logp).sum() + (c * out.entropy).sum()).backward();
    for (const auto& p : m->named_parameters()) {
      ASSERT_TRUE(p.value().grad().defined()) << p.key();
      const double scale = std::max(1e-3, ref[p.key()].abs().max().item<double>());
      EXPECT_LT((p.value().grad() - ref[p.key()]).abs().max().item<double>() / scale, 1e-4)
          << p.key() << " tied " << tied << " chunk " << chunk;
    }
  }
}

TEST(LmTokenLogprobs, GradientsMatchFullLogitsUntied) { check_gradients(false); }
TEST(LmTokenLogprobs, GradientsMatchFullLogitsTied) { check_gradients(true); }

TEST(LmTokenLogprobs, RunsUnderInferenceMode) {
  TransformerLm m = make_model(false);
  const Case k = make_case();
  const TokenLogProbs grad_mode = token_logprobs(m, k.tokens, k.attention, 2);
  c10::InferenceMode inference;  // rollouts score their samples without a graph
  const TokenLogProbs out = token_logprobs(m, k.tokens, k.attention, 2);
  EXPECT_FALSE(out.logp.requires_grad());
  EXPECT_TRUE(out.logp.equal(grad_mode.logp.detach()));
  EXPECT_TRUE(out.entropy.equal(grad_mode.entropy.detach()));
}

TEST(LmTokenLogprobs, RejectsBadArguments) {
  TransformerLm m = make_model(true);
  const Case k = make_case();
  EXPECT_THROW(token_logprobs(m, k.tokens, k.attention, 0), core::UserError);
  EXPECT_THROW(token_logprobs(m, k.tokens, k.attention, 4, 0.0), core::UserError);
}

}  // namespace
}  // namespace rlpp::nn::lm
