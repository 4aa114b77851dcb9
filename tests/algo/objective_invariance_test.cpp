// Properties every registered policy objective must have, checked for each name in the registry
// (so a new objective is covered by registering it): masked positions change neither values nor
// gradients; any split of the rows into micro-batches, each aggregated with the global counts,
// gives the whole batch's summed gradient (to 1e-6) for every aggregation; empty masks and
// length-1 responses give finite results.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "objective_test_util.h"
#include "rlpp/algo/aggregation.h"
#include "rlpp/algo/objective.h"

namespace rlpp::algo {
namespace {

using namespace test_util;

// The random batch plus the optional inputs some objectives need: a proxy log-probability that
// is sometimes above logp and sometimes filtered (−inf), and wide-spread entropies.
PolicyLossInput full_input(uint64_t seed) {
  PolicyLossInput in = random_input(seed);
  const torch::Tensor up = in.logp.detach() + torch::rand({kB, kL}) * 0.8 - 0.2;
  in.logp_proxy = torch::where(torch::rand({kB, kL}) < 0.1, torch::full_like(up, -INFINITY), up);
  in.entropy = torch::rand({kB, kL}).pow(3) * 3 + 1e-3;
  return in;
}

// The rows [b0, b1) of `in` as a micro-batch whose logp is a slice of the global leaf.
PolicyLossInput rows_slice(const PolicyLossInput& in, int64_t b0, int64_t b1) {
  PolicyLossInput m;
  const auto cut = [&](const torch::Tensor& t) { return t.defined() ? t.slice(0, b0, b1) : t; };
  m.logp = in.logp.slice(0, b0, b1);
  m.logp_old = cut(in.logp_old);
  m.advantages = cut(in.advantages);
  m.mask = cut(in.mask);
  m.entropy = cut(in.entropy);
  m.logp_proxy = cut(in.logp_proxy);
  m.rows = torch::arange(b0, b1, torch::kLong);
  return m;
}

std::unique_ptr<PolicyObjective> make(const std::string& name) {
  return build_default(objective_registry(), name);
}

void expect_finite_metrics(const std::string& name, const ObjectiveOutput& out) {
  for (const auto& [m, v] : out.metrics) {
    EXPECT_EQ(v.dim(), 0) << name << " " << m;
    EXPECT_FALSE(v.requires_grad()) << name << " " << m;
    EXPECT_FALSE(std::isnan(v.item<double>())) << name << " " << m;
  }
}

TEST(ObjectiveInvariance, MaskedPositionsChangeNeitherResultsNorGradients) {
  for (const auto& name : objective_registry().names()) {
    const PolicyLossInput a = full_input(31);
    const PolicyLossInput b = with_garbage_at_padding(a);
    for (const auto& agg : aggregation_registry().names()) {
      const Aggregation mode = aggregation_from_name(agg);
      auto oa = make(name), ob = make(name);  // same seed: same random choices
      oa->prepare(a);
      ob->prepare(b);
      const ObjectiveOutput ra = oa->compute(a), rb = ob->compute(b);
      EXPECT_TRUE(torch::equal(ra.token_loss, rb.token_loss)) << name << " " << agg;
      for (const auto& [m, v] : ra.metrics) EXPECT_EQ(scalar(v), scalar(rb.metrics.at(m))) << name << " " << m;
      const torch::Tensor ga = grad_of(a, ra, mode), gb = grad_of(b, rb, mode);
      EXPECT_TRUE(torch::equal(ga, gb)) << name << " " << agg;
      EXPECT_TRUE(torch::isfinite(gb).all().item<bool>()) << name << " " << agg;
    }
  }
}

TEST(ObjectiveInvariance, MicroBatchSplitsGiveTheWholeBatchGradient) {
  const std::vector<std::vector<std::pair<int64_t, int64_t>>> splits = {
      {{0, 2}, {2, 3}, {3, 6}}, {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 6}}, {{0, 5}, {5, 6}}};
  for (const auto& name : objective_registry().names()) {
    const PolicyLossInput in = full_input(32);
    const AggregationCounts counts = aggregation_counts(in.mask);
    for (const auto& agg : aggregation_registry().names()) {
      const Aggregation mode = aggregation_from_name(agg);
      auto whole = make(name);
      whole->prepare(in);
      const torch::Tensor g_whole = [&] {
        in.logp.mutable_grad() = torch::Tensor();
        aggregate_loss(whole->compute(in).token_loss, in.mask, mode, counts).backward();
        return in.logp.grad().clone();
      }();
      for (const auto& split : splits) {
        auto obj = make(name);
        obj->prepare(in);  // the global batch, once per optimizer step
        in.logp.mutable_grad() = torch::Tensor();
        double total = 0;
        for (const auto& [b0, b1] : split) {
          const PolicyLossInput mb = rows_slice(in, b0, b1);
          const torch::Tensor loss = aggregate_loss(obj->compute(mb).token_loss, mb.mask, mode, counts);
          total += loss.item<double>();
          loss.backward();
        }
        const double err = (in.logp.grad() - g_whole).abs().max().item<double>();
        EXPECT_LT(err, 1e-6) << name << " " << agg << " split of " << split.size();
        const double whole_loss = aggregate_loss(whole->compute(in).token_loss, in.mask, mode, counts).item<double>();
        EXPECT_NEAR(total, whole_loss, 1e-5 * (1 + std::abs(whole_loss))) << name << " " << agg;
      }
      EXPECT_GT(g_whole.abs().sum().item<double>(), 0.0) << name << " " << agg << ": the test needs a gradient";
    }
  }
}

TEST(ObjectiveInvariance, EmptyMaskGivesZeroLossFiniteGradientAndMetrics) {
  for (const auto& name : objective_registry().names()) {
    PolicyLossInput in = full_input(33);
    in.mask = torch::zeros({kB, kL});
    auto obj = make(name);
    obj->prepare(in);
    const ObjectiveOutput out = obj->compute(in);
    EXPECT_EQ(out.token_loss.abs().sum().item<double>(), 0.0) << name;
    expect_finite_metrics(name, out);
    for (const auto& agg : aggregation_registry().names()) {
      const ObjectiveOutput again = obj->compute(in);
      EXPECT_EQ(aggregate_loss(again.token_loss, in.mask, aggregation_from_name(agg)).item<double>(), 0.0)
          << name << " " << agg;
      const torch::Tensor g = grad_of(in, again, aggregation_from_name(agg));
      EXPECT_EQ(g.abs().sum().item<double>(), 0.0) << name << " " << agg;
    }
  }
}

TEST(ObjectiveInvariance, LengthOneResponsesAreFinite) {
  for (const auto& name : objective_registry().names()) {
    PolicyLossInput in = full_input(34);
    in.mask = torch::zeros({kB, kL});
    in.mask.index_put_({torch::indexing::Slice(), 0}, 1.f);
    auto obj = make(name);
    obj->prepare(in);
    const ObjectiveOutput out = obj->compute(in);
    EXPECT_TRUE(torch::isfinite(out.token_loss).all().item<bool>()) << name;
    expect_finite_metrics(name, out);
    for (const auto& agg : aggregation_registry().names()) {
      const torch::Tensor g = grad_of(in, obj->compute(in), aggregation_from_name(agg));
      EXPECT_TRUE(torch::isfinite(g).all().item<bool>()) << name << " " << agg;
      EXPECT_EQ(g.slice(1, 1).abs().sum().item<double>(), 0.0) << name << " " << agg;
    }
  }
}

TEST(ObjectiveInvariance, EveryObjectiveHasTheFixedMetrics) {
  for (const auto& name : objective_registry().names()) {
    const PolicyLossInput in = full_input(35);
    const ObjectiveOutput out = make(name)->compute(in);
    for (const char* m : {metric::kClipFrac, metric::kClipFracLow, metric::kClipFracHigh, metric::kClipFracDual,
                          metric::kApproxKl, metric::kApproxKlK1, metric::kEntropy}) {
      EXPECT_TRUE(out.metrics.count(m)) << name << " lacks " << m;
    }
    EXPECT_EQ(out.token_loss.sizes(), in.logp.sizes()) << name;
  }
}

// On a CUDA build with a GPU: every objective gives the CPU's values and gradients (skipped here).
TEST(ObjectiveInvariance, CudaMatchesCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  for (const auto& name : objective_registry().names()) {
    const PolicyLossInput cpu = full_input(36);
    PolicyLossInput gpu = cpu;
    gpu.logp = cpu.logp.detach().cuda().requires_grad_(true);
    for (torch::Tensor* t : {&gpu.logp_old, &gpu.advantages, &gpu.mask, &gpu.entropy, &gpu.logp_proxy}) *t = t->cuda();
    auto oc = make(name), og = make(name);
    oc->prepare(cpu);
    og->prepare(gpu);
    const ObjectiveOutput rc = oc->compute(cpu), rg = og->compute(gpu);
    EXPECT_TRUE(torch::allclose(rc.token_loss, rg.token_loss.cpu(), 1e-5, 1e-6)) << name;
    const torch::Tensor gc = grad_of(cpu, rc), gg = grad_of(gpu, rg).cpu();
    EXPECT_TRUE(torch::allclose(gc, gg, 1e-5, 1e-6)) << name;
  }
}

}  // namespace
}  // namespace rlpp::algo
