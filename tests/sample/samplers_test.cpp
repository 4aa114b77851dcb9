// Each built-in sampler on tiny distributions whose kept sets and probabilities were computed by
// hand (softmax written out in double); the literals below are those results.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/core/error.h"
#include "rlpp/sample/generator.h"
#include "rlpp/sample/sampler_chain.h"
#include "rlpp/sample/samplers.h"

namespace rlpp::sample {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

torch::Tensor rows(const std::vector<std::vector<float>>& v) {
  std::vector<torch::Tensor> out;
  for (const auto& r : v) out.push_back(torch::tensor(r, torch::kFloat));
  return torch::stack(out);  // (B, V)
}

// Ids whose logit is finite in row b.
std::vector<int64_t> kept(const torch::Tensor& logits, int64_t b = 0) {
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < logits.size(1); ++i) {
    if (std::isfinite(logits[b][i].item<float>())) ids.push_back(i);
  }
  return ids;
}

void expect_probs(const torch::Tensor& logits, const std::vector<double>& expected, double tol = 1e-6,
                  int64_t b = 0) {
  const torch::Tensor p = torch::softmax(logits.to(torch::kDouble), -1);
  ASSERT_EQ(p.size(1), static_cast<int64_t>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(p[b][i].item<double>(), expected[i], tol) << "token " << i;
  }
}

// softmax(L) = [0.084394, 0.229406, 0.051187, 0.623591, 0.011421]; sorted ids 3, 1, 0, 2, 4 with
// cumulative mass 0.623591, 0.852997, 0.937391, 0.988579, 1.
const std::vector<float> kL = {1.0f, 2.0f, 0.5f, 3.0f, -1.0f};

TEST(Temperature, ScalesLogits) {
  const torch::Tensor x = rows({kL, kL});
  const torch::Tensor y = temperature_logits(x, torch::tensor({2.0f, 0.5f}));
  // softmax(L / 2) and softmax(L / 0.5)
  expect_probs(y, {0.153522969, 0.253116584, 0.119563808, 0.417318696, 0.056477944}, 1e-6, 0);
  expect_probs(y, {0.015779491, 0.116595543, 0.005804950, 0.861531005, 0.000289011}, 1e-6, 1);
}

TEST(Temperature, ZeroIsGreedyAndTiesGoToLowerId) {
  const torch::Tensor x = rows({kL, {0.f, 4.f, 4.f, 1.f, 4.f}, {-kInf, -kInf, 2.f, -kInf, 1.f}});
  const torch::Tensor y = temperature_logits(x, torch::tensor({0.f, 0.f, 0.f}));
  EXPECT_EQ(kept(y, 0), (std::vector<int64_t>{3}));
  EXPECT_EQ(kept(y, 1), (std::vector<int64_t>{1}));
  EXPECT_EQ(kept(y, 2), (std::vector<int64_t>{2}));
  // Mixed rows: row 0 greedy, row 1 at T = 1 unchanged.
  const torch::Tensor z = temperature_logits(rows({kL, kL}), torch::tensor({0.f, 1.f}));
  EXPECT_EQ(kept(z, 0), (std::vector<int64_t>{3}));
  EXPECT_TRUE(torch::equal(z[1], rows({kL})[0]));
}

TEST(Temperature, SamplerUsesOptionOrPerRowContext) {
  auto chain = default_chain({"temperature"});  // T = 1: the policy itself
  EXPECT_TRUE(torch::equal(chain.process(rows({kL})), rows({kL})));
  SampleContext ctx;
  ctx.temperature = torch::tensor({2.0f, 0.0f});
  const torch::Tensor y = chain.process(rows({kL, kL}), ctx);
  expect_probs(y, {0.153522969, 0.253116584, 0.119563808, 0.417318696, 0.056477944}, 1e-6, 0);
  EXPECT_EQ(kept(y, 1), (std::vector<int64_t>{3}));
  ctx.temperature = torch::tensor({2.0f});
  EXPECT_THROW(chain.process(rows({kL, kL}), ctx), core::UserError);
}

TEST(TopK, Table) {
  struct Case {
    std::vector<float> logits;
    int64_t k;
    std::vector<int64_t> expected;
  };
  const std::vector<Case> cases = {
      {kL, 1, {3}},
      {kL, 2, {1, 3}},
      {kL, 3, {0, 1, 3}},
      {kL, 4, {0, 1, 2, 3}},
      {kL, 5, {0, 1, 2, 3, 4}},          // k = V
      {kL, 9, {0, 1, 2, 3, 4}},          // k > V
      {kL, 0, {0, 1, 2, 3, 4}},          // 0 = disabled
      {{1.f, 1.f, 1.f, 1.f}, 2, {0, 1}},  // all equal: lower ids win
      {{0.f, 2.f, 1.f, 2.f, 2.f}, 2, {1, 3}},
      {{-kInf, 1.f, -kInf, 0.f, 2.f}, 4, {1, 3, 4}},  // -inf stays removed
      {{-kInf, 1.f, -kInf, 0.f, 2.f}, 2, {1, 4}},
  };
  for (const auto& c : cases) {
    const torch::Tensor y = top_k_logits(rows({c.logits}), c.k);
    EXPECT_EQ(kept(y), c.expected) << "k = " << c.k;
  }
  // Kept logits are unchanged: the renormalised distribution over {1, 3} is softmax([2, 3]).
  expect_probs(top_k_logits(rows({kL}), 2), {0, 0.268941421, 0, 0.731058579, 0});
}

TEST(TopP, Table) {
  struct Case {
    std::vector<float> logits;
    double p;
    std::vector<int64_t> expected;
  };
  const std::vector<Case> cases = {
      {kL, 0.01, {3}},  // always at least one
      {kL, 0.5, {3}},
      {kL, 0.6, {3}},   // 0.623591 >= 0.6
      {kL, 0.7, {1, 3}},
      {kL, 0.9, {0, 1, 3}},
      {kL, 0.95, {0, 1, 2, 3}},
      {kL, 0.999, {0, 1, 2, 3, 4}},
      {kL, 1.0, {0, 1, 2, 3, 4}},
      // all equal (0.25 each, exact): 0.5 is reached after two tokens, the lower ids
      {{0.f, 0.f, 0.f, 0.f}, 0.5, {0, 1}},
      {{0.f, 0.f, 0.f, 0.f}, 0.51, {0, 1, 2}},
      // softmax over the finite ones: [0.244728, 0.090031, 0.665241] for ids 1, 3, 4
      {{-kInf, 1.f, -kInf, 0.f, 2.f}, 0.8, {1, 4}},
      {{-kInf, 1.f, -kInf, 0.f, 2.f}, 1.0, {1, 3, 4}},
  };
  for (const auto& c : cases) {
    const torch::Tensor y = top_p_logits(rows({c.logits}), c.p);
    EXPECT_EQ(kept(y), c.expected) << "p = " << c.p;
  }
  // {0, 1, 3} renormalised: softmax([1, 2, 3]).
  expect_probs(top_p_logits(rows({kL}), 0.9), {0.090030573, 0.244728471, 0, 0.665240956, 0});
}

TEST(MinP, Table) {
  struct Case {
    std::vector<float> logits;
    double min_p;
    std::vector<int64_t> expected;
  };
  const std::vector<Case> cases = {
      {kL, 0.0, {0, 1, 2, 3, 4}},  // disabled
      {kL, 0.01, {0, 1, 2, 3, 4}},  // p_4 / p_max = e^-4 = 0.0183
      {kL, 0.05, {0, 1, 2, 3}},     // p_2 / p_max = e^-2.5 = 0.0821
      {kL, 0.1, {0, 1, 3}},         // p_0 / p_max = e^-2 = 0.1353
      {kL, 0.2, {1, 3}},            // p_1 / p_max = e^-1 = 0.3679
      {kL, 0.5, {3}},
      {kL, 1.0, {3}},
      {{0.f, 0.f, 0.f, 0.f}, 0.9, {0, 1, 2, 3}},
      {{-kInf, 1.f, -kInf, 0.f, 2.f}, 0.3, {1, 4}},
  };
  for (const auto& c : cases) {
    const torch::Tensor y = min_p_logits(rows({c.logits}), c.min_p);
    EXPECT_EQ(kept(y), c.expected) << "min_p = " << c.min_p;
  }
}

TEST(Entropy, HandComputed) {
  // uniform over 4: log 4; [5, 0, 0, 0]: 0.119078940; -inf entries contribute 0 (not NaN)
  const torch::Tensor h = logits_entropy(rows({{0.f, 0.f, 0.f, 0.f}, {5.f, 0.f, 0.f, 0.f}, {-kInf, 0.f, -kInf, 0.f}}));
  EXPECT_NEAR(h[0].item<double>(), 1.386294361, 1e-6);
  EXPECT_NEAR(h[1].item<double>(), 0.119078940, 1e-6);
  EXPECT_NEAR(h[2].item<double>(), 0.693147181, 1e-6);
}

TEST(HapoTemperature, HigherEntropyRowsGetHigherTemperature) {
  const torch::Tensor x = rows({{0.f, 0.f, 0.f, 0.f}, {5.f, 0.f, 0.f, 0.f}, {2.f, 1.f, 0.f, 0.f}});
  algo::EntropyNormStats stats;
  stats.q = std::log(0.5);
  stats.rms = 1.0;
  stats.pos_max = 2.0;
  stats.neg_max = 3.0;
  const double t0 = 1.5, tau = 0.5;
  // The formula written out: h = (log H − q)/rms; ĥ = h/pos_max (h > 0) or h/neg_max; clamp to ±1;
  // T = T0 (1 + τ ĥ). Entropies of the rows as computed by hand.
  const std::vector<double> entropies = {1.386294361, 0.119078940, 1.048705103};
  std::vector<double> expected;
  for (double ent : entropies) {
    const double h = (std::log(ent) - stats.q) / stats.rms;
    const double hn = std::max(-1.0, std::min(1.0, h > 0 ? h / stats.pos_max : h / stats.neg_max));
    expected.push_back(t0 * (1.0 + tau * hn));
  }
  // The same numbers as literals: 1.882418, 1.141295, 1.777764.
  EXPECT_NEAR(expected[0], 1.882418040, 1e-6);
  EXPECT_NEAR(expected[1], 1.141294634, 1e-6);
  EXPECT_NEAR(expected[2], 1.777763755, 1e-6);

  const torch::Tensor t = hapo_row_temperature(x, torch::full({3}, t0), &stats, tau);
  for (int b = 0; b < 3; ++b) EXPECT_NEAR(t[b].item<double>(), expected[b], 1e-5) << "row " << b;
  EXPECT_GT(t[0].item<double>(), t[2].item<double>());
  EXPECT_GT(t[2].item<double>(), t[1].item<double>());

  // The sampler divides each row by its own temperature.
  const auto chain = [&] {
    core::Recipe r = core::Recipe::parse("[sample]\ntemperature = 1.5\ntau_t = 0.5\n", "r.toml");
    core::Binder b = core::Binder::reader(r, "sample");
    auto c = build_chain({"hapo_temperature"}, b);
    b.finish();
    return c;
  }();
  SampleContext ctx;
  ctx.entropy_stats = &stats;
  const torch::Tensor y = chain.process(x, ctx);
  for (int b = 0; b < 3; ++b) {
    for (int i = 0; i < 4; ++i) {
      EXPECT_NEAR(y[b][i].item<double>(), x[b][i].item<double>() / expected[b], 1e-5);
    }
  }
  // Without statistics ĥ = 0: every row at T0.
  EXPECT_TRUE(torch::allclose(chain.process(x), x / t0));
}

TEST(SamplerRegistry, NamesAndErrors) {
  const auto names = sampler_registry().names();
  EXPECT_EQ(names, (std::vector<std::string>{"hapo_temperature", "min_p", "temperature", "top_k", "top_p"}));
  EXPECT_THROW(default_chain({"top_q"}), core::UserError);
  try {
    default_chain({"top_q"});
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("top_p"), std::string::npos) << e.what();
  }
}

TEST(SamplerRecipe, ReadsNamesAndOptions) {
  const core::Recipe r = core::Recipe::parse(
      "[sample]\n[[samplers]]\nname = \"top_k\"\ntop_k = 3\n[[samplers]]\nname = \"top_p\"\ntop_p = 0.9\n"
      "[[samplers]]\nname = \"temperature\"\ntemperature = 2.0\n",
      "r.toml");
  const SamplingRecipe s = read_sampling(r, "sample");
  EXPECT_EQ(s.samplers, (std::vector<std::string>{"top_k", "top_p", "temperature"}));
  // top_k 3 keeps {0, 1, 3}; top_p 0.9 of softmax([1, 2, 3]) = [0.090, 0.245, 0.665] keeps {1, 3}
  // (0.665 + 0.245 = 0.910); T = 2: softmax([1, 1.5]) over {1, 3}.
  expect_probs(s.chain.process(rows({kL})), {0, 0.377540669, 0, 0.622459331, 0});

  EXPECT_EQ(read_sampling(core::Recipe::parse("[sample]\n", "r.toml")).samplers,
            (std::vector<std::string>{"temperature"}));
  EXPECT_THROW(read_sampling(core::Recipe::parse("[sample]\nsamplers = \"top_k\"\n", "r.toml")), core::UserError);
  try {
    read_sampling(core::Recipe::parse("[sample]\n[[samplers]]\nname = \"top_k\"\n[[samplers]]\nname = \"nucleus\"\n",
                                      "r.toml"));
    FAIL() << "unknown sampler accepted";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("r.toml:5"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("nucleus"), std::string::npos) << e.what();
  }
  // Out-of-range option: names the key.
  const core::Recipe bad = core::Recipe::parse("[sample]\ntop_p = 1.5\n", "r.toml");
  core::Binder bb = core::Binder::reader(bad, "sample");
  EXPECT_THROW(build_chain({"top_p"}, bb), core::UserError);
}

}  // namespace
}  // namespace rlpp::sample
