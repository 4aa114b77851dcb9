// Entropy controls of the policy update (entropy_control.h) against hand values: the adaptive
// coefficient's bang-bang steps (Skywork-OR1) and its token term, built from a recipe section.
#include <gtest/gtest.h>

#include "rlpp/core/config.h"
#include "rlpp/core/error.h"
#include "rlpp/train/lm/entropy_control.h"

namespace rlpp::train::lm {
namespace {

TEST(EntropyControl, AdaptiveCoefficientStepsTowardTheTarget) {
  const core::Recipe recipe = core::Recipe::parse(
      "[entropy_control]\nname = \"adaptive\"\ncoef = 0.1\ntarget = 1.0\nstep = 0.01\n", "test.toml");
  toml::table resolved;
  auto control = build_entropy_control(recipe, &resolved);
  ASSERT_TRUE(control);
  EXPECT_NE(core::to_toml_text(resolved).find("max_coef = 1.0"), std::string::npos);  // every option recorded
  // Token term −c·H on valid tokens: c = 0.1.
  const torch::Tensor h = torch::tensor({{0.5f, 2.0f}, {1.5f, 0.25f}});
  const torch::Tensor mask = torch::tensor({{1.f, 1.f}, {1.f, 0.f}});
  std::map<std::string, torch::Tensor> m;
  torch::Tensor l = control->token_loss({h, torch::zeros({2, 2}, torch::kInt64), mask, 0.0}, &m);
  EXPECT_NEAR(l[0][1].item<double>(), -0.2, 1e-7);
  EXPECT_EQ(l[1][1].item<double>(), 0.0);
  EXPECT_NEAR(m.at("entropy/coef").item<double>(), 0.1, 1e-12);
  // Sampling-time mean entropy over the valid tokens: (0.5 + 2.0 + 1.5) / 3 = 4/3 > 1: c − step.
  control->observe(h, torch::zeros({2, 2}, torch::kInt64), mask, /*fresh=*/true);
  l = control->token_loss({h, torch::zeros({2, 2}, torch::kInt64), mask, 0.0}, &m);
  EXPECT_NEAR(l[0][0].item<double>(), -0.09 * 0.5, 1e-7);
  // A reused (stale) batch teaches nothing; a low-entropy one raises c: 0.09 + 0.01.
  control->observe(h, torch::zeros({2, 2}, torch::kInt64), mask, /*fresh=*/false);
  control->observe(torch::full({2, 2}, 0.2f), torch::zeros({2, 2}, torch::kInt64), mask, /*fresh=*/true);
  l = control->token_loss({h, torch::zeros({2, 2}, torch::kInt64), mask, 0.0}, &m);
  EXPECT_NEAR(m.at("entropy/coef").item<double>(), 0.1, 1e-12);
}

// AEPO: no term on the batch's own tokens; extra rollouts at t_high when the entropy is at or
// below the target, else t_low; their loss −α·w·log π with w = 1 for advantages above 0.05.
TEST(EntropyControl, AepoChoosesTheTemperatureAndReinforcesSelectedRollouts) {
  const core::Recipe recipe = core::Recipe::parse(
      "[entropy_control]\nname = \"aepo\"\nalpha = 0.5\ntarget = 1.0\nt_high = 1.3\nt_low = 0.7\n", "test.toml");
  auto control = build_entropy_control(recipe, nullptr);
  ASSERT_TRUE(control);
  EXPECT_TRUE(control->wants_extra_rollouts());
  EXPECT_EQ(control->extra_rollout_temperature(0.4), 1.3);
  EXPECT_EQ(control->extra_rollout_temperature(1.0), 1.3);  // at the target: raise
  EXPECT_EQ(control->extra_rollout_temperature(1.6), 0.7);
  std::map<std::string, torch::Tensor> m;
  const torch::Tensor h = torch::ones({2, 2});
  EXPECT_EQ(control->token_loss({h, torch::zeros({2, 2}, torch::kInt64), torch::ones({2, 2}), 0.0}, &m).abs().sum().item<double>(), 0.0);
  const torch::Tensor logp = torch::tensor({{-0.5f, -1.5f}, {-2.0f, -0.25f}});
  const torch::Tensor mask = torch::tensor({{1.f, 0.f}, {1.f, 1.f}});
  const torch::Tensor l = control->extra_rollout_loss(logp, mask, torch::tensor({0.8f, 0.01f}), 0.4, &m);
  EXPECT_NEAR(l[0][0].item<double>(), 0.25, 1e-7);  // −0.5 · 1 · (−0.5)
  EXPECT_EQ(l[0][1].item<double>(), 0.0);           // masked
  EXPECT_EQ(l[1][0].item<double>(), 0.0);           // advantage 0.01 <= 0.05: w = 0
  EXPECT_NEAR(m.at("aepo/temperature").item<double>(), 1.3, 1e-12);
  EXPECT_NEAR(m.at("aepo/reinforced").item<double>(), 1.0, 1e-12);
  EXPECT_FALSE(build_entropy_control(core::Recipe::parse("[entropy_control]\nname = \"adaptive\"\n", "t.toml"), nullptr)
                   ->wants_extra_rollouts());
}

TEST(EntropyControl, NoneBuildsNothingAndUnknownNamesAreListed) {
  const core::Recipe recipe = core::Recipe::parse("", "test.toml");
  EXPECT_FALSE(build_entropy_control(recipe, nullptr));
  EXPECT_FALSE(build_entropy_control(core::Recipe::parse("[entropy_control]\nname = \"none\"\n", "t.toml"), nullptr));
  try {
    entropy_control_registry().get("epoo");
    FAIL();
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("epo"), std::string::npos);
  }
}

}  // namespace
}  // namespace rlpp::train::lm
