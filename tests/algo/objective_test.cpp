// The objective registry holds every objective with its options (each objective's formula tests:
// tests/algo/objectives/<name>_test.cpp).
#include "rlpp/algo/objective.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>

#include "objective_test_util.h"
#include "rlpp/algo/aggregation.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

using namespace test_util;

TEST(MoreObjectives, RegisteredWithOptions) {
  auto& reg = objective_registry();
  for (const char* name : {"dapo", "cispo", "sapo", "gppo", "gspo", "dro", "gmpo"}) {
    EXPECT_TRUE(reg.contains(name)) << name;
  }
  EXPECT_EQ(describe_component(reg, "dapo").size(), 4u);
  EXPECT_EQ(describe_component(reg, "gppo").size(), 4u);
  EXPECT_THROW(build_component(reg, "sapo", core::Recipe::parse("[o]\ntau_pos = 0.0\n", "r.toml"), "o"),
               core::UserError);
}

}  // namespace
}  // namespace rlpp::algo
