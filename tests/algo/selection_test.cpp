// Dynamic sampling (filter and refill bookkeeping), overlong shaping and masking, the selector
// registry and option validation. References are written out here with plain loops.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "rlpp/algo/dynamic_sampling.h"
#include "rlpp/algo/entropy.h"
#include "rlpp/algo/overlong.h"
#include "rlpp/algo/selector.h"
#include "rlpp/core/error.h"
#include "selection_test_util.h"

namespace rlpp::algo {
namespace {

using namespace sel_test;

// ---- dynamic sampling -------------------------------------------------------------------------

// Reference: a group is kept iff its rewards are not all equal (spread > tol).
std::vector<bool> ds_reference(const std::vector<double>& r, const std::vector<int64_t>& id, double tol) {
  std::map<int64_t, std::pair<double, double>> range;
  for (size_t i = 0; i < r.size(); ++i) {
    auto it = range.find(id[i]);
    if (it == range.end()) range[id[i]] = {r[i], r[i]};
    else it->second = {std::min(it->second.first, r[i]), std::max(it->second.second, r[i])};
  }
  std::vector<bool> keep;
  for (size_t i = 0; i < r.size(); ++i) keep.push_back(range[id[i]].second - range[id[i]].first > tol);
  return keep;
}

TEST(DynamicSampling, KeepsGroupsWithRewardSpread) {
  const std::vector<double> r = {1, 1, 1, 0, 1, 0.1, 0.1, 0.1, 0.3, 5};
  const std::vector<int64_t> id = {4, 4, 4, 9, 9, -1, -1, -1, 3, 8};  // 4, -1 equal; 3, 8 singletons
  DynamicSamplingOptions opts;
  const GroupFilter f = dynamic_sampling_filter(torch::tensor(std::vector<float>(r.begin(), r.end())),
                                                torch::tensor(id), opts);
  const auto ref = ds_reference(r, id, 0.0);
  for (size_t i = 0; i < r.size(); ++i) EXPECT_EQ(f.row_keep[static_cast<int64_t>(i)].item<bool>(), ref[i]) << i;
  EXPECT_EQ(f.num_groups, 5);
  EXPECT_EQ(f.kept_groups, 1);  // only group 9
  EXPECT_DOUBLE_EQ(f.zero_variance_frac, 0.8);
  EXPECT_EQ(f.group_ids[0].item<int64_t>(), -1);  // ascending ids
}

TEST(DynamicSampling, ToleranceAndRandomBatches) {
  std::mt19937_64 gen(3);
  std::uniform_int_distribution<int> coin(0, 3), grp(0, 5);
  for (double tol : {0.0, 0.5, 1.5}) {
    std::vector<double> r;
    std::vector<int64_t> id;
    for (int i = 0; i < 40; ++i) {
      r.push_back(coin(gen) * 0.5);
      id.push_back(grp(gen) * 11);
    }
    const GroupFilter f = dynamic_sampling_filter(torch::tensor(std::vector<float>(r.begin(), r.end())),
                                                  torch::tensor(id), DynamicSamplingOptions{tol});
    const auto ref = ds_reference(r, id, tol);
    for (size_t i = 0; i < r.size(); ++i) EXPECT_EQ(f.row_keep[static_cast<int64_t>(i)].item<bool>(), ref[i]);
  }
}

TEST(DynamicSampling, SelectorMasksDroppedRowsAndReportsMetrics) {
  SelectionInput in = random_input(1);
  in.seq_rewards = torch::tensor({1.0f, 0.0f, 0.5f, 0.5f, 1.0f, 0.5f});  // group 7 varies, group 2 does not
  auto sel = build_default(selector_registry(), "dynamic_sampling");
  const SelectionOutput out = sel->select(in);
  for (int64_t i = 0; i < kB; ++i) {
    const bool keep = i == 0 || i == 1 || i == 4;
    EXPECT_EQ(out.row_keep[i].item<bool>(), keep);
    for (int64_t t = 0; t < kL; ++t) EXPECT_EQ(at(out.token_mask, i, t), keep ? at(in.mask, i, t) : 0.0);
  }
  EXPECT_DOUBLE_EQ(out.metrics.at("dynamic_sampling/zero_variance_frac").item<double>(), 0.5);
  EXPECT_DOUBLE_EQ(out.metrics.at("dynamic_sampling/kept_groups").item<double>(), 1.0);
  EXPECT_TRUE(torch::equal(out.seq_rewards, in.seq_rewards));
}

TEST(DynamicSampling, AllEqualAndEmptyBatches) {
  const GroupFilter f = dynamic_sampling_filter(torch::full({6}, 0.3f), torch::tensor(std::vector<int64_t>{1, 1, 1, 2, 2, 2}), {});
  EXPECT_FALSE(f.row_keep.any().item<bool>());
  EXPECT_DOUBLE_EQ(f.zero_variance_frac, 1.0);
  const GroupFilter e = dynamic_sampling_filter(torch::zeros({0}), torch::zeros({0}, torch::kLong), {});
  EXPECT_EQ(e.num_groups, 0);
  EXPECT_EQ(e.row_keep.numel(), 0);
  EXPECT_DOUBLE_EQ(e.zero_variance_frac, 0.0);
}

TEST(DynamicSampling, BadInputsAreUserErrors) {
  EXPECT_THROW(dynamic_sampling_filter(torch::zeros({4}), torch::zeros({3}, torch::kLong), {}), core::UserError);
  EXPECT_THROW(dynamic_sampling_filter(torch::zeros({4}), torch::zeros({4}), {}), core::UserError);  // float ids
  EXPECT_THROW(dynamic_sampling_filter(torch::zeros({4}), {}, {}), core::UserError);
  EXPECT_THROW(dynamic_sampling_filter(torch::zeros({2, 2}), torch::zeros({2}, torch::kLong), {}), core::UserError);
}

TEST(DynamicSamplingBuffer, AccumulatesUntilTargetAndTrimsLastRound) {
  DynamicSamplingBuffer buf(/*target_groups=*/3, /*max_rounds=*/5);
  // Round 0: groups 5 (varies), 6 (flat), 1 (varies) in order of appearance 5, 6, 1.
  const auto r0 = torch::tensor({1.f, 0.f, 1.f, 1.f, 0.f, 1.f});
  const auto g0 = torch::tensor(std::vector<int64_t>{5, 5, 6, 6, 1, 1});
  EXPECT_EQ(buf.add_round(r0, g0), 2);
  EXPECT_FALSE(buf.done());
  // Round 1: groups 3 (flat), 9 (varies), 2 (varies): only 9 fits the target.
  const auto r1 = torch::tensor({0.f, 0.f, 0.f, 1.f, 1.f, 0.f});
  const auto g1 = torch::tensor(std::vector<int64_t>{3, 3, 9, 9, 2, 2});
  EXPECT_EQ(buf.add_round(r1, g1), 1);
  EXPECT_TRUE(buf.full());
  EXPECT_TRUE(buf.done());
  EXPECT_EQ(buf.rounds(), 2);
  EXPECT_EQ(buf.kept_groups(), 3);
  EXPECT_EQ(buf.seen_groups(), 6);
  EXPECT_EQ(buf.zero_variance_groups(), 2);
  EXPECT_TRUE(torch::equal(buf.kept_rows()[0], torch::tensor(std::vector<int64_t>{0, 1, 4, 5})));
  EXPECT_TRUE(torch::equal(buf.kept_rows()[1], torch::tensor(std::vector<int64_t>{2, 3})));
  const torch::Tensor rows = buf.gather({torch::arange(6) * 10, torch::arange(6) * 100});
  EXPECT_TRUE(torch::equal(rows, torch::tensor(std::vector<int64_t>{0, 10, 40, 50, 200, 300})));
  EXPECT_THROW(buf.add_round(r1, g1), core::UserError);
}

TEST(DynamicSamplingBuffer, StopsAfterMaxRounds) {
  DynamicSamplingBuffer buf(/*target_groups=*/10, /*max_rounds=*/2);
  const auto flat = torch::ones({4});
  const auto ids = torch::tensor(std::vector<int64_t>{0, 0, 1, 1});
  EXPECT_EQ(buf.add_round(flat, ids), 0);
  EXPECT_FALSE(buf.done());
  EXPECT_EQ(buf.add_round(flat, ids), 0);
  EXPECT_TRUE(buf.done());
  EXPECT_FALSE(buf.full());
  EXPECT_EQ(buf.gather({torch::ones({4, 2}), torch::ones({4, 2})}).size(0), 0);
  EXPECT_THROW(DynamicSamplingBuffer(0, 1), core::UserError);
  EXPECT_THROW(DynamicSamplingBuffer(1, -1), core::UserError);
}

// ---- overlong ------------------------------------------------------------------------------------

double overlong_ref(double y, double lmax, double lcache, double factor) {
  const double start = lmax - lcache;
  if (y <= start) return 0.0;
  if (y >= lmax) return -factor;
  return -(y - start) / lcache * factor;
}

TEST(Overlong, PenaltyIsPiecewiseLinear) {
  OverlongOptions opts;
  opts.max_length = 20;
  opts.cache_length = 8;
  opts.factor = 0.5;
  const std::vector<double> ys = {0, 5, 12, 13, 16, 19, 20, 21, 100};
  const torch::Tensor pen = overlong_penalty(torch::tensor(std::vector<float>(ys.begin(), ys.end())), opts);
  for (size_t i = 0; i < ys.size(); ++i) {
    EXPECT_NEAR(at(pen, static_cast<int64_t>(i)), overlong_ref(ys[i], 20, 8, 0.5), 1e-7) << ys[i];
  }
  // Hand values: 16 is half-way through the window; 20 is L_max.
  EXPECT_NEAR(at(pen, 4), -0.25, 1e-7);
  EXPECT_NEAR(at(pen, 6), -0.5, 1e-7);
  // Paper defaults.
  const OverlongOptions d;
  EXPECT_EQ(d.max_length, 20480);
  EXPECT_EQ(d.cache_length, 4096);
  EXPECT_EQ(d.factor, 1.0);
  EXPECT_NEAR(at(overlong_penalty(torch::tensor({18432.f}), d), 0), -0.5, 1e-7);
}

TEST(Overlong, ShapingSelectorUsesLengthsOrMaskRowSums) {
  SelectionInput in = random_input(2);
  OverlongOptions opts;
  opts.max_length = 5;
  opts.cache_length = 2;  // window (3, 5]
  const SelectionOutput a = overlong_shaping_select(in, opts);
  const std::vector<double> len = {5, 3, 1, 0, 4, 2};
  for (int64_t i = 0; i < kB; ++i) {
    EXPECT_NEAR(at(a.seq_rewards, i), at(in.seq_rewards, i) + overlong_ref(len[static_cast<size_t>(i)], 5, 2, 1.0), 1e-6);
  }
  EXPECT_TRUE(a.row_keep.all().item<bool>());
  EXPECT_TRUE(torch::equal(a.token_mask, in.mask));
  EXPECT_NEAR(a.metrics.at("overlong/penalized_frac").item<double>(), 2.0 / 6.0, 1e-12);
  in.lengths = torch::Tensor();
  const SelectionOutput b = overlong_shaping_select(in, opts);
  EXPECT_TRUE(torch::allclose(a.seq_rewards, b.seq_rewards));
  opts.cache_length = 6;
  EXPECT_THROW(overlong_shaping_select(in, opts), core::UserError);
}

TEST(Overlong, MaskZeroesTruncatedRows) {
  const SelectionInput in = random_input(3);
  const SelectionOutput out = build_default(selector_registry(), "overlong_mask")->select(in);
  for (int64_t i = 0; i < kB; ++i) {
    const bool trunc = i == 1 || i == 4;
    EXPECT_EQ(out.row_keep[i].item<bool>(), !trunc);
    for (int64_t t = 0; t < kL; ++t) EXPECT_EQ(at(out.token_mask, i, t), trunc ? 0.0 : at(in.mask, i, t));
  }
  EXPECT_NEAR(out.metrics.at("overlong/truncated_frac").item<double>(), 2.0 / 6.0, 1e-12);
  SelectionInput bad = in;
  bad.truncated = torch::zeros({kB + 1}, torch::kBool);
  EXPECT_THROW(overlong_mask_select(bad, {}), core::UserError);
  bad.truncated = torch::Tensor();
  EXPECT_THROW(overlong_mask_select(bad, {}), core::UserError);
}

// ---- registry ------------------------------------------------------------------------------------

TEST(SelectorRegistry, ListsEveryName) {
  const std::set<std::string> want = {"dynamic_sampling", "overlong_shaping", "overlong_mask", "d3s_sample",
                                      "d3s_token", "capo", "top_entropy", "tis_token", "tis_sequence",
                                      "ratio_mask_token", "ratio_mask_sequence", "m2po"};
  std::set<std::string> got;
  for (const auto& [name, summary] : list_selectors()) {
    got.insert(name);
    EXPECT_FALSE(summary.empty()) << name;
  }
  EXPECT_EQ(got, want);
  EXPECT_THROW(selector_registry().get("dynamic_sampler"), core::UserError);
  for (const auto& name : want) EXPECT_NO_THROW(describe_component(selector_registry(), name)) << name;
}

TEST(SelectorRegistry, BadOptionValuesAreUserErrors) {
  const auto& reg = selector_registry();
  const auto bad = [&](const std::string& name, const std::string& body) {
    EXPECT_THROW(build_component(reg, name, core::Recipe::parse("[o]\n" + body, "r.toml"), "o"), core::UserError)
        << name << ": " << body;
  };
  bad("dynamic_sampling", "tolerance = -1.0\n");
  bad("overlong_shaping", "cache_length = 0\n");
  bad("d3s_sample", "keep_fraction = 0.0\n");
  bad("d3s_sample", "schedule = \"step\"\n");
  bad("d3s_token", "final_fraction = 1.5\n");
  bad("capo", "max_reject_frac = 1.5\n");
  bad("top_entropy", "rho = 0.0\n");
  bad("tis_token", "cap = 0.0\n");
  bad("tis_sequence", "seq_ratio = \"arithmetic\"\n");
  bad("ratio_mask_token", "hi = -1.0\n");
  bad("overlong_shaping", "max_length = 100\ncache_length = 200\n");
  bad("ratio_mask_sequence", "lo = 3.0\nhi = 2.0\n");
  auto ok = build_component(reg, "capo", core::Recipe::parse("[o]\nid = \"capo\"\nbudget = 0.5\n", "r.toml"), "o");
  EXPECT_NE(ok, nullptr);
}

TEST(SelectorRegistry, TopEntropyWrapsTheEntropyMask) {
  const SelectionInput in = random_input(4);
  const SelectionOutput out = build_default(selector_registry(), "top_entropy")->select(in);
  EXPECT_TRUE(torch::equal(out.token_mask, top_entropy_mask(in.entropy, in.mask, 0.2)));
}

TEST(SelectorRegistry, ChainFeedsMaskAndRewardsForward) {
  const SelectionInput in = random_input(5);
  OverlongOptions o;
  o.max_length = 5;
  o.cache_length = 2;
  const SelectionOutput a = overlong_shaping_select(in, o);
  const SelectionOutput b = overlong_mask_select(chain(in, a), {});
  const SelectionInput next = chain(in, b);
  EXPECT_TRUE(torch::equal(next.seq_rewards, a.seq_rewards));
  EXPECT_TRUE(torch::equal(next.mask, b.token_mask));
  EXPECT_EQ(next.mask.sum().item<double>(), 8.0);  // rows 0, 2, 5: 5 + 1 + 2 tokens
}

}  // namespace
}  // namespace rlpp::algo
