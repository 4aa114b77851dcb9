// The fast decode path (fast_decode.h) against the LibTorch path of TransformerLm::forward_cached as
// the reference: two copies of one model, one with set_fast_path(true), fed the same prefill and
// decode steps (left-padded ragged rows, a pad fed to a finished row, rope scalings, GQA, biases,
// tied and untied heads); logits of the rows that decode and the valid slots of the KV cache
// compared tensor by tensor, printing the max difference. Plus the two paths taking turns on one cache, a cache reset and reuse, and the errors.
#include <gtest/gtest.h>

#include <vector>

#include "rlpp/core/error.h"
#include "rlpp/nn/lm/fast_decode.h"
#include "rlpp/nn/lm/transformer.h"

// A named namespace of its own: the layer's tests are compiled in unity batches.
namespace rlpp::nn::lm::fast_decode_test {
namespace {

LmConfig small_config() {
  LmConfig c;
  c.vocab_size = 23;
  c.hidden_size = 32;
  c.intermediate_size = 40;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.max_position_embeddings = 64;
  c.rms_norm_eps = 1e-6;
  return c;
}

// Random weights large enough for the logits to vary (HF's 0.02 init makes them nearly constant).
TransformerLm make_model(const LmConfig& c, bool fast, uint64_t seed = 3) {
  torch::manual_seed(seed);
  TransformerLm m(c);
  torch::NoGradGuard g;
  for (auto& p : m->named_parameters()) {
    if (p.key().find("norm") != std::string::npos) {
      p.value().uniform_(0.5, 1.5);
    } else {
      p.value().normal_(0.0, 0.3);
    }
  }
  m->set_fast_path(fast);
  return m;
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

// A batch of 3 ragged prompts (lengths 5, 2, 4), left-padded with 0: tokens, valid, positions.
struct Batch {
  torch::Tensor tokens, valid, positions;
};
Batch ragged_prompts() {
  const std::vector<std::vector<int64_t>> rows{{3, 7, 1, 12, 5}, {9, 2}, {4, 4, 18, 6}};
  const int64_t B = 3, P = 5;
  Batch out{torch::zeros({B, P}, torch::kLong), torch::zeros({B, P}, torch::kBool), torch::zeros({B, P}, torch::kLong)};
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = static_cast<int64_t>(rows[b].size()), off = P - n;
    for (int64_t j = 0; j < n; ++j) {
      out.tokens[b][off + j] = rows[b][j];
      out.valid[b][off + j] = true;
      out.positions[b][off + j] = j;
    }
  }
  return out;
}

// Prefill + `steps` decode steps on both models; every logits tensor and, at the end, the caches
// must agree. Row 1 "finishes" after the second decode step: it is then fed the pad, invalid, at a
// position that no longer advances (what sample::Generator does).
void expect_paths_agree(const LmConfig& c, int64_t steps = 5, double tol = 3e-5) {
  TransformerLm ref = make_model(c, /*fast=*/false), fast = make_model(c, /*fast=*/true);
  torch::NoGradGuard no_grad;
  const Batch p = ragged_prompts();
  const int64_t B = p.tokens.size(0), P = p.tokens.size(1);
  KvCache cache_ref(c, B, P + steps, torch::kFloat), cache_fast(c, B, P + steps, torch::kFloat);
  const torch::Tensor lr = ref->forward_cached(p.tokens, p.positions, p.valid, cache_ref);   // (B, P, V)
  const torch::Tensor lf = fast->forward_cached(p.tokens, p.positions, p.valid, cache_fast);  // (B, P, V)
  ASSERT_EQ(lf.sizes(), lr.sizes());
  double worst = max_diff(lf, lr);
  EXPECT_LT(worst, tol) << "prefill, rope " << c.rope_scaling.kind;
  torch::Tensor next_pos = p.valid.sum(1);  // (B)
  torch::Tensor tok = lr.select(1, P - 1).argmax(-1);  // (B)
  for (int64_t s = 0; s < steps; ++s) {
    torch::Tensor valid = torch::ones({B}, torch::kBool);
    if (s >= 2) valid[1] = false;
    const torch::Tensor in = torch::where(valid, tok, torch::zeros_like(tok)).unsqueeze(1);
    const torch::Tensor r = ref->forward_cached(in, next_pos.unsqueeze(1), valid.unsqueeze(1), cache_ref);   // (B, 1, V)
    const torch::Tensor f = fast->forward_cached(in, next_pos.unsqueeze(1), valid.unsqueeze(1), cache_fast);  // (B, 1, V)
    // A row with no valid token is skipped by the fast path: its logits are 0 (and unused).
    const torch::Tensor live = valid.view({B, 1, 1});
    const double diff = max_diff(f.masked_select(live), r.masked_select(live));
    worst = std::max(worst, diff);
    EXPECT_LT(diff, tol) << "decode step " << s << ", rope " << c.rope_scaling.kind;
    EXPECT_TRUE(torch::all(f.masked_select(live.logical_not()) == 0).item<bool>()) << "decode step " << s;
    next_pos += valid.to(torch::kLong);
    tok = r.select(1, 0).argmax(-1);
  }
  EXPECT_EQ(cache_fast.length, cache_ref.length);
  EXPECT_TRUE(torch::equal(cache_fast.key_valid, cache_ref.key_valid));
  // Keys and values of every valid slot (the skipped rows' pad slots are never read).
  const torch::Tensor slot_valid = cache_ref.key_valid.view({B, 1, P + steps, 1});  // (B, 1, S, 1)
  double kv = 0;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const torch::Tensor kf = cache_fast.k[l].masked_select(slot_valid), kr = cache_ref.k[l].masked_select(slot_valid);
    const torch::Tensor vf = cache_fast.v[l].masked_select(slot_valid), vr = cache_ref.v[l].masked_select(slot_valid);
    ASSERT_EQ(kf.numel(), c.num_key_value_heads * c.resolved_head_dim() * cache_ref.key_valid.sum().item<int64_t>());
    kv = std::max({kv, max_diff(kf, kr), max_diff(vf, vr)});
  }
  EXPECT_LT(kv, tol);
  std::printf("[ fast_decode ] %s rope %s bias %d tied %d: max |logits| %.3g, max |fast - libtorch| = %.3g, max |kv| = %.3g\n",
              c.model_type.c_str(), c.rope_scaling.kind.c_str(), c.attention_bias, c.tie_word_embeddings,
              lr.abs().max().item<double>(), worst, kv);
}

TEST(LmFastDecode, LlamaGqaUntiedMatchesLibTorch) { expect_paths_agree(small_config()); }

TEST(LmFastDecode, TiedHeadAndMultiHeadKvMatchLibTorch) {
  LmConfig c = small_config();
  c.tie_word_embeddings = true;
  c.num_key_value_heads = 4;
  expect_paths_agree(c);
}

TEST(LmFastDecode, Qwen2BiasesAndLlamaBiasesMatchLibTorch) {
  LmConfig c = small_config();
  c.model_type = "qwen2";  // q/k/v biases
  c.attention_bias = true;
  c.num_key_value_heads = 1;
  expect_paths_agree(c);
  c.model_type = "llama";  // llama's attention_bias also has an o_proj bias; mlp_bias all three
  c.mlp_bias = true;
  expect_paths_agree(c);
}

TEST(LmFastDecode, RopeScalingsAndHeadDimMatchLibTorch) {
  LmConfig c = small_config();
  c.head_dim = 12;  // nh·d = 48 != hidden 32
  c.rope_scaling.kind = "linear";
  c.rope_scaling.factor = 2.5;
  expect_paths_agree(c);
  c.rope_scaling = RopeScaling{};
  c.rope_scaling.kind = "dynamic";  // L0 = 4: the frequencies change with every decode step
  c.rope_scaling.factor = 3.0;
  c.rope_scaling.original_max_position_embeddings = 4;
  expect_paths_agree(c);
  c.rope_scaling = RopeScaling{};
  c.rope_scaling.kind = "yarn";  // attention factor != 1
  c.rope_scaling.factor = 4.0;
  c.rope_scaling.original_max_position_embeddings = 16;
  expect_paths_agree(c);
}

// The two paths write the same cache: a prefill by one and decode steps by the other, alternating,
// give the logits of the LibTorch path alone; a reset cache is reused (the re-encode of partial
// rollouts) and gives the prefill's logits again.
TEST(LmFastDecode, PathsTakeTurnsOnOneCacheAndResetReuses) {
  const LmConfig c = small_config();
  TransformerLm m = make_model(c, /*fast=*/false), ref = make_model(c, /*fast=*/false);
  torch::NoGradGuard no_grad;
  const Batch p = ragged_prompts();
  const int64_t B = 3, P = 5, steps = 4;
  KvCache mixed(c, B, P + steps, torch::kFloat), plain(c, B, P + steps, torch::kFloat);
  m->set_fast_path(true);
  const torch::Tensor first = m->forward_cached(p.tokens, p.positions, p.valid, mixed);
  EXPECT_LT(max_diff(first, ref->forward_cached(p.tokens, p.positions, p.valid, plain)), 1e-5);
  torch::Tensor pos = p.valid.sum(1).unsqueeze(1);  // (B, 1)
  const torch::Tensor all = torch::ones({B, 1}, torch::kBool);
  for (int64_t s = 0; s < steps; ++s) {
    m->set_fast_path(s % 2 == 1);
    const torch::Tensor in = torch::full({B, 1}, 2 + s, torch::kLong);
    const double diff = max_diff(m->forward_cached(in, pos, all, mixed), ref->forward_cached(in, pos, all, plain));
    EXPECT_LT(diff, 1e-5) << "step " << s;
    pos += 1;
  }
  mixed.reset();
  m->set_fast_path(true);
  EXPECT_LT(max_diff(m->forward_cached(p.tokens, p.positions, p.valid, mixed), first), 1e-6);
  EXPECT_EQ(mixed.length, P);
}

// Bad input: grad mode, a full cache, another batch size, a token outside the vocabulary (nothing
// written), a bf16 cache, a model that is not fp32 (fast_path_unsupported's reason).
TEST(LmFastDecode, ErrorsAreUserErrors) {
  const LmConfig c = small_config();
  TransformerLm m = make_model(c, /*fast=*/true);
  const torch::Tensor tok = torch::tensor({{1, 2}}, torch::kLong), pos = torch::tensor({{0, 1}}, torch::kLong);
  const torch::Tensor val = torch::ones({1, 2}, torch::kBool);
  {
    KvCache cache(c, 1, 4, torch::kFloat);
    EXPECT_THROW(m->forward_cached(tok, pos, val, cache), core::UserError);  // grad mode: no backward
  }
  torch::NoGradGuard no_grad;
  KvCache small(c, 1, 1, torch::kFloat);
  EXPECT_THROW(m->forward_cached(tok, pos, val, small), core::UserError);  // overflow
  KvCache two(c, 2, 4, torch::kFloat);
  EXPECT_THROW(m->forward_cached(tok, pos, val, two), core::UserError);  // batch
  KvCache cache(c, 1, 4, torch::kFloat);
  EXPECT_THROW(m->forward_cached(torch::tensor({{1, 99}}, torch::kLong), pos, val, cache), core::UserError);
  EXPECT_EQ(cache.length, 0);
  KvCache bf16(c, 1, 4, torch::kBFloat16);
  EXPECT_THROW(m->forward_cached(tok, pos, val, bf16), core::UserError);
  m->to(torch::kDouble);
  try {
    m->forward_cached(tok, pos, val, cache);
    ADD_FAILURE() << "a double model ran on the fast path";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("not fp32"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rlpp::nn::lm::fast_decode_test
