// Off-policy correction: truncated IS weights and ratio masks at token and sequence level against
// loops in double, masked positions, detachment and empty rows.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "rlpp/algo/off_policy.h"
#include "rlpp/core/error.h"
#include "selection_test_util.h"

namespace rlpp::algo {
namespace {

using namespace sel_test;

// log ρ for (i, t) in double: the token's, or the row's product / geometric mean.
double log_rho_ref(const SelectionInput& in, int64_t i, int64_t t, bool sequence, const std::string& kind) {
  if (!sequence) return std::clamp(at(in.logp, i, t) - at(in.logp_old, i, t), -20.0, 20.0);
  double s = 0, n = 0;
  for (int64_t u = 0; u < kL; ++u)
    if (at(in.mask, i, u) > 0.5) s += std::clamp(at(in.logp, i, u) - at(in.logp_old, i, u), -20.0, 20.0), n += 1;
  if (kind == "geometric_mean") s /= std::max(n, 1.0);
  return std::clamp(s, -20.0, 20.0);
}

TEST(Tis, WeightsMatchReference) {
  for (uint64_t seed : {1, 2, 3}) {
    const SelectionInput in = random_input(seed);
    for (bool seq : {false, true}) {
      for (const std::string kind : {"product", "geometric_mean"}) {
        for (double cap : {0.8, 2.0, 3.0}) {
          TisOptions o;
          o.cap = cap;
          o.seq_ratio = kind;
          const torch::Tensor w = tis_weights(in.logp, in.logp_old, in.mask, seq, o);
          const SelectionInput g = with_garbage(in);
          EXPECT_TRUE(torch::equal(w, tis_weights(g.logp, g.logp_old, in.mask, seq, o)));
          for (int64_t i = 0; i < kB; ++i)
            for (int64_t t = 0; t < kL; ++t) {
              const double ref =
                  at(in.mask, i, t) > 0.5 ? std::min(std::exp(log_rho_ref(in, i, t, seq, kind)), cap) : 0.0;
              EXPECT_NEAR(at(w, i, t), ref, 1e-6 * std::max(1.0, ref)) << seq << kind << cap;
            }
        }
      }
    }
  }
  EXPECT_EQ(TisOptions{}.cap, 2.0);
}

TEST(Tis, SelectorMetricsAndDetachedWeights) {
  SelectionInput in = random_input(4);
  in.logp = in.logp.clone().requires_grad_(true);
  const SelectionOutput out = build_default(selector_registry(), "tis_token")->select(in);
  EXPECT_FALSE(out.token_weight.requires_grad());
  EXPECT_TRUE(torch::equal(out.token_mask, in.mask));
  double n = 0, capped = 0, wsum = 0;
  for (int64_t i = 0; i < kB; ++i)
    for (int64_t t = 0; t < kL; ++t) {
      if (at(in.mask, i, t) < 0.5) continue;
      const double r = std::exp(log_rho_ref(in, i, t, false, "product"));
      n += 1;
      capped += r > 2.0;
      wsum += std::min(r, 2.0);
    }
  EXPECT_NEAR(out.metrics.at("tis/capped_frac").item<double>(), capped / n, 1e-12);
  EXPECT_NEAR(out.metrics.at("tis/mean_weight").item<double>(), wsum / n, 1e-6);
  // Sequence weights are constant over a row's valid tokens.
  const SelectionOutput s = tis_sequence_select(in, {});
  for (int64_t t = 1; t < 5; ++t) EXPECT_EQ(at(s.token_weight, 0, t), at(s.token_weight, 0, 0));
}

TEST(RatioMask, TokenAndSequenceMatchReference) {
  for (uint64_t seed : {5, 6}) {
    const SelectionInput in = random_input(seed);
    for (bool seq : {false, true}) {
      RatioMaskOptions o;
      o.lo = 0.7;
      o.hi = 1.4;
      o.seq_ratio = "geometric_mean";
      const SelectionOutput out = seq ? ratio_mask_sequence_select(in, o) : ratio_mask_token_select(in, o);
      EXPECT_TRUE(torch::equal(out.token_mask, ratio_mask(with_garbage(in).logp, with_garbage(in).logp_old, in.mask, seq, o)));
      double n = 0, masked = 0;
      for (int64_t i = 0; i < kB; ++i) {
        bool row_ok = true;
        for (int64_t t = 0; t < kL; ++t) {
          const bool valid = at(in.mask, i, t) > 0.5;
          const double r = std::exp(log_rho_ref(in, i, t, seq, "geometric_mean"));
          const bool keep = valid && r >= 0.7 && r <= 1.4;
          EXPECT_EQ(at(out.token_mask, i, t), keep ? 1.0 : 0.0);
          n += valid;
          masked += valid && !keep;
          row_ok = row_ok && (!valid || keep);
        }
        if (seq) { EXPECT_EQ(out.row_keep[i].item<bool>(), row_ok); }
      }
      EXPECT_NEAR(out.metrics.at("ratio_mask/masked_frac").item<double>(), masked / n, 1e-12);
    }
  }
}

TEST(OffPolicy, EmptyRowsLengthOneAndBadInputs) {
  SelectionInput in = random_input(7);
  in.mask = torch::zeros({kB, kL});
  for (const std::string name : {"tis_token", "tis_sequence", "ratio_mask_token", "ratio_mask_sequence"}) {
    const SelectionOutput out = build_default(selector_registry(), name)->select(in);
    for (const auto& [k, v] : out.metrics) EXPECT_TRUE(std::isfinite(v.item<double>())) << name << " " << k;
    if (out.token_weight.defined()) { EXPECT_TRUE(torch::isfinite(out.token_weight).all().item<bool>()); }
  }
  // Length-1 row: the sequence ratio is the token ratio under both definitions.
  const SelectionInput one = random_input(8);
  const auto sl = [](const torch::Tensor& t) { return t.slice(0, 2, 3); };
  TisOptions prod, geo;
  geo.seq_ratio = "geometric_mean";
  prod.cap = geo.cap = 100.0;
  const torch::Tensor tok = tis_weights(sl(one.logp), sl(one.logp_old), sl(one.mask), false, prod);
  EXPECT_TRUE(torch::allclose(tok, tis_weights(sl(one.logp), sl(one.logp_old), sl(one.mask), true, prod)));
  EXPECT_TRUE(torch::allclose(tok, tis_weights(sl(one.logp), sl(one.logp_old), sl(one.mask), true, geo)));
  EXPECT_THROW(tis_weights(one.logp, one.logp_old.slice(1, 0, 2), one.mask, false, {}), core::UserError);
  SelectionInput no_old = one;
  no_old.logp_old = torch::Tensor();
  EXPECT_THROW(tis_token_select(no_old, {}), core::UserError);
  RatioMaskOptions bad;
  bad.lo = 2.0;
  bad.hi = 1.0;
  EXPECT_THROW(ratio_mask(one.logp, one.logp_old, one.mask, false, bad), core::UserError);
}

}  // namespace
}  // namespace rlpp::algo
