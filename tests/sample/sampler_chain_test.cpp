// The chain: order of samplers, the distribution actually drawn from (frequencies against the
// hand-computed final distribution), the returned log-probs and entropies, and seeding.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/sample/sampler_chain.h"

namespace rlpp::sample {
namespace {

// softmax(L) = [0.084394, 0.229406, 0.051187, 0.623591, 0.011421]
const std::vector<float> kL = {1.0f, 2.0f, 0.5f, 3.0f, -1.0f};

torch::Tensor repeat_rows(const std::vector<float>& row, int64_t b) {
  return torch::tensor(row, torch::kFloat).unsqueeze(0).repeat({b, 1});  // (B, V)
}

SamplerChain chain_of(const std::string& toml, const std::vector<std::string>& names) {
  const core::Recipe r = core::Recipe::parse("[sample]\n" + toml, "r.toml");
  core::Binder b = core::Binder::reader(r, "sample");
  SamplerChain c = build_chain(names, b);
  b.finish();
  return c;
}

// Hand-computed final distributions of the two orders of {top_p 0.7, temperature 2}:
//  top_p first: softmax(L) keeps {3, 1} (0.623591 + 0.229406 >= 0.7), then T = 2 over them:
//    softmax([1.0, 1.5]) -> p_1 = 0.377540669, p_3 = 0.622459331.
//  temperature first: softmax(L / 2) = [0.153523, 0.253117, 0.119564, 0.417319, 0.056478] keeps
//    {3, 1, 0} (0.417319 + 0.253117 = 0.670 < 0.7), renormalised [0.186324, 0.307196, 0, 0.506480, 0].
const std::vector<double> kTopPThenT = {0, 0.377540669, 0, 0.622459331, 0};
const std::vector<double> kTThenTopP = {0.186323723, 0.307195886, 0, 0.506480391, 0};

TEST(SamplerChain, OrderMatters) {
  const auto a = chain_of("top_p = 0.7\ntemperature = 2.0\n", {"top_p", "temperature"});
  const auto b = chain_of("top_p = 0.7\ntemperature = 2.0\n", {"temperature", "top_p"});
  const torch::Tensor pa = torch::softmax(a.process(repeat_rows(kL, 1)).to(torch::kDouble), -1)[0];
  const torch::Tensor pb = torch::softmax(b.process(repeat_rows(kL, 1)).to(torch::kDouble), -1)[0];
  for (int i = 0; i < 5; ++i) {
    EXPECT_NEAR(pa[i].item<double>(), kTopPThenT[i], 1e-6) << i;
    EXPECT_NEAR(pb[i].item<double>(), kTThenTopP[i], 1e-6) << i;
  }
}

TEST(SamplerChain, FrequenciesMatchTheFinalDistribution) {
  const auto chain = chain_of("top_p = 0.7\ntemperature = 2.0\n", {"temperature", "top_p"});
  const int64_t n = 20000;
  at::Generator g = make_generator(torch::kCPU, 1234);
  const SampleResult r = chain.sample(repeat_rows(kL, n), g);
  ASSERT_EQ(r.tokens.sizes(), torch::IntArrayRef({n}));
  const torch::Tensor counts = torch::bincount(r.tokens, /*weights=*/{}, /*minlength=*/5);
  double chi2 = 0;
  for (int i = 0; i < 5; ++i) {
    const double observed = counts[i].item<double>();
    if (kTThenTopP[i] == 0) {
      EXPECT_EQ(observed, 0) << "removed token " << i << " was drawn";
      continue;
    }
    const double expected = n * kTThenTopP[i];
    chi2 += (observed - expected) * (observed - expected) / expected;
  }
  // 2 degrees of freedom: P(chi2 > 18.4) = 1e-4.
  EXPECT_LT(chi2, 18.4) << counts;
}

TEST(SamplerChain, ReturnsSamplingAndPolicyLogProbs) {
  const auto chain = chain_of("top_p = 0.7\ntemperature = 2.0\n", {"temperature", "top_p"});
  at::Generator g = make_generator(torch::kCPU, 7);
  const SampleResult r = chain.sample(repeat_rows(kL, 64), g);
  // log softmax(L) and its entropy, by hand.
  const std::vector<double> policy = {0.084393856, 0.229406284, 0.051187461, 0.623590933, 0.011421466};
  for (int64_t b = 0; b < 64; ++b) {
    const int64_t tok = r.tokens[b].item<int64_t>();
    EXPECT_NEAR(r.logp_sample[b].item<double>(), std::log(kTThenTopP[tok]), 1e-5);
    EXPECT_NEAR(r.logp[b].item<double>(), std::log(policy[tok]), 1e-5);
    EXPECT_NEAR(r.entropy[b].item<double>(), 1.044109194, 1e-5);
  }
}

TEST(SamplerChain, GreedyHasZeroSamplingLogProb) {
  const auto chain = chain_of("temperature = 0.0\n", {"temperature"});
  at::Generator g = make_generator(torch::kCPU, 0);
  const SampleResult r = chain.sample(repeat_rows(kL, 8), g);
  EXPECT_TRUE(torch::all(r.tokens == 3).item<bool>());
  EXPECT_TRUE(torch::allclose(r.logp_sample, torch::zeros({8})));
  EXPECT_NEAR(r.logp[0].item<double>(), std::log(0.623590933), 1e-5);
}

TEST(SamplerChain, EmptyChainDrawsFromThePolicy) {
  const SamplerChain chain;
  at::Generator g = make_generator(torch::kCPU, 3);
  const SampleResult r = chain.sample(repeat_rows({0.f, -INFINITY, 1.f}, 256), g);
  EXPECT_TRUE(torch::allclose(r.logp, r.logp_sample));
  EXPECT_FALSE(torch::any(r.tokens == 1).item<bool>());  // -inf is never drawn
}

TEST(SamplerChain, SameSeedSameTokensDifferentSeedsDiffer) {
  const auto chain = default_chain({"top_k", "top_p", "temperature"});
  torch::manual_seed(0);
  const torch::Tensor logits = torch::randn({64, 50}, torch::TensorOptions().dtype(torch::kFloat));
  at::Generator g1 = make_generator(torch::kCPU, 42), g2 = make_generator(torch::kCPU, 42),
                g3 = make_generator(torch::kCPU, 43);
  const torch::Tensor t1 = chain.sample(logits, g1).tokens, t2 = chain.sample(logits, g2).tokens,
                      t3 = chain.sample(logits, g3).tokens;
  EXPECT_TRUE(torch::equal(t1, t2));
  EXPECT_FALSE(torch::equal(t1, t3));
  // The generator advances: a second draw from g1 differs from the first.
  EXPECT_FALSE(torch::equal(chain.sample(logits, g1).tokens, t1));
}

}  // namespace
}  // namespace rlpp::sample
