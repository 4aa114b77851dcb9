// End to end on CPU: a small model pre-trained from scratch on generated addition (SFT, 150 steps)
// and then trained with RL on the verifiable reward (HAPO, 60 steps of 16 prompts x 8 samples) gets
// a higher sampled reward than it started with. Both recipes are the shipped ones, shortened.
#include <gtest/gtest.h>

#include <iostream>

#include "rlpp/core/fs.h"
#include "train/lm/lm_test_util.h"

namespace rlpp::train::lm {
namespace {

std::string shipped(const std::string& name) { return core::read_file(std::string(RLPP_SOURCE_DIR) + "/configs/" + name); }

// Replaces `key = ...` in the recipe text with `key = value` (the key must occur once).
std::string with(std::string recipe, const std::string& key, const std::string& value) {
  const size_t at = recipe.find("\n" + key + " = ");
  EXPECT_NE(at, std::string::npos) << key;
  const size_t end = recipe.find('\n', at + 1);
  return recipe.replace(at + 1, end - at - 1, key + " = " + value);
}

TEST(RlImproves, HapoRaisesTheRewardOfAnSftModel) {
  testing::TempDir tmp("rl_improves");
  std::string sft = shipped("lm_arithmetic.toml");
  // One LibTorch thread: CTest runs tests side by side, and spinning OpenMP threads on a busy machine
  // would multiply the run time.
  sft = with(sft, "torch_threads", "1");
  sft = with(sft, "total_steps", "150");
  sft = with(sft, "eval_every", "0");
  sft = with(sft, "accuracy_examples", "0");
  const std::string sft_dir = test_util::run_recipe(sft, tmp, "sft");

  std::string rl = shipped("rlvr_arithmetic_hapo.toml");
  rl = with(rl, "torch_threads", "1");
  rl = with(rl, "total_steps", "60");
  rl = with(rl, "from", "\"" + sft_dir + "/model\"");
  rl = with(rl, "accuracy_examples", "0");
  const auto rows = test_util::read_metrics(test_util::run_recipe(rl, tmp, "rl"));
  ASSERT_EQ(rows.size(), 60u);
  double first = 0, last = 0;
  for (int i = 0; i < 10; ++i) first += rows[i].at("rl/reward_mean") / 10;
  for (int i = 50; i < 60; ++i) last += rows[i].at("rl/reward_mean") / 10;
  std::cout << "mean sampled reward: steps 1-10 " << first << ", steps 51-60 " << last << std::endl;
  // 1,280 responses per window: the standard error of each mean is about 0.012.
  EXPECT_GT(last, first + 0.03) << "mean reward, steps 1-10: " << first << ", steps 51-60: " << last;
}

}  // namespace
}  // namespace rlpp::train::lm
