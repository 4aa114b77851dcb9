// TransformerLm against a double-precision Llama/Qwen2 forward written out in this file (explicit
// loops for RoPE and attention, its own RoPE frequency formulas), hand-computed RMSNorm values, and
// the KV-cache property: incremental decoding (token by token, in chunks, ragged left-padded rows)
// equals the full forward.
#include <cstdio>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

#include "rlpp/core/error.h"
#include "nn/lm/rope_reference.h"
#include "rlpp/nn/lm/transformer.h"

namespace rlpp::nn::lm {
namespace {

using Params = std::map<std::string, torch::Tensor>;  // HF name -> float64 copy

LmConfig tiny_config() {
  LmConfig c;
  c.vocab_size = 37;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.max_position_embeddings = 64;
  c.rms_norm_eps = 1e-6;
  return c;
}

// Random weights large enough for the logits to vary (HF's 0.02 init makes them nearly constant).
TransformerLm make_model(const LmConfig& c, uint64_t seed = 1) {
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
  return m;
}

Params params_of(TransformerLm& m) {
  Params p;
  for (const auto& [name, t] : m->hf_named_parameters()) p[name] = t.detach().to(torch::kDouble);
  return p;
}

torch::Tensor ref_rmsnorm(const torch::Tensor& x, const torch::Tensor& w, double eps) {
  return x / torch::sqrt(x.pow(2).mean(-1, true) + eps) * w;
}

torch::Tensor ref_linear(const Params& p, const std::string& name, const torch::Tensor& x) {
  torch::Tensor y = torch::matmul(x, p.at(name + ".weight").t());
  if (p.count(name + ".bias")) y = y + p.at(name + ".bias");
  return y;
}

// One unpadded sequence, positions 0..T-1 -> logits (T, V) float64.
torch::Tensor ref_forward(const LmConfig& c, const Params& p, const std::vector<int64_t>& tokens) {
  const int64_t T = tokens.size(), nh = c.num_attention_heads, nkv = c.num_key_value_heads, d = c.resolved_head_dim();
  double af = 1.0;
  const std::vector<double> f = test_ref::reference_inv_freq(c, T, &af);
  torch::Tensor x = p.at("model.embed_tokens.weight").index_select(0, torch::tensor(tokens, torch::kLong));  // (T, H)
  // rotate one (T, heads*d) projection in place, pair (i, i + d/2) by angle t * f_i
  auto rope = [&](torch::Tensor y, int64_t heads) {
    auto a = y.accessor<double, 2>();
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = 0; i < d / 2; ++i) {
          const double x1 = a[t][h * d + i], x2 = a[t][h * d + i + d / 2];
          const double cs = std::cos(t * f[i]) * af, sn = std::sin(t * f[i]) * af;
          a[t][h * d + i] = x1 * cs - x2 * sn;
          a[t][h * d + i + d / 2] = x2 * cs + x1 * sn;
        }
    return y;
  };
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string pre = "model.layers." + std::to_string(l) + ".";
    const torch::Tensor h = ref_rmsnorm(x, p.at(pre + "input_layernorm.weight"), c.rms_norm_eps);
    const torch::Tensor q = rope(ref_linear(p, pre + "self_attn.q_proj", h).contiguous(), nh);
    const torch::Tensor k = rope(ref_linear(p, pre + "self_attn.k_proj", h).contiguous(), nkv);
    const torch::Tensor v = ref_linear(p, pre + "self_attn.v_proj", h).contiguous();
    torch::Tensor out = torch::zeros({T, nh * d}, torch::kDouble);
    auto qa = q.accessor<double, 2>(), ka = k.accessor<double, 2>(), va = v.accessor<double, 2>();
    auto oa = out.accessor<double, 2>();
    for (int64_t head = 0; head < nh; ++head) {
      const int64_t kvh = head / (nh / nkv);  // grouped-query attention
      for (int64_t t = 0; t < T; ++t) {
        std::vector<double> s(t + 1);
        double mx = -1e300;
        for (int64_t j = 0; j <= t; ++j) {  // causal
          double dot = 0;
          for (int64_t i = 0; i < d; ++i) dot += qa[t][head * d + i] * ka[j][kvh * d + i];
          s[j] = dot / std::sqrt(static_cast<double>(d));
          mx = std::max(mx, s[j]);
        }
        double z = 0;
        for (double& e : s) z += (e = std::exp(e - mx));
        for (int64_t j = 0; j <= t; ++j)
          for (int64_t i = 0; i < d; ++i) oa[t][head * d + i] += s[j] / z * va[j][kvh * d + i];
      }
    }
    x = x + ref_linear(p, pre + "self_attn.o_proj", out);
    const torch::Tensor h2 = ref_rmsnorm(x, p.at(pre + "post_attention_layernorm.weight"), c.rms_norm_eps);
    const torch::Tensor g = ref_linear(p, pre + "mlp.gate_proj", h2);
    x = x + ref_linear(p, pre + "mlp.down_proj", g * torch::sigmoid(g) * ref_linear(p, pre + "mlp.up_proj", h2));
  }
  x = ref_rmsnorm(x, p.at("model.norm.weight"), c.rms_norm_eps);
  const torch::Tensor& head = c.tie_word_embeddings ? p.at("model.embed_tokens.weight") : p.at("lm_head.weight");
  return torch::matmul(x, head.t());
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

// max |a − ref| / max |ref|: two float32 evaluations of the same logits in different orders (a
// padded batch, a KV cache) differ by rounding, which scales with the logits' size and with the
// CPU's BLAS kernels (1.08e-5 absolute at max |logit| ≈ 4 on an AMD EPYC); a masking or position
// error differs at the logits' own scale.
double max_rel_diff(const torch::Tensor& a, const torch::Tensor& ref) {
  return max_abs_diff(a, ref) / ref.abs().max().item<double>();
}

void expect_matches_reference(const LmConfig& c, const std::vector<int64_t>& tokens, uint64_t seed = 1) {
  TransformerLm m = make_model(c, seed);
  const torch::Tensor ref = ref_forward(c, params_of(m), tokens);                           // (T, V)
  torch::NoGradGuard g;
  const torch::Tensor got = m->forward(torch::tensor(tokens, torch::kLong).unsqueeze(0))[0];  // (T, V)
  ASSERT_EQ(got.scalar_type(), torch::kFloat);
  const double err = max_abs_diff(got, ref) / ref.abs().max().item<double>();
  EXPECT_LT(err, 2e-6) << "rope " << c.rope_scaling.kind << " tied " << c.tie_word_embeddings;
}

const std::vector<int64_t> kTokens{3, 17, 0, 36, 5, 5, 21, 9, 30};

TEST(LmTransformer, ParameterNamesAreHuggingFaces) {
  LmConfig c = tiny_config();
  c.model_type = "qwen2";
  c.attention_bias = true;
  torch::manual_seed(0);
  TransformerLm m(c);
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& [n, t] : m->hf_named_parameters()) shapes[n] = t.sizes().vec();
  const int64_t d = 8;
  EXPECT_EQ(shapes.at("model.embed_tokens.weight"), (std::vector<int64_t>{37, 32}));
  EXPECT_EQ(shapes.at("model.layers.1.self_attn.q_proj.weight"), (std::vector<int64_t>{4 * d, 32}));
  EXPECT_EQ(shapes.at("model.layers.1.self_attn.q_proj.bias"), (std::vector<int64_t>{4 * d}));
  EXPECT_EQ(shapes.at("model.layers.1.self_attn.k_proj.weight"), (std::vector<int64_t>{2 * d, 32}));
  EXPECT_EQ(shapes.at("model.layers.1.self_attn.v_proj.bias"), (std::vector<int64_t>{2 * d}));
  EXPECT_EQ(shapes.at("model.layers.0.self_attn.o_proj.weight"), (std::vector<int64_t>{32, 4 * d}));
  EXPECT_FALSE(shapes.count("model.layers.0.self_attn.o_proj.bias"));  // qwen2: none
  EXPECT_EQ(shapes.at("model.layers.0.mlp.gate_proj.weight"), (std::vector<int64_t>{48, 32}));
  EXPECT_EQ(shapes.at("model.layers.0.mlp.down_proj.weight"), (std::vector<int64_t>{32, 48}));
  EXPECT_EQ(shapes.at("model.layers.0.input_layernorm.weight"), (std::vector<int64_t>{32}));
  EXPECT_EQ(shapes.at("model.layers.0.post_attention_layernorm.weight"), (std::vector<int64_t>{32}));
  EXPECT_EQ(shapes.at("model.norm.weight"), (std::vector<int64_t>{32}));
  EXPECT_EQ(shapes.at("lm_head.weight"), (std::vector<int64_t>{37, 32}));
  EXPECT_EQ(shapes.size(), 1u + 2 * 12 + 1 + 1);  // 12 per layer: 4 + 3 biases, 3 mlp, 2 norms
  // HF init: norms 1, biases 0, weights ~ N(0, 0.02)
  const auto named = m->named_parameters();
  EXPECT_TRUE(named["model.norm.weight"].eq(1).all().item<bool>());
  EXPECT_TRUE(named["model.layers.0.self_attn.q_proj.bias"].eq(0).all().item<bool>());
  const double sd = named["model.layers.0.mlp.up_proj.weight"].std().item<double>();
  EXPECT_NEAR(sd, 0.02, 0.002);
}

TEST(LmTransformer, RmsNormHandComputed) {
  // One layer-free check: with no layers the model is norm(embed) @ head^T. Row x = (3, 4):
  // mean(x^2) = 12.5, x / sqrt(12.5 + eps) * w = (0.848528, 1.131371) * (1, 2).
  LmConfig c = tiny_config();
  c.vocab_size = 2;
  c.hidden_size = 2;
  c.num_attention_heads = 1;
  c.num_key_value_heads = 1;
  c.intermediate_size = 2;
  c.num_hidden_layers = 1;
  c.tie_word_embeddings = false;
  TransformerLm m(c);
  torch::NoGradGuard g;
  auto named = m->named_parameters();
  named["model.embed_tokens.weight"].copy_(torch::tensor({{3.0f, 4.0f}, {0.0f, 0.0f}}));
  for (auto& p : named) {  // make the block an identity: zero its output projections
    if (p.key().find("o_proj") != std::string::npos || p.key().find("down_proj") != std::string::npos) p.value().zero_();
  }
  named["model.norm.weight"].copy_(torch::tensor({1.0f, 2.0f}));
  named["lm_head.weight"].copy_(torch::tensor({{1.0f, 0.0f}, {0.0f, 1.0f}}));
  const torch::Tensor h = m->hidden_states(torch::tensor({{0}}, torch::kLong));
  EXPECT_NEAR(h[0][0][0].item<float>(), 3.0 / std::sqrt(12.5 + 1e-6), 1e-6);
  EXPECT_NEAR(h[0][0][1].item<float>(), 2 * 4.0 / std::sqrt(12.5 + 1e-6), 1e-6);
  const torch::Tensor lg = m->forward(torch::tensor({{0}}, torch::kLong));
  EXPECT_NEAR(lg[0][0][1].item<float>(), 2.2627417, 1e-6);
}

TEST(LmTransformer, GqaUntiedMatchesReference) { expect_matches_reference(tiny_config(), kTokens); }

TEST(LmTransformer, TiedMultiHeadKvMatchesReference) {
  LmConfig c = tiny_config();
  c.tie_word_embeddings = true;
  c.num_key_value_heads = 4;
  expect_matches_reference(c, kTokens);
  c.num_key_value_heads = 1;  // multi-query
  expect_matches_reference(c, kTokens, 2);
}

TEST(LmTransformer, BiasesMatchReference) {
  LmConfig c = tiny_config();
  c.model_type = "qwen2";
  c.attention_bias = true;
  expect_matches_reference(c, kTokens);
  c = tiny_config();
  c.attention_bias = true;  // llama: o_proj gets a bias too
  c.mlp_bias = true;
  c.head_dim = 12;          // explicit head_dim != hidden / heads
  expect_matches_reference(c, kTokens);
}

TEST(LmTransformer, EveryRopeScalingMatchesReference) {
  LmConfig c = tiny_config();
  c.rope_scaling.kind = "linear";
  c.rope_scaling.factor = 2.5;
  expect_matches_reference(c, kTokens);
  c.rope_scaling = RopeScaling{};
  c.rope_scaling.kind = "dynamic";
  c.rope_scaling.factor = 3.0;
  c.max_position_embeddings = 4;  // the 9-token sequence exceeds it: theta grows
  expect_matches_reference(c, kTokens);
  c = tiny_config();
  c.rope_scaling.kind = "llama3";
  c.rope_scaling.factor = 8.0;
  c.rope_scaling.original_max_position_embeddings = 32;
  c.rope_theta = 500.0;
  expect_matches_reference(c, kTokens);
  c = tiny_config();
  c.rope_scaling.kind = "yarn";
  c.rope_scaling.factor = 4.0;
  c.rope_scaling.original_max_position_embeddings = 16;
  expect_matches_reference(c, kTokens);
}

// Left padding in the full forward: every row's real positions equal that row run alone.
TEST(LmTransformer, LeftPaddedBatchEqualsRowsAlone) {
  TransformerLm m = make_model(tiny_config());
  torch::NoGradGuard g;
  const std::vector<std::vector<int64_t>> rows{{4, 8, 15, 16, 23}, {42, 7}, {1, 2, 3}};
  const int64_t T = 5;
  torch::Tensor tokens = torch::zeros({3, T}, torch::kLong), attention = torch::zeros({3, T}, torch::kBool);
  for (int64_t b = 0; b < 3; ++b) {
    const int64_t pad = T - rows[b].size();
    tokens[b].slice(0, pad).copy_(torch::tensor(rows[b], torch::kLong) % 37);
    attention[b].slice(0, pad).fill_(true);
  }
  const torch::Tensor batched = m->forward(tokens, attention);
  for (int64_t b = 0; b < 3; ++b) {
    const int64_t n = rows[b].size();
    const torch::Tensor alone = m->forward((torch::tensor(rows[b], torch::kLong) % 37).unsqueeze(0))[0];
    EXPECT_LT(max_rel_diff(batched[b].slice(0, T - n), alone), 1e-5) << "row " << b;
    EXPECT_FALSE(batched[b].isnan().any().item<bool>());
  }
}

// Prefill a prompt, then decode in steps of `steps`; logits equal the full forward's.
void check_incremental(TransformerLm& m, const std::vector<int64_t>& seq, int64_t prompt, std::vector<int64_t> steps) {
  torch::NoGradGuard g;
  const torch::Tensor tokens = torch::tensor(seq, torch::kLong).unsqueeze(0);  // (1, L)
  const torch::Tensor full = m->forward(tokens)[0];                            // (L, V)
  KvCache cache(m->config(), 1, static_cast<int64_t>(seq.size()) + 2, torch::kFloat);
  int64_t at = 0;
  steps.insert(steps.begin(), prompt);
  for (int64_t n : steps) {
    const torch::Tensor t = tokens.slice(1, at, at + n);
    const torch::Tensor pos = torch::arange(at, at + n, torch::kLong).unsqueeze(0);
    const torch::Tensor lg = m->forward_cached(t, pos, torch::ones({1, n}, torch::kBool), cache)[0];  // (n, V)
    EXPECT_LT(max_rel_diff(lg, full.slice(0, at, at + n)), 1e-5) << "slots " << at << ".." << at + n;
    at += n;
    EXPECT_EQ(cache.length, at);
  }
}

TEST(LmTransformer, KvCacheDecodeEqualsFullForward) {
  LmConfig c = tiny_config();
  c.model_type = "qwen2";
  c.attention_bias = true;
  TransformerLm m = make_model(c);
  check_incremental(m, kTokens, 3, {1, 1, 1, 1, 1, 1});  // token by token
  check_incremental(m, kTokens, 2, {3, 1, 3});           // chunks
  check_incremental(m, kTokens, 9, {});                  // prefill only
  c10::InferenceMode inference;                          // as the generation engine runs it
  check_incremental(m, kTokens, 4, {1, 2, 1, 1});
}

// Ragged prompts, left-padded to a common length, then three decode steps: each row's logits
// equal that row's own unpadded full forward.
TEST(LmTransformer, KvCacheRaggedRowsEqualRowsAlone) {
  TransformerLm m = make_model(tiny_config(), 5);
  torch::NoGradGuard g;
  const std::vector<std::vector<int64_t>> prompts{{4, 8, 15, 16, 23}, {11, 7}, {1}};
  const std::vector<std::vector<int64_t>> gen{{2, 3, 5}, {30, 31, 32}, {9, 9, 9}};
  const int64_t B = 3, P = 5, steps = 3;
  torch::Tensor tokens = torch::zeros({B, P}, torch::kLong), valid = torch::zeros({B, P}, torch::kBool);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t pad = P - prompts[b].size();
    tokens[b].slice(0, pad).copy_(torch::tensor(prompts[b], torch::kLong));
    valid[b].slice(0, pad).fill_(true);
  }
  const torch::Tensor positions = (valid.to(torch::kLong).cumsum(1) - 1).clamp_min(0);
  KvCache cache(m->config(), B, P + steps, torch::kFloat);
  std::vector<torch::Tensor> out{m->forward_cached(tokens, positions, valid, cache)};  // (B, P, V)
  for (int64_t s = 0; s < steps; ++s) {
    torch::Tensor tok = torch::zeros({B, 1}, torch::kLong), pos = torch::zeros({B, 1}, torch::kLong);
    for (int64_t b = 0; b < B; ++b) {
      tok[b][0] = gen[b][s];
      pos[b][0] = static_cast<int64_t>(prompts[b].size()) + s;
    }
    out.push_back(m->forward_cached(tok, pos, torch::ones({B, 1}, torch::kBool), cache));
  }
  const torch::Tensor all = torch::cat(out, 1);  // (B, P + steps, V)
  for (int64_t b = 0; b < B; ++b) {
    std::vector<int64_t> seq = prompts[b];
    seq.insert(seq.end(), gen[b].begin(), gen[b].end());
    const torch::Tensor alone = m->forward(torch::tensor(seq, torch::kLong).unsqueeze(0))[0];
    const int64_t pad = P - prompts[b].size();
    const double rel = max_rel_diff(all[b].slice(0, pad), alone);
    std::printf("ragged KV-cache row %lld: max |diff| / max |logit| = %.3g\n", static_cast<long long>(b), rel);
    EXPECT_LT(rel, 1e-5) << "row " << b;
  }
  EXPECT_FALSE(all.isnan().any().item<bool>());
  cache.reset();
  EXPECT_EQ(cache.length, 0);
  EXPECT_FALSE(cache.key_valid.any().item<bool>());
}

TEST(LmTransformer, CacheMisuseIsAnError) {
  TransformerLm m = make_model(tiny_config());
  torch::NoGradGuard g;
  KvCache cache(m->config(), 1, 4, torch::kFloat);
  const auto one = torch::ones({1, 3}, torch::kBool);
  m->forward_cached(torch::zeros({1, 3}, torch::kLong), torch::arange(3).unsqueeze(0), one, cache);
  try {
    m->forward_cached(torch::zeros({1, 3}, torch::kLong), torch::arange(3, 6).unsqueeze(0), one, cache);
    FAIL();
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("cache overflow"), std::string::npos) << e.what();
  }
  KvCache other(m->config(), 2, 4, torch::kFloat);
  EXPECT_THROW(m->forward_cached(torch::zeros({1, 1}, torch::kLong), torch::zeros({1, 1}, torch::kLong),
                                 torch::ones({1, 1}, torch::kBool), other),
               core::UserError);
  EXPECT_THROW(m->forward(torch::zeros({3}, torch::kLong)), core::UserError);
}

}  // namespace
}  // namespace rlpp::nn::lm
