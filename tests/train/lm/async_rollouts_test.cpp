// Asynchronous rollouts with bounded staleness (async_rollouts.h) and M2PO's second-moment mask
// (algo/m2po.h): the pipeline's schedule against the formula v(k) = max(0, k − s) under varying
// thread timing, the staleness metrics and the mask against hand values, and the rlvr trainer end
// to end on a tiny model: rl.max_staleness = 0 logs what the synchronous trainer logs, every
// trained token is at most s versions old, the stale ratio reaches the objective or the selectors,
// and a run split by a checkpoint equals an uninterrupted one.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "rlpp/algo/m2po.h"
#include "rlpp/core/error.h"
#include "rlpp/core/rng.h"
#include "rlpp/train/lm/async_rollouts.h"
#include "rlpp/train/metric_names.h"
#include "rlpp/train/run.h"
#include "train/lm/lm_test_util.h"

namespace rlpp::train::lm {
namespace {

// ---- M2PO's mask --------------------------------------------------------------------------------

// log r = (0.1, 0.5, −0.3, 0): (log r)² = (0.01, 0.25, 0.09, 0), M2 = 0.35 / 4 = 0.0875.
TEST(AsyncM2po, MasksTheLargestSquaresUntilTheMeanIsBelowTau) {
  const torch::Tensor logp_old = torch::tensor({{-1.0, -2.0, -0.5, -3.0}}, torch::kFloat32);
  const torch::Tensor logp = logp_old + torch::tensor({{0.1, 0.5, -0.3, 0.0}}, torch::kFloat32);
  const torch::Tensor mask = torch::ones({1, 4}, torch::kFloat32);
  algo::M2poOptions o;  // τ = 0.04: without 0.25 the mean is 0.10 / 3 = 0.033 ≤ 0.04
  EXPECT_TRUE(torch::equal(algo::m2po_mask(logp, logp_old, mask, o), torch::tensor({{1.0F, 0.0F, 1.0F, 1.0F}})));
  o.tau = 0.02;  // 0.033 > 0.02; without 0.09 too: 0.01 / 2 = 0.005
  EXPECT_TRUE(torch::equal(algo::m2po_mask(logp, logp_old, mask, o), torch::tensor({{1.0F, 0.0F, 0.0F, 1.0F}})));
  o.tau = 0.1;  // 0.0875 ≤ 0.1: nothing masked
  EXPECT_TRUE(torch::equal(algo::m2po_mask(logp, logp_old, mask, o), mask));
  // A token outside the mask counts for nothing: (0.01, 0.09, 0) / 3 = 0.033 ≤ 0.04.
  const torch::Tensor partial = torch::tensor({{1.0F, 0.0F, 1.0F, 1.0F}});
  EXPECT_TRUE(torch::equal(algo::m2po_mask(logp, logp_old, partial, algo::M2poOptions{}), partial));
}

TEST(AsyncM2po, SelectorReportsTheSecondMomentBeforeAndAfter) {
  algo::SelectionInput in;
  in.logp_old = torch::tensor({{-1.0, -2.0}, {-0.5, -3.0}}, torch::kFloat32);
  in.logp = in.logp_old + torch::tensor({{0.1, 0.5}, {-0.3, 0.0}}, torch::kFloat32);
  in.mask = torch::ones({2, 2}, torch::kFloat32);
  const algo::SelectionOutput out = algo::m2po_select(in, algo::M2poOptions{});
  EXPECT_NEAR(out.metrics.at("m2po/m2").item<double>(), 0.35 / 4, 1e-6);
  EXPECT_NEAR(out.metrics.at("m2po/m2_kept").item<double>(), 0.10 / 3, 1e-6);
  EXPECT_NEAR(out.metrics.at("m2po/masked_frac").item<double>(), 0.25, 1e-12);
}

// ---- the pipeline -------------------------------------------------------------------------------

TEST(AsyncPipeline, BatchKIsSampledFromVersionKMinusSWhateverTheTiming) {
  torch::nn::Linear module(2, 1);
  for (int64_t s : {1, 2, 3}) {
    SCOPED_TRACE(s);
    core::Rng rng(static_cast<uint64_t>(s));
    const int64_t limit = 12;
    // The worker returns the version it was handed, after a random delay.
    RolloutPipeline<int64_t> p(s, limit, [&](int64_t index, const WeightSnapshot& w) {
      std::this_thread::sleep_for(std::chrono::microseconds((index * 7919 + s * 31) % 3000));
      return w.version;
    });
    p.start(0, {}, take_snapshot(*module, 0));
    for (int64_t t = 0; t < limit; ++t) {
      double waited = 0;
      const int64_t v = p.take(t, &waited);
      EXPECT_EQ(v, std::max<int64_t>(0, t - s)) << "batch " << t;
      EXPECT_LE(t - v, s);
      std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(rng.below(3000))));
      if (t == 4) {  // a checkpoint after step 5: batches 5 .. 5 + s − 1 queued, the worker at a boundary
        p.publish(take_snapshot(*module, t + 1));
        p.paused(t + 1 + s, [&](const std::deque<std::pair<int64_t, int64_t>>& q, int64_t next) {
          EXPECT_GE(next, t + 1 + s);
          EXPECT_LE(next, t + 2 + s);
          ASSERT_EQ(static_cast<int64_t>(q.size()), next - (t + 1));
          for (size_t i = 0; i < q.size(); ++i) EXPECT_EQ(q[i].first, t + 1 + static_cast<int64_t>(i));
        });
        continue;
      }
      p.publish(take_snapshot(*module, t + 1));
    }
    // Each wait at the gate ends with a publication: at most one per step.
    EXPECT_LE(p.gate_waits(), limit);
  }
}

// A worker faster than the learner is held at the bound: batch k + s waits for version k.
TEST(AsyncPipeline, AFastWorkerWaitsAtTheStalenessBound) {
  torch::nn::Linear module(2, 1);
  RolloutPipeline<int64_t> p(1, 6, [](int64_t, const WeightSnapshot& w) { return w.version; });
  p.start(0, {}, take_snapshot(*module, 0));
  for (int64_t t = 0; t < 6; ++t) {
    double waited = 0;
    EXPECT_EQ(p.take(t, &waited), std::max<int64_t>(0, t - 1));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the learner's update
    p.publish(take_snapshot(*module, t + 1));
  }
  EXPECT_GE(p.gate_waits(), 1);
  EXPECT_LE(p.gate_waits(), 6);
  EXPECT_GT(p.gate_wait_seconds(), 0.0);
}

TEST(AsyncPipeline, AWorkerErrorReachesTheLearner) {
  torch::nn::Linear module(2, 1);
  RolloutPipeline<int64_t> p(1, 4, [](int64_t index, const WeightSnapshot&) -> int64_t {
    if (index == 1) throw core::UserError("bad batch");
    return 0;
  });
  p.start(0, {}, take_snapshot(*module, 0));
  double waited = 0;
  EXPECT_EQ(p.take(0, &waited), 0);
  EXPECT_THROW(p.take(1, &waited), core::UserError);
}

TEST(AsyncPipeline, SnapshotsCopyTheWeightsNotShareThem) {
  torch::nn::Linear a(3, 2), b(3, 2);
  const torch::Tensor before = a->weight.detach().clone();
  const WeightSnapshot s = take_snapshot(*a, 7);
  {
    torch::NoGradGuard no_grad;
    a->weight.add_(1.0);  // written after the snapshot: the snapshot keeps the old values
  }
  load_snapshot(s, b.ptr().get());
  EXPECT_EQ(s.version, 7);
  EXPECT_TRUE(torch::equal(b->weight, before));
  EXPECT_FALSE(torch::equal(b->weight, a->weight));
  EXPECT_TRUE(torch::equal(b->bias, a->bias));
}

// Version (1, 3) = (0, 1, 2) with the last token untrained, learner at version 2: staleness (2, 1).
TEST(AsyncPipeline, StalenessMetricsOfTrainedTokens) {
  const auto row = staleness_metrics(torch::tensor({{0, 1, 2}}, torch::kInt64), torch::tensor({{1.0F, 1.0F, 0.0F}}),
                                     /*learner_version=*/2, /*max_staleness=*/2);
  std::map<std::string, double> m(row.begin(), row.end());
  EXPECT_EQ(m.at("async/staleness_frac_0"), 0.0);
  EXPECT_EQ(m.at("async/staleness_frac_1"), 0.5);
  EXPECT_EQ(m.at("async/staleness_frac_2"), 0.5);
  EXPECT_EQ(m.at("async/staleness_mean"), 1.5);
  EXPECT_EQ(m.at("async/staleness_max"), 2.0);
}

// ---- the rlvr trainer ---------------------------------------------------------------------------

std::string async_recipe(int64_t steps, const std::string& objective, const std::string& extra_rl,
                         const std::string& extra_sections = "") {
  return "[run]\nalgorithm = \"rlvr\"\nseed = 3\ntorch_threads = 1\ntotal_steps = " + std::to_string(steps) +
         "\n[data]\nsource = \"task\"\neval_examples = 8\n"
         "[task]\nname = \"arithmetic\"\nmax_digits = 1\n"
         "[model]\nhidden_size = 32\nnum_hidden_layers = 1\nnum_attention_heads = 2\nnum_key_value_heads = 1\n"
         "intermediate_size = 64\nmax_position_embeddings = 64\n"
         "[[samplers]]\nname = \"temperature\"\n[sample]\nmax_new_tokens = 6\nnum_return_sequences = 4\n"
         "[advantage]\nname = \"grpo\"\n[objective]\nname = \"" + objective + "\"\n"
         "[reward]\ncorrect_weight = 0\nformat_weight = 1\n"
         "[rl]\nprompts_per_step = 4\nmini_batches = 1\nlearning_rate = 3e-3\n"
         "eval_every = 0\naccuracy_examples = 4\n" + extra_rl + extra_sections;
}

using test_util::read_metrics;
using test_util::run_recipe;

TEST(AsyncRlvr, MaxStalenessZeroIsTheSynchronousTrainer) {
  testing::TempDir tmp("async_rlvr");
  const auto sync = read_metrics(run_recipe(async_recipe(3, "ppo_clip", ""), tmp, "sync"));
  const auto zero = read_metrics(run_recipe(async_recipe(3, "ppo_clip", "max_staleness = 0\n"), tmp, "zero"));
  test_util::expect_same_metrics(sync, zero);
  for (const auto& r : zero) EXPECT_FALSE(r.count("async/staleness_mean"));
}

// Batch k is sampled from version max(0, k − s): steps 1, 2, 3, … (rows 1, 2, 3, …; row 0 is the
// evaluation before training) train tokens 0, 1, …, s, s, … versions old.
TEST(AsyncRlvr, EveryTrainedTokenIsAtMostSVersionsOld) {
  testing::TempDir tmp("async_rlvr");
  const int64_t s = 2, steps = 5;
  const auto rows =
      read_metrics(run_recipe(async_recipe(steps, "ppo_clip", "max_staleness = 2\n"), tmp, "s2"));
  ASSERT_EQ(rows.size(), static_cast<size_t>(steps + 1));
  for (int64_t t = 0; t < steps; ++t) {
    const auto& r = rows[static_cast<size_t>(t + 1)];
    const double expected = static_cast<double>(std::min(t, s));
    EXPECT_EQ(r.at("async/sampled_version"), static_cast<double>(std::max<int64_t>(0, t - s))) << "step " << t + 1;
    EXPECT_EQ(r.at("rl/staleness"), expected) << "step " << t + 1;
    EXPECT_EQ(r.at("async/staleness_max"), expected) << "step " << t + 1;
    EXPECT_EQ(r.at("async/staleness_mean"), expected) << "step " << t + 1;
    EXPECT_EQ(r.at("async/staleness_frac_" + std::to_string(std::min(t, s))), 1.0) << "step " << t + 1;
    EXPECT_TRUE(std::isfinite(r.at(metric::kPolicyLoss)));
  }
}

// One mini-batch, one epoch: the objective's ratio at its only forward is current / proximal. With
// the proximal log-probs recomputed it is 1 up to the train-inference mismatch (approx_kl, the mean
// of (r − 1) − log r, ≈ 0), and the stale ratio goes to the importance-weight selector
// (tis/mean_ratio ≠ 1 once stale); with rl.proximal = "behaviour" the objective itself (BAPO) sees
// it (approx_kl > 0 once stale).
TEST(AsyncRlvr, TheStaleRatioReachesTheSelectorOrTheObjective) {
  testing::TempDir tmp("async_rlvr");
  const auto rec = read_metrics(run_recipe(
      async_recipe(4, "ppo_clip", "max_staleness = 2\n", "[[selectors]]\nname = \"tis_token\"\ncap = 100.0\n"), tmp,
      "recomputed"));
  const auto beh = read_metrics(
      run_recipe(async_recipe(4, "bapo", "max_staleness = 2\nproximal = \"behaviour\"\n"), tmp, "behaviour"));
  ASSERT_EQ(rec.size(), 5u);
  ASSERT_EQ(beh.size(), 5u);
  // Step 1 is fresh (staleness 0): both ratios are 1 up to the mismatch.
  EXPECT_NEAR(rec[1].at("select/tis/mean_ratio"), 1.0, 1e-4);
  EXPECT_NEAR(beh[1].at(metric::kApproxKl), 0.0, 1e-7);
  for (size_t i = 3; i < 5; ++i) {  // staleness 2
    SCOPED_TRACE(i);
    EXPECT_NEAR(rec[i].at(metric::kApproxKl), 0.0, 1e-7);
    EXPECT_GT(std::abs(rec[i].at("select/tis/mean_ratio") - 1.0), 1e-4);
    EXPECT_GT(beh[i].at(metric::kApproxKl), 1e-6);
  }
}

TEST(AsyncRlvr, ResumeContinuesExactly) {
  testing::TempDir tmp("async_rlvr");
  const std::string recipe =
      async_recipe(6, "ppo_clip", "max_staleness = 2\nmismatch_every = 2\n", "[[selectors]]\nname = \"m2po\"\n");
  const std::string whole = run_recipe(recipe, tmp, "whole");
  const std::string split = run_recipe(recipe, tmp, "split", /*stop_after=*/3);
  std::atomic<bool> stop{false};
  resume_run(split, {}, 0, /*quiet=*/true, stop);
  test_util::expect_same_metrics(read_metrics(whole), read_metrics(split));
}

TEST(AsyncRlvr, RefusesWhatItDoesNotSupport) {
  testing::TempDir tmp("async_rlvr");
  EXPECT_THROW(run_recipe(async_recipe(1, "ppo_clip", "max_staleness = 1\nreuse_steps = 2\n"), tmp, "reuse"),
               core::UserError);
  EXPECT_THROW(run_recipe(async_recipe(1, "ppo_clip", "max_staleness = 65\n"), tmp, "bound"), core::UserError);
  EXPECT_THROW(run_recipe(async_recipe(1, "ppo_clip", "proximal = \"current\"\n"), tmp, "proximal"), core::UserError);
}

}  // namespace
}  // namespace rlpp::train::lm
