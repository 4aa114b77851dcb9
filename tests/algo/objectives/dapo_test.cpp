// dapo against its formula per element in double precision and its analytic gradient.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "algo/objective_test_util.h"
#include "rlpp/algo/aggregation.h"
#include "rlpp/algo/objectives/dapo.h"
#include "rlpp/algo/objectives/ppo_clip.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

using namespace test_util;

TEST(Dapo, IsPpoClipWithClipHigherDefaults) {
  const DapoOptions defaults;
  EXPECT_EQ(defaults.eps_low, 0.2);
  EXPECT_EQ(defaults.eps_high, 0.28);
  EXPECT_FALSE(defaults.dual_clip);
  PolicyLossInput in = random_input(11);
  auto obj = build_component(objective_registry(), "dapo", core::Recipe::parse("[o]\n", "r.toml"), "o");
  const ObjectiveOutput out = obj->compute(in);
  const torch::Tensor grad = grad_of(in, out);
  int n_high = 0;
  for (int64_t i = 0; i < kB; ++i) {
    for (int64_t t = 0; t < kL; ++t) {
      if (!valid(in, i, t)) continue;
      const double r = std::exp(val(in.logp.detach(), i, t) - val(in.logp_old, i, t)), a = val(in.advantages, i, t);
      const ClipRef ref = clip_ref(r, a, 0.2, 0.28);
      n_high += ref.side == 1;
      EXPECT_NEAR(val(out.token_loss, i, t), ref.loss, 1e-5);
      EXPECT_NEAR(val(grad, i, t), ref.side == 0 ? -r * a : 0.0, 1e-5);
    }
  }
  EXPECT_GT(n_high, 0);
}

}  // namespace
}  // namespace rlpp::algo
