// RoPE frequencies of every scaling kind against the formulas written out again in double here
// (Hugging Face's modeling_rope_utils.py), a few hand-computed values, and the rotation against a
// per-pair loop.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "nn/lm/rope_reference.h"
#include "rlpp/nn/lm/rope.h"

namespace rlpp::nn::lm {
namespace {

LmConfig small_config(int64_t head_dim) {
  LmConfig c;
  c.hidden_size = head_dim * 2;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.rope_theta = 10000.0;
  c.max_position_embeddings = 64;
  return c;
}

using test_ref::reference_inv_freq;

void expect_matches_reference(const LmConfig& c, int64_t seq_len) {
  double af_ref = 0;
  const std::vector<double> ref = reference_inv_freq(c, seq_len, &af_ref);
  const RopeFrequencies got = rope_frequencies(c, seq_len);
  ASSERT_EQ(got.inv_freq.numel(), static_cast<int64_t>(ref.size()));
  for (size_t i = 0; i < ref.size(); ++i) {
    EXPECT_NEAR(got.inv_freq[i].item<double>(), ref[i], 1e-12 * ref[i]) << c.rope_scaling.kind << " i=" << i;
  }
  EXPECT_NEAR(got.attention_factor, af_ref, 1e-12) << c.rope_scaling.kind;
}

TEST(LmRope, HandComputedFrequencies) {
  LmConfig c = small_config(4);
  RopeFrequencies f = rope_frequencies(c, 0);
  EXPECT_DOUBLE_EQ(f.inv_freq[0].item<double>(), 1.0);
  EXPECT_DOUBLE_EQ(f.inv_freq[1].item<double>(), 0.01);  // 10000^(-2/4)
  c.rope_scaling.kind = "linear";
  c.rope_scaling.factor = 2.0;
  f = rope_frequencies(c, 0);
  EXPECT_DOUBLE_EQ(f.inv_freq[1].item<double>(), 0.005);
  c.rope_scaling.kind = "yarn";
  c.rope_scaling.factor = 4.0;
  EXPECT_NEAR(rope_frequencies(c, 0).attention_factor, 1.1386294361, 1e-9);  // 0.1 ln 4 + 1
}

TEST(LmRope, EveryScalingKindMatchesReference) {
  LmConfig c = small_config(16);
  expect_matches_reference(c, 10);
  c.rope_scaling.kind = "linear";
  c.rope_scaling.factor = 4.0;
  expect_matches_reference(c, 10);
  c.rope_scaling = RopeScaling{};
  c.rope_scaling.kind = "dynamic";
  c.rope_scaling.factor = 2.0;
  expect_matches_reference(c, 10);   // inside the context: unchanged
  expect_matches_reference(c, 200);  // beyond: theta grows
  EXPECT_LT(rope_frequencies(c, 200).inv_freq[7].item<double>(), rope_frequencies(c, 10).inv_freq[7].item<double>());
  // llama3 with all three bands present (wavelengths 6.3 ... 19869 against 256/4 and 256/1)
  c.rope_scaling = RopeScaling{};
  c.rope_scaling.kind = "llama3";
  c.rope_scaling.factor = 8.0;
  c.rope_scaling.low_freq_factor = 1.0;
  c.rope_scaling.high_freq_factor = 4.0;
  c.rope_scaling.original_max_position_embeddings = 256;
  expect_matches_reference(c, 10);
  const RopeFrequencies l3 = rope_frequencies(c, 10);
  EXPECT_DOUBLE_EQ(l3.inv_freq[0].item<double>(), 1.0);                          // kept
  EXPECT_DOUBLE_EQ(l3.inv_freq[7].item<double>(), std::pow(10000.0, -14.0 / 16) / 8);  // divided
  c.rope_scaling = RopeScaling{};
  c.rope_scaling.kind = "yarn";
  c.rope_scaling.factor = 4.0;
  c.rope_scaling.original_max_position_embeddings = 32;
  expect_matches_reference(c, 10);
  c.rope_scaling.attention_factor = 1.25;
  c.rope_scaling.beta_fast = 8.0;
  expect_matches_reference(c, 10);
}

TEST(LmRope, RotationMatchesPerPairLoop) {
  torch::manual_seed(3);
  const int64_t B = 2, H = 3, T = 4, d = 8;
  const torch::Tensor x = torch::randn({B, H, T, d});
  const torch::Tensor positions = torch::tensor({{0, 1, 2, 9}, {5, 6, 7, 30}}, torch::kLong);
  LmConfig c = small_config(d);
  c.rope_scaling.kind = "yarn";  // exercises the attention factor too
  c.rope_scaling.factor = 2.0;
  const RopeFrequencies f = rope_frequencies(c, 0);
  const auto [cos, sin] = rope_cos_sin(positions, f.inv_freq, f.attention_factor);
  const torch::Tensor y = apply_rope(x, cos, sin);
  const auto xa = x.accessor<float, 4>();
  const auto ya = y.accessor<float, 4>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t i = 0; i < d / 2; ++i) {
          // the pair (i, i + d/2) is rotated by angle p * f_i
          const double a = positions[b][t].item<int64_t>() * f.inv_freq[i].item<double>();
          const double x1 = xa[b][h][t][i], x2 = xa[b][h][t][i + d / 2];
          const double s = f.attention_factor;
          EXPECT_NEAR(ya[b][h][t][i], s * (x1 * std::cos(a) - x2 * std::sin(a)), 2e-5);
          EXPECT_NEAR(ya[b][h][t][i + d / 2], s * (x2 * std::cos(a) + x1 * std::sin(a)), 2e-5);
        }
}

}  // namespace
}  // namespace rlpp::nn::lm
