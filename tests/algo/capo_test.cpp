// CAPO-style curvature mask: the curvature against its formula in double, the rejection rule
// against a greedy loop written out here, and the stated properties (cap, order, loose budget,
// masked positions).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <tuple>
#include <vector>

#include "rlpp/algo/capo.h"
#include "rlpp/core/error.h"
#include "selection_test_util.h"

namespace rlpp::algo {
namespace {

using namespace sel_test;

double c_ref(const SelectionInput& in, int64_t i, int64_t t, double eta) {
  const double lr = std::clamp(at(in.logp, i, t) - at(in.logp_old, i, t), -20.0, 20.0);
  const double x = lr + eta * std::exp(lr) * at(in.advantages, i, t);
  return 0.5 * x * x;
}

// Greedy reference: reject tokens by decreasing c (ties by position) while C > budget and the
// count is under the cap.
std::vector<std::vector<double>> keep_ref(const SelectionInput& in, const CapoOptions& o, int* rejected) {
  std::vector<std::tuple<double, int64_t>> items;
  double total = 0;
  for (int64_t i = 0; i < kB; ++i)
    for (int64_t t = 0; t < kL; ++t)
      if (at(in.mask, i, t) > 0.5) {
        const double c = c_ref(in, i, t, o.step_size);
        items.emplace_back(-c, i * kL + t);
        total += c;
      }
  std::sort(items.begin(), items.end());
  const double n = static_cast<double>(items.size());
  const int cap = static_cast<int>(std::floor(o.max_reject_frac * n + 1e-9));
  std::vector<std::vector<double>> keep(kB, std::vector<double>(kL, 0.0));
  for (int64_t i = 0; i < kB; ++i)
    for (int64_t t = 0; t < kL; ++t) keep[static_cast<size_t>(i)][static_cast<size_t>(t)] = at(in.mask, i, t);
  int r = 0;
  while (r < cap && total / n > o.budget) {
    const int64_t f = std::get<1>(items[static_cast<size_t>(r)]);
    total += std::get<0>(items[static_cast<size_t>(r)]);
    keep[static_cast<size_t>(f / kL)][static_cast<size_t>(f % kL)] = 0.0;
    ++r;
  }
  *rejected = r;
  return keep;
}

TEST(Capo, CurvatureMatchesFormula) {
  const SelectionInput in = random_input(21);
  for (double eta : {0.0, 0.1, 1.0}) {
    const torch::Tensor c = capo_curvature(in.advantages, in.logp, in.logp_old, in.mask, eta);
    for (int64_t i = 0; i < kB; ++i)
      for (int64_t t = 0; t < kL; ++t)
        EXPECT_NEAR(at(c, i, t), at(in.mask, i, t) > 0.5 ? c_ref(in, i, t, eta) : 0.0, 1e-6);
  }
  // Without log-probs r = 1: c = ½η²A².
  const torch::Tensor c0 = capo_curvature(in.advantages, {}, {}, in.mask, 0.5);
  EXPECT_NEAR(at(c0, 0, 0), 0.125 * at(in.advantages, 0, 0) * at(in.advantages, 0, 0), 1e-7);
  EXPECT_THROW(capo_curvature(in.advantages, in.logp, {}, in.mask, 0.1), core::UserError);
  EXPECT_THROW(capo_curvature(in.advantages.slice(0, 0, 2), {}, {}, in.mask, 0.1), core::UserError);
}

TEST(Capo, RejectionMatchesGreedyReferenceAndIgnoresMaskedValues) {
  for (uint64_t seed : {1, 2, 3, 4}) {
    const SelectionInput in = random_input(seed);
    for (double budget : {0.0, 0.05, 0.1, 0.2, 0.4, 10.0}) {
      for (double cap : {0.08, 0.3, 1.0}) {
        CapoOptions o;
        o.step_size = 0.5;
        o.budget = budget;
        o.max_reject_frac = cap;
        int rejected = 0;
        const auto ref = keep_ref(in, o, &rejected);
        const CapoResult r = capo_mask(in.advantages, in.logp, in.logp_old, in.mask, o);
        EXPECT_EQ(r.rejected, rejected) << budget << " " << cap;
        for (int64_t i = 0; i < kB; ++i)
          for (int64_t t = 0; t < kL; ++t)
            EXPECT_EQ(at(r.keep, i, t), ref[static_cast<size_t>(i)][static_cast<size_t>(t)]);
        const SelectionInput g = with_garbage(in);
        EXPECT_TRUE(torch::equal(r.keep, capo_mask(g.advantages, g.logp, g.logp_old, in.mask, o).keep));
      }
    }
  }
}

TEST(Capo, StatedProperties) {
  const SelectionInput in = random_input(9);
  const double n = in.mask.sum().item<double>();  // 15 valid tokens
  CapoOptions o;
  o.step_size = 1.0;
  o.budget = 0.0;  // everything is over budget: the cap binds
  o.max_reject_frac = 0.08;
  CapoResult r = capo_mask(in.advantages, in.logp, in.logp_old, in.mask, o);
  EXPECT_EQ(r.rejected, static_cast<int64_t>(std::floor(0.08 * n)));
  o.max_reject_frac = 0.4;
  r = capo_mask(in.advantages, in.logp, in.logp_old, in.mask, o);
  EXPECT_EQ(r.rejected, 6);
  EXPECT_LE(static_cast<double>(r.rejected), 0.4 * n);
  // Highest curvature first: every rejected c ≥ every kept c.
  const torch::Tensor c = capo_curvature(in.advantages, in.logp, in.logp_old, in.mask, o.step_size);
  double min_rej = INFINITY, max_kept = -INFINITY;
  for (int64_t i = 0; i < kB; ++i)
    for (int64_t t = 0; t < kL; ++t) {
      if (at(in.mask, i, t) < 0.5) continue;
      if (at(r.keep, i, t) > 0.5) max_kept = std::max(max_kept, at(c, i, t));
      else min_rej = std::min(min_rej, at(c, i, t));
    }
  EXPECT_GE(min_rej, max_kept);
  EXPECT_LT(r.predicted_kl_after, r.predicted_kl_before);
  // Loose budget: nothing masked.
  o.budget = 1e9;
  r = capo_mask(in.advantages, in.logp, in.logp_old, in.mask, o);
  EXPECT_EQ(r.rejected, 0);
  EXPECT_TRUE(torch::equal(r.keep, in.mask));
  // A budget that does not bind the cap is met.
  o.budget = 0.5 * r.predicted_kl_before;
  o.max_reject_frac = 1.0;
  r = capo_mask(in.advantages, in.logp, in.logp_old, in.mask, o);
  EXPECT_LE(r.predicted_kl_after, o.budget + 1e-12);
  EXPECT_GT(r.rejected, 0);
}

TEST(Capo, EmptyMaskAndSelector) {
  SelectionInput in = random_input(10);
  const SelectionOutput out = build_default(selector_registry(), "capo")->select(in);
  EXPECT_LE(out.metrics.at("capo/reject_frac").item<double>(), 0.08 + 1e-12);
  EXPECT_TRUE(out.row_keep.all().item<bool>());
  EXPECT_TRUE(out.token_mask.le(in.mask).all().item<bool>());
  in.mask = torch::zeros({kB, kL});
  const SelectionOutput e = capo_select(in, {});
  EXPECT_EQ(e.token_mask.sum().item<double>(), 0.0);
  for (const auto& [k, v] : e.metrics) EXPECT_TRUE(std::isfinite(v.item<double>())) << k;
  EXPECT_EQ(CapoOptions{}.max_reject_frac, 0.08);
}

}  // namespace
}  // namespace rlpp::algo
