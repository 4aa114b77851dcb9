// mc: the discounted return-to-go against its explicit sum in double precision.
#include "rlpp/algo/advantages/mc.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "algo/advantage_test_util.h"

namespace rlpp::algo {
namespace {

using namespace adv_test;

TEST(Mc, WithoutValuesOrNextValueIsThePlainReturnToGo) {
  const Episode e = random_episode(/*T=*/20, /*N=*/3, /*seed=*/5);
  AdvantageInput in = e.input();
  in.values = torch::Tensor();
  in.next_value = torch::Tensor();
  const AdvantageOutput m = mc(in, McOptions{0.9, false});
  for (int t = 0; t < e.T; ++t) {
    for (int n = 0; n < e.N; ++n) {
      const double G = return_sum(e, t, n, 0.9, false, /*use_next_value=*/false);
      EXPECT_NEAR(at(m.advantages, t, n), G, 1e-5);
      EXPECT_NEAR(at(m.returns, t, n), G, 1e-5);
    }
  }
}

}  // namespace
}  // namespace rlpp::algo
