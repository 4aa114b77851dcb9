// hapo_tga: the fallback to grpo on a group with an outlier advantage (its formula on random batches:
// group_test.cpp).
#include "rlpp/algo/advantages/hapo_tga.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "algo/advantage_test_util.h"

namespace rlpp::algo {
namespace {

using namespace adv_test;

TEST(GroupAdvantage, HapoTgaFallsBackToGrpoOnOutlierGroups) {
  // μ = 3/103 and σ ≈ 0.168 make the short correct answers ≈ 5.77 ≥ 5: group 0 falls back.
  // Group 1 (equal lengths) stays token-level: there μ and σ are the plain (biased) mean and std.
  Batch b{{0, 1, 1, 1, 1, 0}, {0, 0, 0, 0, 1, 1}, {6, 1, 1, 1, 2, 2}};
  b.L = 6;
  AdvantageInput in = b.input();
  in.lengths = torch::tensor(std::vector<float>{100, 1, 1, 1, 2, 2});
  // grpo on {0, 1, 1, 1}: mean 0.75, std 0.5.
  const double hi = 0.25 / (0.5 + kEps), lo = -0.75 / (0.5 + kEps);
  expect_broadcast(run("hapo_tga", in), b, {lo, hi, hi, hi, 0.5 / (0.5 + kEps), -0.5 / (0.5 + kEps)}, "hapo_tga");
}

}  // namespace
}  // namespace rlpp::algo
