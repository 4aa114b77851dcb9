// ppo_clip against its formula per element in double precision, the analytic gradient, and the mask, dual-clip and control-minibatch properties.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "algo/objective_test_util.h"
#include "rlpp/algo/aggregation.h"
#include "rlpp/algo/objectives/ppo_clip.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

using namespace test_util;

struct PpoRef {
  double loss, grad;
  bool low, high, dual;
};

// PPO clip written from its definition: max(−rA, −clip(r)A), dual: min(·, −cA) for A < 0; the
// gradient of the chosen branch w.r.t. log π (r' = r on the unclipped branch, 0 on a constant).
PpoRef ppo_ref(double lp, double lpo, double a, double el, double eh, double c, bool dual) {
  const double r = std::exp(std::min(20.0, std::max(-20.0, lp - lpo)));
  const double rc = std::min(std::max(r, 1 - el), 1 + eh);
  const double unclipped = -r * a, clipped = -rc * a;
  PpoRef ref{std::max(unclipped, clipped), -a * r, false, false, false};
  if (clipped > unclipped) {
    ref.grad = 0;
    (a > 0 ? ref.high : ref.low) = true;
  }
  if (dual && a < 0 && ref.loss > -c * a) {
    ref.loss = -c * a;
    ref.grad = 0;
    ref.dual = true;
  }
  return ref;
}

TEST(PpoClip, ValuesGradientsAndMetricsMatchFormula) {
  for (bool dual : {false, true}) {
    PolicyLossInput in = random_input(dual ? 1 : 2);
    if (dual) {  // push some ratios above c
      in.logp_old = (in.logp_old - torch::rand({kB, kL}) * 2 * (torch::rand({kB, kL}) < 0.3)).detach();
    }
    const PpoClipOptions opts{/*eps_low=*/0.2, /*eps_high=*/0.28, dual, /*clip_c=*/2.0};
    const ObjectiveOutput out = ppo_clip_loss(in, opts);
    const torch::Tensor grad = grad_of(in, out);
    double n = 0, n_low = 0, n_high = 0, n_dual = 0, k3 = 0, k1 = 0, ent = 0, max_err = 0, max_gerr = 0;
    for (int64_t i = 0; i < kB; ++i) {
      for (int64_t t = 0; t < kL; ++t) {
        const double lp = val(in.logp.detach(), i, t), lpo = val(in.logp_old, i, t),
                     a = val(in.advantages, i, t);
        if (val(in.mask, i, t) < 0.5) {
          EXPECT_EQ(val(out.token_loss, i, t), 0.0);
          EXPECT_EQ(val(grad, i, t), 0.0);
          continue;
        }
        const PpoRef ref = ppo_ref(lp, lpo, a, 0.2, 0.28, 2.0, dual);
        max_err = std::max(max_err, std::abs(val(out.token_loss, i, t) - ref.loss));
        if (ref.grad == 0) {
          EXPECT_EQ(val(grad, i, t), 0.0) << "clipped token (" << i << ", " << t << ") has a gradient";
        } else {
          max_gerr = std::max(max_gerr, std::abs(val(grad, i, t) - ref.grad));
        }
        n += 1;
        n_low += ref.low;
        n_high += ref.high;
        n_dual += ref.dual;
        const double r = std::exp(lp - lpo);
        k3 += (r - 1) - std::log(r);
        k1 += -std::log(r);
        ent += val(in.entropy, i, t);
      }
    }
    EXPECT_LT(max_err, 1e-5);
    EXPECT_LT(max_gerr, 1e-5);
    ASSERT_GT(n_low, 0);
    ASSERT_GT(n_high, 0);
    if (dual) {
      ASSERT_GT(n_dual, 0);
    }
    const auto& m = out.metrics;
    EXPECT_NEAR(scalar(m.at("clipfrac_low")), n_low / n, 1e-6);
    EXPECT_NEAR(scalar(m.at("clipfrac_high")), n_high / n, 1e-6);
    EXPECT_NEAR(scalar(m.at("clipfrac_dual")), n_dual / n, 1e-6);
    EXPECT_NEAR(scalar(m.at("clipfrac")), (n_low + n_high + n_dual) / n, 1e-6);
    EXPECT_NEAR(scalar(m.at("approx_kl")), k3 / n, 1e-5);
    EXPECT_NEAR(scalar(m.at("approx_kl_k1")), k1 / n, 1e-5);
    EXPECT_NEAR(scalar(m.at("entropy")), ent / n, 1e-5);
    for (const auto& [name, v] : m) {
      EXPECT_EQ(v.dim(), 0) << name;
      EXPECT_FALSE(v.requires_grad()) << name;
    }
  }
}

TEST(PpoClip, DualClipBoundsNegativeAdvantageLossAtCTimesAbsA) {
  // A < 0 with ratios up to e^3: without the dual clip the loss grows like r·|A|.
  torch::manual_seed(3);
  PolicyLossInput in;
  in.logp_old = torch::zeros({4, 64});
  in.logp = (torch::rand({4, 64}) * 3).requires_grad_(true);
  in.advantages = -torch::rand({4, 64}) - 0.1;
  const ObjectiveOutput plain = ppo_clip_loss(in, PpoClipOptions{0.2, 0.2, false, 3.0});
  const ObjectiveOutput dual = ppo_clip_loss(in, PpoClipOptions{0.2, 0.2, true, 3.0});
  const torch::Tensor bound = 3.0 * in.advantages.abs();
  EXPECT_TRUE((dual.token_loss <= bound + 1e-6).all().item<bool>());
  const torch::Tensor over = plain.token_loss > bound;
  ASSERT_GT(over.sum().item<int64_t>(), 0);
  EXPECT_TRUE(torch::allclose(dual.token_loss.masked_select(over), bound.masked_select(over)));
  EXPECT_TRUE(torch::equal(dual.token_loss.masked_select(~over), plain.token_loss.masked_select(~over)));
  EXPECT_NEAR(scalar(dual.metrics.at("clipfrac_dual")), over.to(torch::kDouble).mean().item<double>(), 1e-6);
}

TEST(PpoClip, MaskedPositionsChangeNeitherResultsNorGradients) {
  PolicyLossInput a = random_input(4);
  PolicyLossInput b = with_garbage_at_padding(a);  // large but finite garbage at padding
  for (bool dual : {false, true}) {
    const PpoClipOptions opts{0.2, 0.28, dual, 3.0};
    const ObjectiveOutput oa = ppo_clip_loss(a, opts), ob = ppo_clip_loss(b, opts);
    EXPECT_TRUE(torch::equal(oa.token_loss, ob.token_loss));
    for (const auto& [name, v] : oa.metrics) EXPECT_EQ(scalar(v), scalar(ob.metrics.at(name))) << name;
    for (const auto& name : aggregation_registry().names()) {
      const Aggregation mode = aggregation_from_name(name);
      for (PolicyLossInput* in : {&a, &b}) {
        if (in->logp.grad().defined()) in->logp.grad().zero_();
      }
      const torch::Tensor la = aggregate_loss(ppo_clip_loss(a, opts).token_loss, a.mask, mode);
      const torch::Tensor lb = aggregate_loss(ppo_clip_loss(b, opts).token_loss, b.mask, mode);
      la.backward();
      lb.backward();
      EXPECT_EQ(scalar(la), scalar(lb)) << name;
      EXPECT_TRUE(torch::equal(a.logp.grad(), b.logp.grad())) << name;
      EXPECT_TRUE(torch::isfinite(b.logp.grad()).all().item<bool>()) << name;
    }
  }
}

TEST(PpoClip, EmptyMaskGivesZeroLossAndFiniteMetrics) {
  PolicyLossInput in = random_input(5);
  in.mask = torch::zeros({kB, kL});
  const ObjectiveOutput out = ppo_clip_loss(in, PpoClipOptions{});
  EXPECT_EQ(out.token_loss.abs().sum().item<double>(), 0.0);
  for (const auto& [name, v] : out.metrics) EXPECT_EQ(scalar(v), 0.0) << name;
  for (const auto& name : aggregation_registry().names()) {
    const torch::Tensor loss = aggregate_loss(out.token_loss, in.mask, aggregation_from_name(name));
    EXPECT_EQ(scalar(loss), 0.0) << name;
  }
}

TEST(PpoClip, ControlMinibatchWithoutMask) {
  // (M) tensors, mask {} = all valid: the CleanRL form mean(max(−rA, −clip(r)A)).
  PolicyLossInput in;
  in.logp_old = torch::tensor({-1.0f, -1.0f, -1.0f, -1.0f});
  in.logp = torch::tensor({-1.0f, -0.5f, -1.5f, -0.9f}).requires_grad_(true);
  in.advantages = torch::tensor({1.0f, 2.0f, -1.0f, -3.0f});
  const ObjectiveOutput out = ppo_clip_loss(in, PpoClipOptions{});
  const double r1 = std::exp(0.5), r2 = std::exp(-0.5), r3 = std::exp(0.1);
  const double want[] = {-1.0, -2.0 * std::min(r1, 1.2), std::max(r2, 0.8), 3.0 * r3};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(out.token_loss[i].item<double>(), want[i], 1e-6);
  EXPECT_NEAR(scalar(out.metrics.at("clipfrac")), 0.5, 1e-7);  // tokens 1 (high) and 2 (low)
  EXPECT_NEAR(scalar(aggregate_loss(out.token_loss, {}, Aggregation::kTokenMean)),
              (want[0] + want[1] + want[2] + want[3]) / 4, 1e-6);
}

TEST(ObjectiveRegistry, BuildsEachObjectiveFromRecipe) {
  auto& reg = objective_registry();
  for (const char* name : {"pg", "pg_is", "ppo_clip"}) EXPECT_TRUE(reg.contains(name)) << name;
  const core::Recipe recipe = core::Recipe::parse(
      "[objective]\nid = \"ppo_clip\"\neps_high = 0.28\ndual_clip = true\nclip_c = 2.0\n", "r.toml");
  auto obj = build_component(reg, "ppo_clip", recipe, "objective");
  PolicyLossInput in = random_input(8);
  in.logp_old = (in.logp_old - 2.5 * (torch::rand({kB, kL}) < 0.2)).detach();
  const ObjectiveOutput out = obj->compute(in);
  for (int64_t i = 0; i < kB; ++i) {
    for (int64_t t = 0; t < kL; ++t) {
      if (val(in.mask, i, t) < 0.5) continue;
      const PpoRef ref = ppo_ref(val(in.logp.detach(), i, t), val(in.logp_old, i, t),
                                 val(in.advantages, i, t), 0.2, 0.28, 2.0, true);
      EXPECT_NEAR(val(out.token_loss, i, t), ref.loss, 1e-5);
    }
  }
  EXPECT_THROW(build_component(reg, "ppo_clip", core::Recipe::parse("[o]\nclip_c = 1.0\n", "r.toml"), "o"),
               core::UserError);
  EXPECT_THROW(build_component(reg, "ppo_clip", core::Recipe::parse("[o]\neps = 0.1\n", "r.toml"), "o"),
               core::UserError);
  EXPECT_THROW(reg.get("ppo"), core::UserError);
  EXPECT_EQ(describe_component(reg, "ppo_clip").size(), 4u);
  EXPECT_EQ(list_objectives().size(), reg.names().size());
}

TEST(ObjectiveInput, ShapeMismatchIsAUserError) {
  PolicyLossInput in = random_input(9);
  in.advantages = torch::zeros({kB, kL - 1});
  EXPECT_THROW(ppo_clip_loss(in, PpoClipOptions{}), core::UserError);
}

}  // namespace
}  // namespace rlpp::algo
