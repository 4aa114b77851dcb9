// dapo, cispo, sapo, gppo, gspo, dro, gmpo against their formulas written out per element in double
// precision, their gradients against the analytic ones, and the mask property for all of them.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "rlpp/algo/aggregation.h"
#include "rlpp/algo/objective.h"
#include "rlpp/core/error.h"
#include "objective_test_util.h"

namespace rlpp::algo {
namespace {

using namespace test_util;

// Rows of random_input with at least one valid token (row 3 is empty): the N_seqs of the sequence
// aggregations.
constexpr double kSeqs = 5;

// PPO clip from its definition: value and whether the token is clipped (A>0 high / A<0 low).
struct PpoRef {
  double loss;
  int side;  // 0 unclipped, -1 low, +1 high
};
PpoRef ppo_ref(double r, double a, double el, double eh) {
  const double rc = std::min(std::max(r, 1 - el), 1 + eh);
  const double unclipped = -r * a, clipped = -rc * a;
  if (clipped > unclipped) return {clipped, a > 0 ? 1 : -1};
  return {unclipped, 0};
}

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
      const PpoRef ref = ppo_ref(r, a, 0.2, 0.28);
      n_high += ref.side == 1;
      EXPECT_NEAR(val(out.token_loss, i, t), ref.loss, 1e-5);
      EXPECT_NEAR(val(grad, i, t), ref.side == 0 ? -r * a : 0.0, 1e-5);
    }
  }
  EXPECT_GT(n_high, 0);
}

TEST(Cispo, WeightIsCappedRatioAndClippedTokensKeepGradient) {
  PolicyLossInput in = random_input(12, 4.0);  // ratios up to e^2 so the cap at 5 binds... sometimes
  in.logp_old = (in.logp_old - 2.0 * (torch::rand({kB, kL}) < 0.2)).detach();
  const CispoOptions opts{/*eps_max=*/5.0, /*min_ratio=*/0.3};
  const ObjectiveOutput out = cispo_loss(in, opts);
  const torch::Tensor grad = grad_of(in, out);
  int n = 0, n_cap = 0, n_ppo_clipped = 0;
  for (int64_t i = 0; i < kB; ++i) {
    for (int64_t t = 0; t < kL; ++t) {
      if (!valid(in, i, t)) continue;
      const double lp = val(in.logp.detach(), i, t), a = val(in.advantages, i, t);
      const double r = std::exp(lp - val(in.logp_old, i, t));
      const double c = std::min(std::max(r, 0.3), 5.0);
      EXPECT_NEAR(val(out.token_loss, i, t), -c * a * lp, 1e-4 * (1 + std::abs(c * a * lp)));
      EXPECT_NEAR(val(grad, i, t), -c * a, 1e-4 * (1 + std::abs(c * a)));
      if (ppo_ref(r, a, 0.2, 0.2).side != 0) {
        ++n_ppo_clipped;
        EXPECT_NE(val(grad, i, t), 0.0) << "token PPO would clip lost its gradient";
      }
      ++n;
      n_cap += (r > 5.0 || r < 0.3);
    }
  }
  ASSERT_GT(n_ppo_clipped, 0);
  ASSERT_GT(n_cap, 0);
  EXPECT_NEAR(scalar(out.metrics.at("cispo_capfrac")), double(n_cap) / n, 1e-6);
  EXPECT_EQ(scalar(out.metrics.at("clipfrac")), 0.0);
}

TEST(Sapo, SoftGateValueAndGradientWeightOneAtRatioOne) {
  PolicyLossInput in = random_input(13);
  const SapoOptions opts{/*tau_pos=*/1.0, /*tau_neg=*/1.05};
  const ObjectiveOutput out = sapo_loss(in, opts);
  const torch::Tensor grad = grad_of(in, out);
  for (int64_t i = 0; i < kB; ++i) {
    for (int64_t t = 0; t < kL; ++t) {
      if (!valid(in, i, t)) continue;
      const double a = val(in.advantages, i, t);
      const double r = std::exp(val(in.logp.detach(), i, t) - val(in.logp_old, i, t));
      const double tau = a > 0 ? 1.0 : 1.05;
      const double sig = 1.0 / (1.0 + std::exp(-tau * (r - 1)));
      EXPECT_NEAR(val(out.token_loss, i, t), -(4 / tau) * sig * a, 1e-5);
      EXPECT_NEAR(val(grad, i, t), -4 * sig * (1 - sig) * r * a, 1e-5);
    }
  }
  // On-policy (r = 1) the gradient is exactly the policy gradient −A for either temperature.
  PolicyLossInput on = random_input(14);
  on.logp_old = on.logp.detach().clone();
  const torch::Tensor g = grad_of(on, sapo_loss(on, SapoOptions{0.5, 3.0}));
  const torch::Tensor want = torch::where(on.mask > 0.5, -on.advantages, torch::zeros_like(g));
  EXPECT_TRUE(torch::allclose(g, want, 1e-6, 1e-6));
}

TEST(Gppo, PpoValueWithScaledGradientOnClippedTokens) {
  PolicyLossInput in = random_input(15);
  const GppoOptions opts{/*eps_low=*/0.2, /*eps_high=*/0.28, /*beta1=*/0.5, /*beta2=*/0.75};
  const ObjectiveOutput out = gppo_loss(in, opts);
  const torch::Tensor grad = grad_of(in, out);
  int n = 0, n_low = 0, n_high = 0;
  for (int64_t i = 0; i < kB; ++i) {
    for (int64_t t = 0; t < kL; ++t) {
      if (!valid(in, i, t)) continue;
      const double a = val(in.advantages, i, t);
      const double r = std::exp(val(in.logp.detach(), i, t) - val(in.logp_old, i, t));
      const PpoRef ref = ppo_ref(r, a, 0.2, 0.28);
      EXPECT_NEAR(val(out.token_loss, i, t), ref.loss, 1e-5);
      const double want = ref.side == 1 ? -0.75 * 1.28 * a : ref.side == -1 ? -0.5 * 0.8 * a : -r * a;
      EXPECT_NEAR(val(grad, i, t), want, 1e-5);
      ++n;
      n_low += ref.side == -1;
      n_high += ref.side == 1;
    }
  }
  ASSERT_GT(n_low, 0);
  ASSERT_GT(n_high, 0);
  EXPECT_NEAR(scalar(out.metrics.at("clipfrac_low")), double(n_low) / n, 1e-6);
  EXPECT_NEAR(scalar(out.metrics.at("clipfrac_high")), double(n_high) / n, 1e-6);
}

// Row statistics in double over the valid tokens: mean log r, mean A, count.
struct RowRef {
  double mean_lr, mean_a;
  int n;
};
RowRef row_ref(const PolicyLossInput& in, int64_t i) {
  RowRef ref{0, 0, 0};
  for (int64_t t = 0; t < kL; ++t) {
    if (!valid(in, i, t)) continue;
    ref.mean_lr += val(in.logp.detach(), i, t) - val(in.logp_old, i, t);
    ref.mean_a += val(in.advantages, i, t);
    ++ref.n;
  }
  if (ref.n > 0) {
    ref.mean_lr /= ref.n;
    ref.mean_a /= ref.n;
  }
  return ref;
}

TEST(Gspo, SequenceRatioValuesGradientsAndTokenFormAgree) {
  // Small per-token spread so that with ε = 0.05/0.08 some rows are clipped and some not.
  PolicyLossInput in = random_input(16, 0.5);
  GspoOptions seq_opts{0.05, 0.08, false};
  GspoOptions tok_opts{0.05, 0.08, true};
  const ObjectiveOutput seq = gspo_loss(in, seq_opts);
  const torch::Tensor g_seq = grad_of(in, seq, Aggregation::kSeqMeanTokenMean);
  const ObjectiveOutput tok = gspo_loss(in, tok_opts);
  const torch::Tensor g_tok = grad_of(in, tok, Aggregation::kSeqMeanTokenMean);
  EXPECT_TRUE(torch::allclose(seq.token_loss, tok.token_loss, 1e-6, 1e-7));
  EXPECT_TRUE(torch::allclose(g_seq, g_tok, 1e-5, 1e-7));
  int clipped_rows = 0, free_rows = 0;
  double want_agg = 0;
  for (int64_t i = 0; i < kB; ++i) {
    const RowRef ref = row_ref(in, i);
    const double s = std::exp(ref.mean_lr);
    const PpoRef p = ppo_ref(s, ref.mean_a, 0.05, 0.08);
    if (ref.n > 0) (p.side != 0 ? clipped_rows : free_rows)++;
    want_agg += ref.n > 0 ? p.loss : 0.0;
    for (int64_t t = 0; t < kL; ++t) {
      if (!valid(in, i, t)) {
        EXPECT_EQ(val(seq.token_loss, i, t), 0.0);
        EXPECT_EQ(val(g_seq, i, t), 0.0);
        continue;
      }
      EXPECT_NEAR(val(seq.token_loss, i, t), p.loss, 1e-5);
      // d/dlogp_it of (1/B)·Σ_i ℓ_i with ℓ_i = −s_i·A_i and ds_i/dlogp_it = s_i/n_i.
      const double want = p.side == 0 ? -s * ref.mean_a / ref.n / kSeqs : 0.0;
      EXPECT_NEAR(val(g_seq, i, t), want, 1e-6);
    }
  }
  ASSERT_GT(clipped_rows, 0);
  ASSERT_GT(free_rows, 0);
  EXPECT_NEAR(scalar(aggregate_loss(seq.token_loss, in.mask, Aggregation::kSeqMeanTokenMean)), want_agg / kSeqs, 1e-5);
  PolicyLossInput flat = random_input(16);
  flat.logp = flat.logp.detach().flatten().requires_grad_(true);
  flat.logp_old = flat.logp_old.flatten();
  flat.advantages = flat.advantages.flatten();
  flat.mask = torch::Tensor();
  flat.entropy = torch::Tensor();
  EXPECT_THROW(gspo_loss(flat, GspoOptions{}), core::UserError);
}

TEST(Dro, QuadraticLogRatioPenalty) {
  PolicyLossInput in = random_input(17);
  const ObjectiveOutput out = dro_loss(in, DroOptions{0.3});
  const torch::Tensor grad = grad_of(in, out);
  for (int64_t i = 0; i < kB; ++i) {
    for (int64_t t = 0; t < kL; ++t) {
      if (!valid(in, i, t)) continue;
      const double lp = val(in.logp.detach(), i, t), a = val(in.advantages, i, t);
      const double lr = lp - val(in.logp_old, i, t);
      EXPECT_NEAR(val(out.token_loss, i, t), -(a * lp - 0.15 * lr * lr), 1e-5);
      EXPECT_NEAR(val(grad, i, t), -a + 0.3 * lr, 1e-5);
    }
  }
}

TEST(Gmpo, GeometricMeanOfLogClippedRatios) {
  PolicyLossInput in = random_input(18, 1.6);
  const GmpoOptions opts{0.4, 0.4};
  const ObjectiveOutput out = gmpo_loss(in, opts);
  const torch::Tensor g = grad_of(in, out, Aggregation::kSeqMeanTokenMean);
  int n_clipped = 0;
  for (int64_t i = 0; i < kB; ++i) {
    const RowRef ref = row_ref(in, i);
    double sum = 0;
    std::vector<bool> clipped(kL, false);
    for (int64_t t = 0; t < kL; ++t) {
      if (!valid(in, i, t)) continue;
      const double lr = val(in.logp.detach(), i, t) - val(in.logp_old, i, t);
      const double c = std::min(std::max(lr, -0.4), 0.4);
      // Pessimistic in the advantage's direction: the smaller of r·A and clip(r)·A.
      const double chosen = ref.mean_a >= 0 ? std::min(lr, c) : std::max(lr, c);
      clipped[t] = chosen != lr;
      n_clipped += clipped[t];
      sum += chosen;
    }
    const double rho = ref.n > 0 ? std::exp(sum / ref.n) : 1.0;
    for (int64_t t = 0; t < kL; ++t) {
      if (!valid(in, i, t)) {
        EXPECT_EQ(val(g, i, t), 0.0);
        continue;
      }
      EXPECT_NEAR(val(out.token_loss, i, t), -rho * ref.mean_a, 1e-5);
      const double want = clipped[t] ? 0.0 : -rho * ref.mean_a / ref.n / kSeqs;
      EXPECT_NEAR(val(g, i, t), want, 1e-6);
    }
  }
  ASSERT_GT(n_clipped, 0);
}

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
