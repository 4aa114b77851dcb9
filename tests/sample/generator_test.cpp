// The generation engine against a bigram model whose next-token logits depend only on the previous
// token: every per-token log-prob and entropy is then computable by hand (here: written out again
// in double), and the model itself checks what the engine feeds it (positions consecutive per row,
// pads never valid, the cache never overflowing).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "rlpp/core/error.h"
#include "rlpp/nn/lm/causal_lm.h"
#include "rlpp/sample/generator.h"

namespace rlpp::sample {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int64_t kV = 6;
constexpr int64_t kPad = 5;  // logit -inf after every token: a model-produced 5 would be a bug

// W[a] = next-token logits after token a. Greedy chain: 0 -> 1 -> 2 -> 3 -> 4 -> 0.
const std::vector<std::vector<double>> kW = {
    {0.5, 2.0, 0.0, -1.0, 0.3, -kInf},
    {0.1, 0.2, 1.5, 0.0, -0.5, -kInf},
    {-0.3, 0.4, 0.0, 1.2, 0.2, -kInf},
    {0.0, -1.0, 0.5, 0.1, 1.0, -kInf},
    {1.1, 0.0, 0.3, -0.2, 0.0, -kInf},
    {0.0, 0.0, 0.0, 0.0, 0.0, -kInf},
};

// Reference log-softmax of W[a] / T, in double.
double ref_logp(int64_t a, int64_t tok, double temperature = 1.0) {
  double m = -kInf, s = 0;
  for (double x : kW[a]) m = std::max(m, x / temperature);
  for (double x : kW[a]) s += std::exp(x / temperature - m);
  return kW[a][tok] / temperature - m - std::log(s);
}
double ref_entropy(int64_t a) {
  double h = 0;
  for (int64_t i = 0; i < kV; ++i) {
    if (std::isfinite(kW[a][i])) h -= std::exp(ref_logp(a, i)) * ref_logp(a, i);
  }
  return h;
}

class BigramLm final : public nn::lm::CausalLm {
 public:
  BigramLm() {
    cfg_.vocab_size = kV;
    cfg_.hidden_size = 4;
    cfg_.intermediate_size = 4;
    cfg_.num_hidden_layers = 1;
    cfg_.num_attention_heads = 1;
    cfg_.num_key_value_heads = 1;
    std::vector<float> flat;
    for (const auto& row : kW) flat.insert(flat.end(), row.begin(), row.end());
    table_ = torch::tensor(flat, torch::kFloat).view({kV, kV});
  }

  torch::Tensor forward_cached(const torch::Tensor& tokens, const torch::Tensor& positions,
                               const torch::Tensor& valid, nn::lm::KvCache& cache) override {
    ++calls;
    call_lengths.push_back(tokens.size(1));
    const int64_t b_size = tokens.size(0), t_size = tokens.size(1);
    if (positions.sizes() != tokens.sizes() || valid.sizes() != tokens.sizes()) fail("shapes differ");
    if (cache.length + t_size > cache.max_len) fail("cache overflow");
    auto tok = tokens.accessor<int64_t, 2>();
    auto pos = positions.accessor<int64_t, 2>();
    auto val = valid.accessor<bool, 2>();
    auto kv = cache.key_valid.accessor<bool, 2>();
    for (int64_t b = 0; b < b_size; ++b) {
      int64_t seen = 0;  // real tokens of this row already in the cache
      for (int64_t s = 0; s < cache.length; ++s) seen += kv[b][s];
      for (int64_t t = 0; t < t_size; ++t) {
        if (val[b][t]) {
          if (tok[b][t] == kPad) fail("a pad token marked valid");
          if (pos[b][t] != seen) fail("row " + std::to_string(b) + ": position " + std::to_string(pos[b][t]) +
                                      " where " + std::to_string(seen) + " was expected");
          ++seen;
        } else {
          if (tok[b][t] != kPad) fail("an invalid slot holding a non-pad token");
          if (cache.length == 0 && t > 0 && val[b][t - 1]) fail("prompt padding on the right");
        }
      }
    }
    cache.key_valid.narrow(1, cache.length, t_size).copy_(valid);
    cache.length += t_size;
    return table_.index_select(0, tokens.flatten()).view({b_size, t_size, kV});  // (B, T, V)
  }
  const nn::lm::LmConfig& lm_config() const override { return cfg_; }
  torch::Device lm_device() const override { return torch::kCPU; }

  int64_t calls = 0;
  std::vector<int64_t> call_lengths;
  std::vector<std::string> violations;

 private:
  void fail(const std::string& what) { violations.push_back(what); }
  nn::lm::LmConfig cfg_;
  torch::Tensor table_;  // (V, V)
};

SamplerChain chain_with(const std::string& toml, const std::vector<std::string>& names) {
  const core::Recipe r = core::Recipe::parse("[sample]\n" + toml, "r.toml");
  core::Binder b = core::Binder::reader(r, "sample");
  SamplerChain c = build_chain(names, b);
  b.finish();
  return c;
}

GenerationOptions options(int64_t max_new, std::vector<int64_t> stops = {}, int64_t group = 1, int64_t seed = 0) {
  GenerationOptions o;
  o.max_new_tokens = max_new;
  o.stop_tokens = std::move(stops);
  o.num_return_sequences = group;
  o.pad_token = kPad;
  o.seed = seed;
  return o;
}

std::vector<int64_t> vec(const torch::Tensor& x) {  // (N) int64
  const torch::Tensor r = x.contiguous();
  return std::vector<int64_t>(r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + r.numel());
}
std::vector<int64_t> row(const torch::Tensor& x, int64_t b) { return vec(x[b]); }  // row b of (B, N)

// Checks every recorded token's log-probs and entropy against the reference; `t_sample` is the
// temperature of the sampling distribution (0: not checked).
void expect_reference_logprobs(const Generation& g, const std::vector<std::vector<int64_t>>& prompts, int64_t group,
                               double t_sample) {
  for (int64_t b = 0; b < g.tokens.size(0); ++b) {
    int64_t prev = prompts[b / group].back();
    for (int64_t t = 0; t < g.tokens.size(1); ++t) {
      const int64_t tok = g.tokens[b][t].item<int64_t>();
      if (!g.mask[b][t].item<bool>()) {
        EXPECT_EQ(tok, kPad);
        EXPECT_EQ(g.logp[b][t].item<double>(), 0.0);
        continue;
      }
      EXPECT_NEAR(g.logp[b][t].item<double>(), ref_logp(prev, tok), 1e-5) << b << "," << t;
      if (t_sample > 0) {
        EXPECT_NEAR(g.logp_sample[b][t].item<double>(), ref_logp(prev, tok, t_sample), 1e-5) << b << "," << t;
      }
      EXPECT_NEAR(g.entropy[b][t].item<double>(), ref_entropy(prev), 1e-5) << b << "," << t;
      prev = tok;
    }
  }
}

const std::vector<std::vector<int64_t>> kRagged = {{0}, {3, 2, 1}, {3}};

TEST(Generator, GreedyFollowsTheArgmaxChainAndStops) {
  BigramLm model;
  Generator gen(chain_with("temperature = 0.0\n", {"temperature"}), options(/*max_new=*/10, /*stops=*/{4}));
  const Generation g = gen.generate(model, kRagged);
  EXPECT_TRUE(model.violations.empty()) << model.violations.front();
  ASSERT_EQ(g.tokens.sizes(), torch::IntArrayRef({3, 4}));
  EXPECT_EQ(row(g.tokens, 0), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(row(g.tokens, 1), (std::vector<int64_t>{2, 3, 4, kPad}));
  EXPECT_EQ(row(g.tokens, 2), (std::vector<int64_t>{4, kPad, kPad, kPad}));
  EXPECT_EQ(vec(g.lengths), (std::vector<int64_t>{4, 3, 1}));
  EXPECT_TRUE(torch::equal(g.mask.sum(1), g.lengths));
  for (auto r : g.finish_reason) EXPECT_EQ(r, FinishReason::kStop);
  // Greedy: the sampling distribution is one-hot (log q = 0); logp is the T = 1 policy's.
  EXPECT_TRUE(torch::allclose(g.logp_sample, torch::zeros_like(g.logp_sample)));
  EXPECT_NEAR(g.logp[0][0].item<double>(), ref_logp(0, 1), 1e-6);
  expect_reference_logprobs(g, kRagged, 1, /*t_sample=*/0.0);  // logp_sample checked above
  // One prefill of 3 columns, then one token per step until the last row stopped (early exit).
  EXPECT_EQ(model.call_lengths, (std::vector<int64_t>{3, 1, 1, 1}));
  EXPECT_EQ(g.forward_calls, 4);
  EXPECT_EQ(g.tokens_generated, 8);
  EXPECT_EQ(g.prompt_tokens_total, 5);
  EXPECT_EQ(row(g.prompt_tokens, 0), (std::vector<int64_t>{kPad, kPad, 0}));
  EXPECT_EQ(row(g.prompt_mask.to(torch::kLong), 0), (std::vector<int64_t>{0, 0, 1}));
}

TEST(Generator, MaxNewTokensEndsRowsByLength) {
  BigramLm model;
  Generator gen(chain_with("temperature = 0.0\n", {"temperature"}), options(/*max_new=*/2, /*stops=*/{4}));
  const Generation g = gen.generate(model, kRagged);
  EXPECT_TRUE(model.violations.empty());
  EXPECT_EQ(row(g.tokens, 0), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(row(g.tokens, 1), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(row(g.tokens, 2), (std::vector<int64_t>{4, kPad}));
  EXPECT_EQ(g.finish_reason,
            (std::vector<FinishReason>{FinishReason::kLength, FinishReason::kLength, FinishReason::kStop}));
  EXPECT_EQ(model.call_lengths, (std::vector<int64_t>{3, 1}));  // no forward after the last token
}

TEST(Generator, SampledLogProbsMatchTheModelAtBothTemperatures) {
  BigramLm model;
  const std::vector<std::vector<int64_t>> prompts = {{0, 1}, {4}, {2, 2, 2, 3}, {1}};
  Generator gen(chain_with("temperature = 2.0\n", {"temperature"}), options(/*max_new=*/12, {}, /*group=*/2, 11));
  const Generation g = gen.generate(model, prompts);
  EXPECT_TRUE(model.violations.empty()) << model.violations.front();
  ASSERT_EQ(g.tokens.sizes(), torch::IntArrayRef({8, 12}));
  EXPECT_TRUE(torch::all(g.mask).item<bool>());
  for (auto r : g.finish_reason) EXPECT_EQ(r, FinishReason::kLength);
  expect_reference_logprobs(g, prompts, 2, /*t_sample=*/2.0);
  EXPECT_FALSE(torch::allclose(g.logp, g.logp_sample));  // T != 1: they differ
  EXPECT_FALSE(torch::any(g.tokens == kPad).item<bool>());
}

TEST(Generator, StopTokensWhileSamplingAndPadsAfterwards) {
  BigramLm model;
  const std::vector<std::vector<int64_t>> prompts = {{0}, {1, 2}, {3}};
  Generator gen(SamplerChain(), options(/*max_new=*/30, /*stops=*/{0}, /*group=*/4, 3));
  const Generation g = gen.generate(model, prompts);
  EXPECT_TRUE(model.violations.empty()) << model.violations.front();
  expect_reference_logprobs(g, prompts, 4, /*t_sample=*/1.0);
  EXPECT_TRUE(torch::allclose(g.logp, g.logp_sample));
  for (int64_t b = 0; b < 12; ++b) {
    const int64_t len = g.lengths[b].item<int64_t>();
    const bool stop = g.finish_reason[b] == FinishReason::kStop;
    if (stop) {
      EXPECT_EQ(g.tokens[b][len - 1].item<int64_t>(), 0);
    } else {
      EXPECT_EQ(len, 30);
    }
    for (int64_t t = 0; t < len - (stop ? 1 : 0); ++t) EXPECT_NE(g.tokens[b][t].item<int64_t>(), 0);
  }
  EXPECT_EQ(g.tokens.size(1), g.lengths.max().item<int64_t>());
}

TEST(Generator, SameSeedSameTokensAndGroups) {
  BigramLm model;
  const std::vector<std::vector<int64_t>> prompts = {{0, 1}, {3}};
  const auto make = [](int64_t seed) {
    return Generator(default_chain({"top_k", "top_p", "temperature"}), options(16, {}, /*group=*/3, seed));
  };
  Generator a = make(5), b = make(5), c = make(6);
  const Generation ga = a.generate(model, prompts), gb = b.generate(model, prompts), gc = c.generate(model, prompts);
  EXPECT_TRUE(torch::equal(ga.tokens, gb.tokens));
  EXPECT_TRUE(torch::equal(ga.logp_sample, gb.logp_sample));
  EXPECT_FALSE(torch::equal(ga.tokens, gc.tokens));
  // The stream advances between calls; reseed restarts it.
  EXPECT_FALSE(torch::equal(a.generate(model, prompts).tokens, ga.tokens));
  a.reseed(5);
  EXPECT_TRUE(torch::equal(a.generate(model, prompts).tokens, ga.tokens));
  // Groups: B = 2 prompts x 3, rows of a prompt are adjacent and share its (padded) prompt.
  ASSERT_EQ(ga.tokens.sizes(), torch::IntArrayRef({6, 16}));
  EXPECT_EQ(vec(ga.group_id), (std::vector<int64_t>{0, 0, 0, 1, 1, 1}));
  ASSERT_EQ(ga.prompt_tokens.sizes(), torch::IntArrayRef({6, 2}));
  EXPECT_EQ(row(ga.prompt_tokens, 2), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(row(ga.prompt_tokens, 3), (std::vector<int64_t>{kPad, 3}));
  EXPECT_EQ(ga.lengths.sizes(), torch::IntArrayRef({6}));
  EXPECT_EQ(ga.finish_reason.size(), 6u);
  EXPECT_TRUE(model.violations.empty());
}

TEST(Generator, PerPromptTemperatureAndHapoStatistics) {
  BigramLm model;
  const std::vector<std::vector<int64_t>> prompts = {{0}, {2}};
  // Per-prompt temperature: prompt 0 greedy, prompt 1 at T = 2.
  Generator gen(default_chain({"temperature"}), options(6, {}, /*group=*/2, 1));
  const Generation g = gen.generate(model, prompts, torch::tensor({0.0f, 2.0f}));
  EXPECT_EQ(row(g.tokens, 0), (std::vector<int64_t>{1, 2, 3, 4, 0, 1}));
  EXPECT_TRUE(torch::allclose(g.logp_sample.narrow(0, 0, 2), torch::zeros({2, 6})));
  for (int64_t b = 2; b < 4; ++b) {
    int64_t prev = 2;
    for (int64_t t = 0; t < 6; ++t) {
      const int64_t tok = g.tokens[b][t].item<int64_t>();
      EXPECT_NEAR(g.logp_sample[b][t].item<double>(), ref_logp(prev, tok, 2.0), 1e-5);
      prev = tok;
    }
  }
  // hapo_temperature: T = T0 (1 + tau ĥ(H(W[prev]))), the formula written out with the fitted stats.
  Generator hapo(chain_with("temperature = 1.0\ntau_t = 0.5\n", {"hapo_temperature"}), options(8, {}, 1, 2));
  algo::EntropyNormStats stats;
  stats.q = std::log(1.2);
  stats.rms = 0.3;
  stats.pos_max = 1.5;
  stats.neg_max = 2.0;
  hapo.set_entropy_stats(stats);
  const Generation h = hapo.generate(model, prompts);
  for (int64_t b = 0; b < 2; ++b) {
    int64_t prev = prompts[b].back();
    for (int64_t t = 0; t < 8; ++t) {
      const int64_t tok = h.tokens[b][t].item<int64_t>();
      const double x = (std::log(ref_entropy(prev)) - stats.q) / stats.rms;
      const double hn = std::max(-1.0, std::min(1.0, x > 0 ? x / stats.pos_max : x / stats.neg_max));
      const double temp = 1.0 * (1.0 + 0.5 * hn);
      EXPECT_NEAR(h.logp_sample[b][t].item<double>(), ref_logp(prev, tok, temp), 1e-5) << b << "," << t;
      EXPECT_NEAR(h.logp[b][t].item<double>(), ref_logp(prev, tok), 1e-5);
      prev = tok;
    }
  }
}

TEST(Generator, ReusesTheCacheAcrossCallsOfTheSameShape) {
  BigramLm model;
  Generator gen(chain_with("temperature = 0.0\n", {"temperature"}), options(4));
  const Generation g1 = gen.generate(model, {{0}, {1}});
  const Generation g2 = gen.generate(model, {{0}, {1}});  // reset, not reallocated: same results
  EXPECT_TRUE(torch::equal(g1.tokens, g2.tokens));
  EXPECT_TRUE(model.violations.empty()) << model.violations.front();
  const Generation g3 = gen.generate(model, {{0, 1, 2}});  // a new shape: a new cache
  EXPECT_EQ(row(g3.tokens, 0), (std::vector<int64_t>{3, 4, 0, 1}));
  EXPECT_TRUE(model.violations.empty());
}

TEST(Generator, UserErrors) {
  BigramLm model;
  Generator gen(SamplerChain(), options(4));
  EXPECT_THROW(gen.generate(model, {}), core::UserError);
  EXPECT_THROW(gen.generate(model, {{0}, {}}), core::UserError);
  EXPECT_THROW(gen.generate(model, {{0, 6}}), core::UserError);
  EXPECT_THROW(gen.generate(model, {{0}}, torch::tensor({1.0f, 2.0f})), core::UserError);
  EXPECT_THROW(Generator(SamplerChain(), options(0)), core::UserError);
  try {
    gen.generate(model, {{0, 6}});
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("prompt 0 token 1 = 6"), std::string::npos) << e.what();
  }
}

TEST(Generator, RecipeSection) {
  const core::Recipe r = core::Recipe::parse(
      "[sample]\nmax_new_tokens = 64\nnum_return_sequences = 8\nstop_tokens = [2, 7]\nseed = 9\n"
      "[[samplers]]\nname = \"top_k\"\ntop_k = 2\n[[samplers]]\nname = \"temperature\"\ntemperature = 0.7\n",
      "r.toml");
  const SamplingRecipe s = read_sampling(r, "sample");
  EXPECT_EQ(s.samplers, (std::vector<std::string>{"top_k", "temperature"}));
  EXPECT_EQ(s.chain.names(), s.samplers);
  EXPECT_EQ(s.generation.max_new_tokens, 64);
  EXPECT_EQ(s.generation.num_return_sequences, 8);
  EXPECT_EQ(s.generation.stop_tokens, (std::vector<int64_t>{2, 7}));
  EXPECT_EQ(s.generation.seed, 9);
  // A key of another sampler is refused in a sampler's table.
  EXPECT_THROW(read_sampling(core::Recipe::parse("[sample]\n[[samplers]]\nname = \"top_k\"\ntop_p = 0.9\n", "r.toml")),
               core::UserError);
  // The earlier spelling (names in [sample], options flat beside them) is refused, naming the new one.
  for (const char* old : {"[sample]\nsamplers = [\"top_k\"]\n", "[sample]\ntemperature = 0.7\n"}) {
    try {
      read_sampling(core::Recipe::parse(old, "r.toml"));
      FAIL() << old;
    } catch (const core::UserError& e) {
      EXPECT_NE(std::string(e.what()).find("r.toml:2"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("[[samplers]]"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace rlpp::sample
