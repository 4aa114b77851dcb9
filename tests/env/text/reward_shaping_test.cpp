// Reward shaping: DAPO's overlong punishment at hand-chosen lengths, the format term from the task's
// parser or a regex, and the weighted total.
#include <gtest/gtest.h>

#include "rlpp/core/error.h"
#include "rlpp/env/text/arithmetic.h"
#include "rlpp/env/text/reward_shaping.h"

namespace rlpp::env::text {
namespace {

TEST(TextRewardShaping, OverlongPenaltyHandValues) {
  // L_max = 100, L_cache = 20: free up to 80, then -(L - 80) / 20, -1 beyond 100
  EXPECT_EQ(overlong_penalty(0, 100, 20), 0.0);
  EXPECT_EQ(overlong_penalty(80, 100, 20), 0.0);
  EXPECT_DOUBLE_EQ(overlong_penalty(81, 100, 20), -0.05);
  EXPECT_DOUBLE_EQ(overlong_penalty(90, 100, 20), -0.5);
  EXPECT_DOUBLE_EQ(overlong_penalty(95, 100, 20), -0.75);
  EXPECT_DOUBLE_EQ(overlong_penalty(100, 100, 20), -1.0);
  EXPECT_EQ(overlong_penalty(101, 100, 20), -1.0);
  EXPECT_EQ(overlong_penalty(100000, 100, 20), -1.0);
  // DAPO's setting: 20480 and 4096; 18432 tokens is halfway through the ramp
  EXPECT_DOUBLE_EQ(overlong_penalty(18432, 20480, 4096), -0.5);
  EXPECT_EQ(overlong_penalty(16384, 20480, 4096), 0.0);
  // L_cache = L_max: the ramp starts at 0
  EXPECT_DOUBLE_EQ(overlong_penalty(25, 100, 100), -0.25);
}

TEST(TextRewardShaping, CombinesCorrectnessFormatAndLength) {
  ArithmeticTask task(ArithmeticOptions{});
  const TaskInstance t{"2+3=", "5", "5"};
  RewardShapingOptions o;
  o.format_weight = 0.2;
  o.overlong_weight = 1.0;
  o.overlong_max_length = 100;
  o.overlong_cache_length = 20;
  RewardShaper shaper(o);
  ShapedReward r = shaper.score(task, t, "2+3+0=5\n5", 10);
  EXPECT_EQ(r.correct, 1.0);
  EXPECT_EQ(r.format, 1.0);
  EXPECT_EQ(r.overlong, 0.0);
  EXPECT_DOUBLE_EQ(r.total, 1.2);
  r = shaper.score(task, t, "6", 90);  // wrong but well-formed, half-way into the ramp
  EXPECT_DOUBLE_EQ(r.total, 0.2 - 0.5);
  r = shaper.score(task, t, "five", 200);
  EXPECT_EQ(r.format, 0.0);
  EXPECT_DOUBLE_EQ(r.total, -1.0);
  r = shaper.score(task, t, "", 0);
  EXPECT_EQ(r.total, 0.0);

  RewardShapingOptions re;
  re.format_weight = 1.0;
  re.format_regex = R"(Answer: -?\d+)";
  RewardShaper by_regex(re);
  EXPECT_EQ(by_regex.format_reward(task, t, "work\nAnswer: 12"), 1.0);
  EXPECT_EQ(by_regex.format_reward(task, t, "Answer: 12 apples"), 0.0);
  EXPECT_EQ(by_regex.format_reward(task, t, std::string(5000, '1')), 0.0);
  // correctness still comes from the task: "Answer: 5" is not the final answer "5"
  EXPECT_DOUBLE_EQ(by_regex.score(task, t, "Answer: 5", 1).total, 1.0);

  RewardShapingOptions bad_regex;
  bad_regex.format_regex = "([";
  EXPECT_THROW(RewardShaper{bad_regex}, core::UserError);
  RewardShapingOptions bad_cache;
  bad_cache.overlong_max_length = 10;
  bad_cache.overlong_cache_length = 20;
  EXPECT_THROW(RewardShaper{bad_cache}, core::UserError);
}

}  // namespace
}  // namespace rlpp::env::text
