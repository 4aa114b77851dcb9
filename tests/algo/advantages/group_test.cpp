// The group advantage estimators (grpo, dr_grpo, rloo, opo, grpo_passk, hapo_tga) against their
// per-group formulas written out in double with explicit loops (advantage_test_util.h), hand-computed
// groups, and the properties they share.
#include "rlpp/algo/advantages/group.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "algo/advantage_test_util.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

using namespace adv_test;

const std::vector<std::string> kGroupEstimators = {"grpo", "dr_grpo", "rloo", "opo", "grpo_passk", "hapo_tga"};

using Ref = std::function<double(const Batch&, size_t)>;

void expect_matches(const std::string& name, const Ref& ref, const Batch& b) {
  std::vector<double> a;
  for (size_t i = 0; i < b.r.size(); ++i) a.push_back(ref(b, i));
  expect_broadcast(run(name, b.input()), b, a, name);
}

TEST(GroupAdvantage, MatchesPerGroupFormulasOnRandomBatches) {
  for (uint64_t seed : {1, 2, 3, 4, 5}) {
    const Batch b = random_batch(seed);
    expect_matches("grpo", grpo_ref, b);
    expect_matches("dr_grpo", dr_grpo_ref, b);
    expect_matches("rloo", rloo_ref, b);
    expect_matches("opo", opo_ref, b);
    expect_matches("grpo_passk", passk_ref, b);
    expect_matches("hapo_tga", hapo_ref, b);
  }
}

TEST(GroupAdvantage, HandComputedGroups) {
  Batch b{{1, 0, 0, 1}, {0, 0, 0, 0}, {2, 3, 1, 6}};
  // mean 0.5, unbiased std sqrt(1/3): ±0.5/(0.5773503 + 1e-6).
  expect_broadcast(run("grpo", b.input()), b, {0.866024, -0.866024, -0.866024, 0.866024}, "grpo");

  b = Batch{{1, 2, 3, 6}, {4, 4, 4, 4}, {1, 1, 1, 1}};
  expect_broadcast(run("dr_grpo", b.input()), b, {-2, -1, 0, 3}, "dr_grpo");
  // 1 − 11/3, 2 − 10/3, 3 − 3, 6 − 2.
  expect_broadcast(run("rloo", b.input()), b, {-8.0 / 3, -4.0 / 3, 0, 4}, "rloo");

  b = Batch{{1, 0}, {0, 0}, {3, 1}};
  expect_broadcast(run("opo", b.input()), b, {0.25, -0.75}, "opo");  // baseline (3·1 + 1·0)/4

  b = Batch{{0.25, 1.0, 0.5}, {0, 0, 0}, {1, 1, 1}};
  // gap 0.5, unbiased std of {0.25, 1, 0.5} = sqrt(0.1458333).
  expect_broadcast(run("grpo_passk", b.input()), b, {0, 0.5 / (std::sqrt(0.4375 / 3) + kEps), 0}, "grpo_passk");
  b = Batch{{1.0, 1.0, 0.5}, {0, 0, 0}, {1, 1, 1}};  // tied best: no credit
  expect_broadcast(run("grpo_passk", b.input()), b, {0, 0, 0}, "grpo_passk tie");

  b = Batch{{1, 0}, {0, 0}, {1, 3}};
  // μ = 1/4, σ = sqrt((0.75² + 3·0.25²)/4) = sqrt(0.1875).
  expect_broadcast(run("hapo_tga", b.input()), b, {1.7320508, -0.5773503}, "hapo_tga");
}

TEST(GroupAdvantage, InvariantToRowOrderAndGroupLabels) {
  const Batch b = random_batch(11);
  std::vector<size_t> perm(b.r.size());
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), std::mt19937_64(7));
  Batch p = b;
  for (size_t k = 0; k < perm.size(); ++k) {
    p.r[k] = b.r[perm[k]];
    p.id[k] = b.id[perm[k]] * 31 + 4;  // a different labelling of the same groups
    p.len[k] = b.len[perm[k]];
  }
  const torch::Tensor index = torch::tensor(std::vector<int64_t>(perm.begin(), perm.end()));
  for (const auto& name : kGroupEstimators) {
    const torch::Tensor a = run(name, b.input()).advantages.index_select(0, index);
    const torch::Tensor ap = run(name, p.input()).advantages;
    EXPECT_LT((a - ap).abs().max().item<double>(), 1e-6) << name;
    EXPECT_GT(a.abs().max().item<double>(), 0.1) << name;  // the comparison is not vacuous
  }
}

TEST(GroupAdvantage, EqualRewardsAndSingletonGroupsGiveZeroWithoutNaN) {
  const Batch b{{0.7f, 0.7f, 0.7f, -1.3f, -1.3f, 2.5f}, {1, 1, 1, 2, 2, 3}, {2, 5, 1, 3, 4, 6}};
  for (const auto& name : kGroupEstimators) {
    const torch::Tensor a = run(name, b.input()).advantages;
    EXPECT_TRUE(torch::isfinite(a).all().item<bool>()) << name;
    EXPECT_LT(a.abs().max().item<double>(), 1e-6) << name;
  }
}

TEST(GroupAdvantage, LengthsDefaultToMaskRowSums) {
  const Batch b = random_batch(21);
  AdvantageInput in = b.input();
  in.lengths = torch::Tensor();
  for (const std::string name : {"opo", "hapo_tga"}) {
    EXPECT_TRUE(torch::allclose(run(name, in).advantages, run(name, b.input()).advantages)) << name;
  }
}

TEST(GroupAdvantage, RejectsMissingOrMisshapenInputs) {
  const Batch b = random_batch(3);
  for (const auto& name : kGroupEstimators) {
    AdvantageInput in = b.input();
    in.group_ids = torch::Tensor();
    EXPECT_THROW(run(name, in), core::UserError) << name;
    in = b.input();
    in.group_ids = in.group_ids.to(torch::kFloat);
    EXPECT_THROW(run(name, in), core::UserError) << name;
    in = b.input();
    in.mask = in.mask.slice(0, 1);
    EXPECT_THROW(run(name, in), core::UserError) << name;
    in = b.input();
    in.seq_rewards = in.seq_rewards.unsqueeze(1);
    EXPECT_THROW(run(name, in), core::UserError) << name;
  }
  AdvantageInput in = b.input();
  in.lengths = in.lengths.slice(0, 1);
  EXPECT_THROW(run("opo", in), core::UserError);
}

TEST(GroupAdvantage, RegisteredWithOptions) {
  auto& reg = advantage_registry();
  for (const auto& name : kGroupEstimators) EXPECT_TRUE(reg.contains(name)) << name;
  EXPECT_TRUE(reg.contains("reinforce_pp"));
  EXPECT_TRUE(reg.contains("reinforce_pp_baseline"));
  const core::Recipe recipe = core::Recipe::parse("[advantage]\nid = \"grpo\"\neps = 0.5\n", "t.toml");
  const Batch b{{1, 0}, {0, 0}, {1, 1}};
  // std of {1, 0} = sqrt(0.5): 0.5/(0.7071068 + 0.5).
  const double a = 0.5 / (std::sqrt(0.5) + 0.5);
  expect_broadcast(build_component(reg, "grpo", recipe, "advantage")->compute(b.input()), b, {a, -a}, "grpo eps");
  const core::Recipe bad = core::Recipe::parse("[advantage]\neps = 0\n", "t.toml");
  EXPECT_THROW(build_component(reg, "grpo", bad, "advantage"), core::UserError);
  const core::Recipe unknown = core::Recipe::parse("[advantage]\neps = 0.1\n", "t.toml");
  EXPECT_THROW(build_component(reg, "rloo", unknown, "advantage"), core::UserError);
  const auto rows = describe_component(reg, "hapo_tga");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].key, "fallback_threshold");
}

}  // namespace
}  // namespace rlpp::algo
