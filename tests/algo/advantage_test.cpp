// The advantage registry builds an estimator from a recipe with its defaults, overrides and bounds
// (each estimator's formula tests: tests/algo/advantages/<name>_test.cpp).
#include "rlpp/algo/advantage.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "algo/advantage_test_util.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

using namespace adv_test;

TEST(AdvantageRegistry, BuildsFromRecipeWithDefaultsAndOverrides) {
  auto& reg = advantage_registry();
  EXPECT_TRUE(reg.contains("gae"));
  EXPECT_TRUE(reg.contains("mc"));
  const core::Recipe recipe =
      core::Recipe::parse("[advantage]\nid = \"gae\"\ngamma = 0.5\nlambda = 0.5\n", "t.toml");
  auto est = build_component(reg, "gae", recipe, "advantage");
  expect_column(est->compute(three_steps()).advantages, {1.59375, 2.375, 2.5});

  const core::Recipe bad = core::Recipe::parse("[advantage]\nlamda = 0.5\n", "t.toml");
  EXPECT_THROW(build_component(reg, "gae", bad, "advantage"), core::UserError);
  const core::Recipe out_of_range = core::Recipe::parse("[advantage]\ngamma = 1.5\n", "t.toml");
  EXPECT_THROW(build_component(reg, "gae", out_of_range, "advantage"), core::UserError);
  EXPECT_THROW(reg.get("gea"), core::UserError);

  const auto rows = describe_component(reg, "gae");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].key, "gamma");
  EXPECT_EQ(rows[0].default_value, "0.99");
  EXPECT_EQ(list_advantages().size(), reg.names().size());
}

}  // namespace
}  // namespace rlpp::algo
