// The fast path of token_logprobs (fast_logprobs.h) against the LibTorch path of the same model,
// value by value and gradient by gradient, for the architectures and options it covers (GQA,
// Qwen2 biases, untied head, o/MLP biases, RoPE scaling, temperature, left padding, L = 1 and 2);
// its gradients also against central finite differences of the model taken in double.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "rlpp/core/error.h"
#include "rlpp/nn/lm/fast_logprobs.h"
#include "rlpp/nn/lm/llama_weights.h"
#include "rlpp/nn/lm/transformer.h"

namespace rlpp::nn::lm {
namespace {

LmConfig base_config() {
  LmConfig c;
  c.vocab_size = 23;
  c.hidden_size = 32;
  c.intermediate_size = 40;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.max_position_embeddings = 64;
  c.tie_word_embeddings = true;
  return c;
}

// Weights ~ N(0, 0.3) (biases too, so that they matter), norm weights ~ 1 + N(0, 0.2).
TransformerLm random_model(const LmConfig& cfg, uint64_t seed) {
  torch::manual_seed(seed);
  TransformerLm m(cfg);
  torch::NoGradGuard g;
  for (auto& p : m->named_parameters()) {
    if (p.key().find("norm") != std::string::npos) {
      p.value().normal_(1.0, 0.2);
    } else {
      p.value().normal_(0.0, 0.3);
    }
  }
  return m;
}

struct Batch {
  torch::Tensor tokens;     // (B, L) int64
  torch::Tensor attention;  // (B, L) bool or undefined
};

// Row b has pads[b] left pads (pads.empty(): no attention mask at all).
Batch make_batch(int64_t V, int64_t L, const std::vector<int64_t>& pads, uint64_t seed) {
  torch::manual_seed(seed);
  const int64_t B = pads.empty() ? 3 : static_cast<int64_t>(pads.size());
  Batch out;
  out.tokens = torch::randint(0, V, {B, L}, torch::kLong);
  if (!pads.empty()) {
    out.attention = torch::ones({B, L}, torch::kBool);
    for (int64_t b = 0; b < B; ++b) {
      out.attention[b].slice(0, 0, pads[b]).fill_(false);
      out.tokens[b].slice(0, 0, pads[b]).fill_(0);
    }
  }
  return out;
}

double max_abs(const torch::Tensor& t) { return t.numel() == 0 ? 0.0 : t.abs().max().item<double>(); }

// logp and entropy of both paths, and the gradients of loss = Σ a ⊙ logp + c ⊙ entropy with respect
// to every parameter (llama_parameters order) through each path.
void check_against_libtorch(const std::string& name, const LmConfig& cfg, const Batch& batch, double tau) {
  SCOPED_TRACE(name);
  TransformerLm m = random_model(cfg, 3);
  const std::vector<torch::Tensor> params = llama_parameters(m);
  const int64_t B = batch.tokens.size(0), L = batch.tokens.size(1);
  torch::manual_seed(17);
  const torch::Tensor a = torch::randn({B, L}), c = torch::randn({B, L});

  m->set_fast_path(false);
  const TokenLogProbs ref = token_logprobs(m, batch.tokens, batch.attention, /*chunk=*/5, tau);
  m->set_fast_path(true);
  const TokenLogProbs fast = token_logprobs(m, batch.tokens, batch.attention, /*chunk=*/5, tau);
  ASSERT_EQ(fast.logp.sizes(), ref.logp.sizes());
  ASSERT_EQ(fast.entropy.sizes(), ref.entropy.sizes());
  const double d_logp = max_abs(fast.logp - ref.logp), d_ent = max_abs(fast.entropy - ref.entropy);
  std::printf("[%s] max |logp diff| %.3g, max |entropy diff| %.3g\n", name.c_str(), d_logp, d_ent);
  EXPECT_LT(d_logp, 2e-5);
  EXPECT_LT(d_ent, 2e-5);
  EXPECT_EQ(max_abs(fast.logp.select(1, 0)), 0.0);
  EXPECT_EQ(max_abs(fast.entropy.select(1, 0)), 0.0);
  if (L < 2) {  // nothing scored: zeros without a graph, on both paths
    EXPECT_FALSE(fast.logp.requires_grad());
    return;
  }
  ASSERT_TRUE(fast.logp.requires_grad());

  const auto grads = [&](const TokenLogProbs& out) {
    return torch::autograd::grad({(a * out.logp).sum() + (c * out.entropy).sum()}, params);
  };
  const std::vector<torch::Tensor> g_ref = grads(ref), g_fast = grads(fast);
  ASSERT_EQ(g_ref.size(), g_fast.size());
  const auto names = m->hf_named_parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    const double scale = std::max(1e-3, max_abs(g_ref[i]));
    const double rel = max_abs(g_fast[i] - g_ref[i]) / scale;
    EXPECT_LT(rel, 1e-4) << "parameter " << i << " shape " << params[i].sizes() << " |g_ref|max " << scale;
  }
}

TEST(LmFastLogprobs, LlamaGqaTiedLeftPadded) {
  const LmConfig cfg = base_config();
  check_against_libtorch("llama gqa", cfg, make_batch(cfg.vocab_size, 9, {0, 3, 8}, 1), 1.0);
}

TEST(LmFastLogprobs, LlamaWithoutAttentionMask) {
  const LmConfig cfg = base_config();
  check_against_libtorch("no mask", cfg, make_batch(cfg.vocab_size, 7, {}, 2), 1.0);
}

TEST(LmFastLogprobs, Qwen2BiasesTemperature) {
  LmConfig cfg = base_config();
  cfg.model_type = "qwen2";
  cfg.attention_bias = true;
  cfg.num_key_value_heads = 1;
  cfg.tie_word_embeddings = false;
  cfg.rms_norm_eps = 1e-5;
  check_against_libtorch("qwen2", cfg, make_batch(cfg.vocab_size, 8, {2, 0}, 3), 0.7);
}

TEST(LmFastLogprobs, UntiedWithOutputAndMlpBiases) {
  LmConfig cfg = base_config();
  cfg.attention_bias = true;  // llama: q/k/v and o biases
  cfg.mlp_bias = true;
  cfg.tie_word_embeddings = false;
  cfg.num_key_value_heads = 4;
  check_against_libtorch("o and mlp bias", cfg, make_batch(cfg.vocab_size, 6, {1, 0, 4}, 4), 0.7);
}

TEST(LmFastLogprobs, RopeScalingLinearAndLlama3) {
  LmConfig linear = base_config();
  linear.rope_scaling.kind = "linear";
  linear.rope_scaling.factor = 2.0;
  check_against_libtorch("rope linear", linear, make_batch(linear.vocab_size, 10, {0, 5}, 5), 1.0);
  LmConfig llama3 = base_config();
  llama3.rope_theta = 100.0;
  llama3.rope_scaling.kind = "llama3";
  llama3.rope_scaling.factor = 8.0;
  llama3.rope_scaling.low_freq_factor = 1.0;
  llama3.rope_scaling.high_freq_factor = 4.0;
  llama3.rope_scaling.original_max_position_embeddings = 8;
  check_against_libtorch("rope llama3", llama3, make_batch(llama3.vocab_size, 10, {3, 0}, 6), 0.7);
}

TEST(LmFastLogprobs, ShortSequences) {
  const LmConfig cfg = base_config();
  check_against_libtorch("L = 2", cfg, make_batch(cfg.vocab_size, 2, {1, 0, 0}, 7), 0.7);
  check_against_libtorch("L = 1", cfg, make_batch(cfg.vocab_size, 1, {0, 0}, 8), 1.0);
}

TEST(LmFastLogprobs, InferenceModeGivesTheSameValues) {
  const LmConfig cfg = base_config();
  TransformerLm m = random_model(cfg, 4);
  m->set_fast_path(true);
  const Batch batch = make_batch(cfg.vocab_size, 6, {0, 2}, 9);
  const TokenLogProbs with_graph = token_logprobs(m, batch.tokens, batch.attention);
  c10::InferenceMode inference;
  const TokenLogProbs out = token_logprobs(m, batch.tokens, batch.attention);
  EXPECT_FALSE(out.logp.requires_grad());
  EXPECT_TRUE(out.logp.equal(with_graph.logp.detach()));
  EXPECT_TRUE(out.entropy.equal(with_graph.entropy.detach()));
}

// The pass frees its activations in the backward: a second backward through a retained graph is a
// clear error, not a silent recomputation from freed memory.
TEST(LmFastLogprobs, SecondBackwardIsRefused) {
  const LmConfig cfg = base_config();
  TransformerLm m = random_model(cfg, 7);
  m->set_fast_path(true);
  const Batch batch = make_batch(cfg.vocab_size, 5, {0, 1}, 13);
  const TokenLogProbs out = token_logprobs(m, batch.tokens, batch.attention);
  const torch::Tensor loss = out.logp.sum() + out.entropy.sum();
  loss.backward({}, /*retain_graph=*/true);
  EXPECT_THROW(loss.backward(), core::UserError);
}

TEST(LmFastLogprobs, RefusesWhatItCannotRun) {
  const LmConfig cfg = base_config();
  TransformerLm m = random_model(cfg, 5);
  m->set_fast_path(true);
  const Batch batch = make_batch(cfg.vocab_size, 4, {0, 1}, 10);
  torch::Tensor bad = batch.tokens.clone();
  bad[0][2] = cfg.vocab_size;
  EXPECT_THROW(token_logprobs(m, bad, batch.attention), core::UserError);
  EXPECT_THROW(token_logprobs(m, batch.tokens.to(torch::kInt), batch.attention), core::UserError);
  m->to(torch::kDouble);  // fp64 parameters: fast_path_unsupported says why
  ASSERT_FALSE(fast_path_unsupported(m).empty());
  EXPECT_THROW(token_logprobs(m, batch.tokens, batch.attention), core::UserError);
}

// Central differences of loss = Σ a ⊙ logp + c ⊙ entropy with the model in double (logits and
// log-softmax in double here; only TransformerLm's RMSNorm rounds through fp32, ~1e-7 relative),
// step 1e-2, against the fast path's fp32 gradient at the largest-gradient entry of each parameter.
TEST(LmFastLogprobs, GradientsMatchDoubleFiniteDifferences) {
  LmConfig cfg;
  cfg.vocab_size = 7;
  cfg.hidden_size = 8;
  cfg.intermediate_size = 12;
  cfg.num_hidden_layers = 2;
  cfg.num_attention_heads = 2;
  cfg.num_key_value_heads = 1;
  cfg.max_position_embeddings = 16;
  cfg.attention_bias = true;
  cfg.mlp_bias = true;
  cfg.tie_word_embeddings = true;
  TransformerLm m = random_model(cfg, 6);
  m->set_fast_path(true);
  const Batch batch = make_batch(cfg.vocab_size, 5, {0, 2}, 11);
  const double tau = 0.7;
  torch::manual_seed(12);
  const torch::Tensor a = torch::randn({2, 5}, torch::kDouble), c = torch::randn({2, 5}, torch::kDouble);

  const std::vector<torch::Tensor> params = llama_parameters(m);
  const TokenLogProbs out = token_logprobs(m, batch.tokens, batch.attention, 256, tau);
  const std::vector<torch::Tensor> g = torch::autograd::grad(
      {(a.to(torch::kFloat) * out.logp).sum() + (c.to(torch::kFloat) * out.entropy).sum()}, params);

  TransformerLm dm(cfg);
  {
    torch::NoGradGuard no_grad;
    const std::vector<torch::Tensor> src = llama_parameters(m), dst = llama_parameters(dm);
    for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
  }
  dm->to(torch::kDouble);
  const std::vector<torch::Tensor> dparams = llama_parameters(dm);
  const int64_t L = 5;
  const auto loss = [&]() {
    torch::NoGradGuard no_grad;
    const torch::Tensor h = dm->hidden_states(batch.tokens, batch.attention);            // (B, L, H)
    const torch::Tensor z = torch::matmul(h, dm->lm_head_weight().t()) / tau;            // (B, L, V)
    const torch::Tensor lsm = torch::log_softmax(z.slice(1, 0, L - 1), -1);              // (B, L-1, V)
    const torch::Tensor logp = lsm.gather(-1, batch.tokens.slice(1, 1, L).unsqueeze(-1)).squeeze(-1);
    const torch::Tensor ent = -(lsm.exp() * lsm).sum(-1);
    return ((a.slice(1, 1, L) * logp).sum() + (c.slice(1, 1, L) * ent).sum()).item<double>();
  };
  const double step = 1e-2;
  for (size_t i = 0; i < params.size(); ++i) {
    const int64_t j = g[i].abs().flatten().argmax().item<int64_t>();
    torch::Tensor entry = dparams[i].detach().view({-1}).narrow(0, j, 1);
    const double x0 = entry.item<double>();
    entry.fill_(x0 + step);
    const double up = loss();
    entry.fill_(x0 - step);
    const double down = loss();
    entry.fill_(x0);
    const double fd = (up - down) / (2 * step);
    const double got = g[i].view({-1})[j].item<double>();
    EXPECT_NEAR(got, fd, 1e-3 + 1e-2 * std::abs(fd)) << "parameter " << i << " entry " << j;
  }
}

}  // namespace
}  // namespace rlpp::nn::lm
