// D³S: the sample-level subset against brute force over all k-subsets, the binary balanced split,
// the token mask against a sort written out here, the schedule against its formula.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <tuple>
#include <vector>

#include "rlpp/algo/d3s.h"
#include "rlpp/core/error.h"
#include "selection_test_util.h"

namespace rlpp::algo {
namespace {

using namespace sel_test;

double pop_var(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m += x;
  m /= static_cast<double>(v.size());
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return s / static_cast<double>(v.size());
}

// Largest population variance over all k-subsets of v (bitmask enumeration).
double brute_max_var(const std::vector<double>& v, int k) {
  const int G = static_cast<int>(v.size());
  double best = -1;
  for (int s = 0; s < (1 << G); ++s) {
    if (__builtin_popcount(static_cast<unsigned>(s)) != k) continue;
    std::vector<double> sub;
    for (int i = 0; i < G; ++i)
      if (s >> i & 1) sub.push_back(v[static_cast<size_t>(i)]);
    best = std::max(best, pop_var(sub));
  }
  return best;
}

int expected_k(double f, int G) { return std::min(G, std::max(2, static_cast<int>(std::ceil(f * G - 1e-9)))); }

TEST(D3sSample, MatchesBruteForceOverAllSubsets) {
  std::mt19937_64 gen(7);
  std::normal_distribution<double> n(0, 1);
  std::uniform_int_distribution<int> small(0, 3);
  for (int trial = 0; trial < 60; ++trial) {
    // Several groups of sizes 1..9 in one batch, rows interleaved; some with tied values.
    std::vector<double> v;
    std::vector<int64_t> id;
    std::vector<std::vector<int>> rows(4);
    for (int g = 0; g < 4; ++g) {
      const int G = 1 + (trial + 3 * g) % 9;
      for (int i = 0; i < G; ++i) {
        rows[static_cast<size_t>(g)].push_back(static_cast<int>(v.size()));
        v.push_back(trial % 3 == 0 ? small(gen) * 0.5 : n(gen));
        id.push_back(100 - 17 * g);
      }
    }
    std::shuffle(v.begin(), v.end(), gen);  // values move, membership by row stays
    const double f = 0.1 + 0.1 * (trial % 9);
    const torch::Tensor keep =
        d3s_sample_keep(torch::tensor(v, torch::kDouble), torch::tensor(id), f);
    for (const auto& r : rows) {
      const int G = static_cast<int>(r.size());
      std::vector<double> all, chosen;
      for (int i : r) {
        all.push_back(v[static_cast<size_t>(i)]);
        if (keep[i].item<bool>()) chosen.push_back(v[static_cast<size_t>(i)]);
      }
      const int k = expected_k(f, G);
      ASSERT_EQ(static_cast<int>(chosen.size()), k) << "G=" << G << " f=" << f;
      if (k < G) { EXPECT_NEAR(pop_var(chosen), brute_max_var(all, k), 1e-9) << "G=" << G << " f=" << f; }
    }
  }
}

TEST(D3sSample, BinaryRewardsGiveTheMostBalancedSplit) {
  const int G = 8, k = 4;
  for (int m = 0; m <= G; ++m) {
    std::vector<double> v;
    for (int i = 0; i < G; ++i) v.push_back(i < m ? 1.0 : 0.0);
    const torch::Tensor keep = d3s_sample_keep(torch::tensor(v, torch::kDouble), torch::zeros({G}, torch::kLong), 0.5);
    int ones = 0, kept = 0;
    for (int i = 0; i < G; ++i) {
      kept += keep[i].item<bool>();
      ones += keep[i].item<bool>() && v[static_cast<size_t>(i)] > 0.5;
    }
    EXPECT_EQ(kept, k);
    // a closest to k/2 within [max(0, k − (G − m)), min(k, m)].
    const int want = std::clamp(k / 2, std::max(0, k - (G - m)), std::min(k, m));
    EXPECT_EQ(ones, want) << "m=" << m;
  }
}

TEST(D3sSample, SmallGroupsAndAllEqualGroupsAreKeptWhole) {
  const torch::Tensor keep = d3s_sample_keep(torch::tensor({1.0, 2.0, 3.0, 3.0, 3.0, 3.0}),
                                             torch::tensor(std::vector<int64_t>{0, 0, 1, 2, 2, 2}), 0.2);
  // Groups of 2 and 1 whole; group 2 (3 equal values) keeps k = 2 of 3, variance 0, no NaN.
  EXPECT_TRUE(keep[0].item<bool>() && keep[1].item<bool>() && keep[2].item<bool>());
  EXPECT_EQ(keep.slice(0, 3).sum().item<int64_t>(), 2);
  EXPECT_THROW(d3s_sample_keep(torch::tensor({1.0, std::nan("")}), torch::zeros({2}, torch::kLong), 0.5), core::UserError);
  EXPECT_THROW(d3s_sample_keep(torch::tensor({1.0, 2.0}), torch::zeros({3}, torch::kLong), 0.5), core::UserError);
  EXPECT_THROW(d3s_sample_keep(torch::tensor({1.0, 2.0}), torch::zeros({2}, torch::kLong), 0.0), core::UserError);
}

TEST(D3sSample, SelectorScoresRowsByMeanAdvantageAndIgnoresMaskedValues) {
  SelectionInput in = random_input(11);
  in.group_ids = torch::zeros({kB}, torch::kLong);  // one group of 6: k = 3 at f = 0.5
  D3sSampleOptions opts;
  opts.schedule.schedule = "constant";
  const SelectionOutput a = d3s_sample_select(in, opts);
  const SelectionOutput b = d3s_sample_select(with_garbage(in), opts);
  EXPECT_TRUE(torch::equal(a.row_keep, b.row_keep));
  EXPECT_TRUE(torch::equal(a.token_mask, b.token_mask));
  EXPECT_EQ(a.row_keep.sum().item<int64_t>(), 3);
  // Reference: row means in double, then brute force over 3-subsets.
  std::vector<double> means;
  for (int64_t i = 0; i < kB; ++i) {
    double s = 0, n = 0;
    for (int64_t t = 0; t < kL; ++t)
      if (at(in.mask, i, t) > 0.5) s += at(in.advantages, i, t), n += 1;
    means.push_back(n > 0 ? s / n : 0.0);
  }
  std::vector<double> chosen;
  for (int64_t i = 0; i < kB; ++i)
    if (a.row_keep[i].item<bool>()) chosen.push_back(means[static_cast<size_t>(i)]);
  EXPECT_NEAR(pop_var(chosen), brute_max_var(means, 3), 1e-9);
  for (int64_t i = 0; i < kB; ++i)
    for (int64_t t = 0; t < kL; ++t)
      EXPECT_EQ(at(a.token_mask, i, t), a.row_keep[i].item<bool>() ? at(in.mask, i, t) : 0.0);
  // With the default schedule, step >= schedule_steps keeps everything.
  in.step = 1000;
  EXPECT_TRUE(build_default(selector_registry(), "d3s_sample")->select(in).row_keep.all().item<bool>());
}

// Reference token mask: sort (score desc, flat index asc) over valid tokens, keep the first ⌈ρN⌉.
std::vector<std::vector<double>> token_ref(const SelectionInput& in, double rho) {
  std::vector<std::tuple<double, int64_t>> items;
  for (int64_t i = 0; i < kB; ++i)
    for (int64_t t = 0; t < kL; ++t)
      if (at(in.mask, i, t) > 0.5) items.emplace_back(-std::abs(at(in.advantages, i, t)) * at(in.entropy, i, t), i * kL + t);
  std::sort(items.begin(), items.end());
  const auto n_keep = static_cast<size_t>(std::ceil(rho * static_cast<double>(items.size()) - 1e-9));
  std::vector<std::vector<double>> keep(kB, std::vector<double>(kL, 0.0));
  for (size_t j = 0; j < n_keep; ++j) {
    const int64_t f = std::get<1>(items[j]);
    keep[static_cast<size_t>(f / kL)][static_cast<size_t>(f % kL)] = 1.0;
  }
  return keep;
}

TEST(D3sToken, KeepsTheLargestAbsAdvantageTimesEntropy) {
  for (uint64_t seed : {1, 2, 3}) {
    const SelectionInput in = random_input(seed);
    for (double rho : {0.1, 0.3, 0.5, 0.77, 1.0}) {
      const torch::Tensor m = d3s_token_mask(in.advantages, in.entropy, in.mask, rho);
      const auto ref = token_ref(in, rho);
      for (int64_t i = 0; i < kB; ++i)
        for (int64_t t = 0; t < kL; ++t) EXPECT_EQ(at(m, i, t), ref[static_cast<size_t>(i)][static_cast<size_t>(t)]);
      EXPECT_TRUE(torch::equal(m, d3s_token_mask(with_garbage(in).advantages, with_garbage(in).entropy, in.mask, rho)));
    }
  }
}

TEST(D3sToken, TiesEmptyMasksAndSelector) {
  SelectionInput in = random_input(4);
  in.advantages = torch::ones({kB, kL});
  in.entropy = torch::ones({kB, kL});
  const torch::Tensor m = d3s_token_mask(in.advantages, in.entropy, in.mask, 0.5);
  EXPECT_EQ(m.sum().item<double>(), 8.0);  // ⌈0.5·15⌉ of 15 valid tokens, ties by position
  const auto ref = token_ref(in, 0.5);
  for (int64_t i = 0; i < kB; ++i)
    for (int64_t t = 0; t < kL; ++t) EXPECT_EQ(at(m, i, t), ref[static_cast<size_t>(i)][static_cast<size_t>(t)]);
  in.mask = torch::zeros({kB, kL});
  const SelectionOutput out = d3s_token_select(in, {});
  EXPECT_EQ(out.token_mask.sum().item<double>(), 0.0);
  for (const auto& [k, v] : out.metrics) EXPECT_TRUE(std::isfinite(v.item<double>())) << k;
  const SelectionInput one = random_input(5);
  const torch::Tensor m1 = d3s_token_mask(one.advantages.slice(0, 2, 3), one.entropy.slice(0, 2, 3),
                                          one.mask.slice(0, 2, 3), 0.2);  // length-1 row
  EXPECT_EQ(m1.sum().item<double>(), 1.0);
  EXPECT_THROW(d3s_token_mask(in.advantages, in.entropy.slice(1, 0, 2), in.mask, 0.5), core::UserError);
}

TEST(D3sSchedule, LinearCosineConstant) {
  D3sScheduleOptions o;
  o.keep_fraction = 0.25;
  o.final_fraction = 1.0;
  o.schedule_steps = 100;
  o.schedule = "linear";
  EXPECT_DOUBLE_EQ(d3s_keep_fraction(0, o), 0.25);
  EXPECT_NEAR(d3s_keep_fraction(40, o), 0.25 + 0.75 * 0.4, 1e-12);
  EXPECT_DOUBLE_EQ(d3s_keep_fraction(100, o), 1.0);
  EXPECT_DOUBLE_EQ(d3s_keep_fraction(500, o), 1.0);
  o.schedule = "cosine";
  EXPECT_NEAR(d3s_keep_fraction(25, o), 0.25 + 0.75 * 0.5 * (1 - std::cos(M_PI * 0.25)), 1e-12);
  EXPECT_NEAR(d3s_keep_fraction(50, o), 0.625, 1e-12);
  EXPECT_DOUBLE_EQ(d3s_keep_fraction(100, o), 1.0);
  o.schedule = "constant";
  EXPECT_DOUBLE_EQ(d3s_keep_fraction(1000, o), 0.25);
  // Monotone relaxation.
  o.schedule = "cosine";
  for (int s = 0; s < 120; ++s) EXPECT_LE(d3s_keep_fraction(s, o), d3s_keep_fraction(s + 1, o));
}

}  // namespace
}  // namespace rlpp::algo
