// Partial rollouts (rl.partial_rollouts, async_rollouts.h): the chunk schedule against hand values,
// the generator's switch against an independent plain forward of each token's own weights, the
// pipeline's schedule and its pause (a batch waiting for an unpublished version is abandoned, not
// deadlocked) under varying thread timing, and the rlvr trainer end to end on a tiny model: the
// per-token staleness mixture, a run split by a checkpoint equals an uninterrupted one, and the
// combinations it refuses.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <set>
#include <thread>

#include "rlpp/core/error.h"
#include "rlpp/core/rng.h"
#include "rlpp/nn/lm/transformer.h"
#include "rlpp/sample/generator.h"
#include "rlpp/sample/sampler_chain.h"
#include "rlpp/train/lm/async_rollouts.h"
#include "rlpp/train/metric_names.h"
#include "rlpp/train/run.h"
#include "train/lm/lm_test_util.h"

namespace rlpp::train::lm {
namespace {

// ---- the schedule -------------------------------------------------------------------------------

TEST(PartialRollouts, ChunkVersionsByHand) {
  // s = 3: batch 5 starts at version 2, capped at 4; batch 2 starts at 0, capped at 1; batch 0 stays at 0.
  const std::vector<int64_t> b5{2, 3, 4, 4, 4}, b2{0, 1, 1, 1}, b1{0, 0, 0}, b0{0, 0, 0};
  for (int64_t j = 0; j < 5; ++j) EXPECT_EQ(chunk_version(5, j, 3), b5[static_cast<size_t>(j)]) << j;
  for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(chunk_version(2, j, 3), b2[static_cast<size_t>(j)]) << j;
  for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(chunk_version(1, j, 3), b1[static_cast<size_t>(j)]) << j;
  for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(chunk_version(0, j, 3), b0[static_cast<size_t>(j)]) << j;
  // s = 2: one switch at most, from k − 2 to k − 1.
  EXPECT_EQ(chunk_version(7, 0, 2), 5);
  EXPECT_EQ(chunk_version(7, 1, 2), 6);
  EXPECT_EQ(chunk_version(7, 9, 2), 6);
  // Every token of batch k ≥ 1 is 1 … s versions old, non-decreasing along a response.
  for (int64_t s = 2; s <= 5; ++s) {
    for (int64_t k = 1; k < 20; ++k) {
      for (int64_t j = 0; j < 10; ++j) {
        const int64_t v = chunk_version(k, j, s);
        EXPECT_GE(k - v, 1);
        EXPECT_LE(k - v, s);
        if (j > 0) EXPECT_GE(v, chunk_version(k, j - 1, s));
      }
    }
  }
}

// ---- the generator's switch ---------------------------------------------------------------------

nn::lm::LmConfig partial_tiny_config() {
  nn::lm::LmConfig c;
  c.vocab_size = 29;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.max_position_embeddings = 64;
  return c;
}

nn::lm::TransformerLm partial_random_model(uint64_t seed) {
  torch::manual_seed(seed);
  nn::lm::TransformerLm m(partial_tiny_config());
  torch::NoGradGuard g;
  for (auto& p : m->named_parameters()) {
    if (p.key().find("norm") != std::string::npos) {
      p.value().uniform_(0.5, 1.5);
    } else {
      p.value().normal_(0.0, 0.3);
    }
  }
  return m;
}

// log q(token) at temperature T of the model's plain forward (no cache) on prompt + prefix, in double.
double plain_logq(nn::lm::TransformerLm& m, std::vector<int64_t> seq, int64_t token, double T) {
  torch::NoGradGuard g;
  const torch::Tensor logits = m->forward(torch::tensor(seq, torch::kLong).unsqueeze(0))[0][-1].to(torch::kFloat64);
  return torch::log_softmax(logits / T, 0)[token].item<double>();
}

// Chunks of 2 tokens; at chunk 1 the hook loads weights B into the model generating with A. Tokens
// 0, 1 carry A's log-probs, tokens 2 … 5 B's (each checked against a plain forward of that token's
// own weights on its prefix), and the tokens before the switch are those of a run without the hook.
TEST(PartialRollouts, GeneratorSwitchReencodesUnderTheNewWeights) {
  nn::lm::TransformerLm a = partial_random_model(1), b = partial_random_model(2);
  nn::lm::TransformerLm gen_model = partial_random_model(1);
  const WeightSnapshot wb = take_snapshot(*b, 1);
  const double T = 0.7;
  sample::GenerationOptions o;
  o.max_new_tokens = 6;
  o.num_return_sequences = 2;
  const std::vector<std::vector<int64_t>> prompts{{3, 17, 5}, {11}, {4, 8, 15, 16, 23}};

  sample::Generator plain(sample::temperature_chain(T), o);
  plain.reseed(42);
  const sample::Generation ref = plain.generate(*a, prompts);

  sample::Generator gen(sample::temperature_chain(T), o);
  gen.reseed(42);
  std::vector<int64_t> asked;
  gen.set_chunk_hook({2, [&](int64_t chunk) {
                        asked.push_back(chunk);
                        if (chunk != 1) return false;
                        load_snapshot(wb, gen_model.ptr().get());
                        return true;
                      }});
  const sample::Generation out = gen.generate(*gen_model, prompts);
  EXPECT_EQ(asked, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(out.reencodes, 1);
  ASSERT_EQ(out.tokens.size(1), 6);
  EXPECT_TRUE(torch::equal(out.tokens.slice(1, 0, 2), ref.tokens.slice(1, 0, 2)));
  int64_t differ = 0, after = 0;
  for (int64_t r = 0; r < out.tokens.size(0); ++r) {
    std::vector<int64_t> seq = prompts[static_cast<size_t>(r / 2)];
    for (int64_t t = 0; t < 6; ++t) {
      ASSERT_TRUE(out.mask[r][t].item<bool>());
      const int64_t tok = out.tokens[r][t].item<int64_t>();
      const double own = plain_logq(t < 2 ? a : b, seq, tok, T);
      EXPECT_NEAR(out.logp_sample[r][t].item<double>(), own, 1e-4) << "row " << r << " token " << t;
      EXPECT_NEAR(out.logp[r][t].item<double>(), plain_logq(t < 2 ? a : b, seq, tok, 1.0), 1e-4);
      if (t >= 2) {
        ++after;
        if (std::abs(plain_logq(a, seq, tok, T) - own) > 1e-3) ++differ;
      }
      seq.push_back(tok);
    }
  }
  EXPECT_EQ(differ, after);  // the old weights would have recorded other log-probs
}

// ---- the pipeline -------------------------------------------------------------------------------

// The worker asks for chunks 0 … 3 of every batch and returns the versions it got; the learner
// checks them against chunk_version, and pauses twice (a checkpoint) while the worker may be waiting
// at a chunk boundary for a version the learner has not published: the worker abandons that batch
// and makes it again after the pause, so the schedule is unchanged.
TEST(PartialRollouts, PipelineFollowsTheScheduleAndAbandonsAtAPause) {
  torch::nn::Linear module(2, 1);
  for (int64_t s : {2, 3, 4}) {
    SCOPED_TRACE(s);
    core::Rng rng(static_cast<uint64_t>(s) + 10);
    const int64_t limit = 14;
    RolloutPipeline<std::vector<int64_t>>* pp = nullptr;
    RolloutPipeline<std::vector<int64_t>> p(s, limit, [&](int64_t index, const WeightSnapshot& w) {
      std::vector<int64_t> got{w.version};
      for (int64_t j = 1; j < 4; ++j) {
        std::this_thread::sleep_for(std::chrono::microseconds((index * 7919 + j * 131) % 700));
        got.push_back(pp->acquire(index, j)->version);
      }
      return got;
    });
    pp = &p;
    p.start(0, {}, take_snapshot(*module, 0));
    for (int64_t t = 0; t < limit; ++t) {
      double waited = 0;
      const std::vector<int64_t> v = p.take(t, &waited);
      ASSERT_EQ(v.size(), 4u);
      for (int64_t j = 0; j < 4; ++j) {
        EXPECT_EQ(v[static_cast<size_t>(j)], chunk_version(t, j, s)) << "batch " << t << " chunk " << j;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(rng.below(1500))));
      p.publish(take_snapshot(*module, t + 1));
      if (t == 4 || t == 8) {  // a checkpoint at version t + 1
        std::this_thread::sleep_for(std::chrono::milliseconds(3));  // let the worker run ahead
        p.paused(t + 1 + s, [&](const std::deque<std::pair<int64_t, std::vector<int64_t>>>& q, int64_t next) {
          EXPECT_GE(next, t + 1);
          EXPECT_LE(next, t + 2 + s);
          ASSERT_EQ(static_cast<int64_t>(q.size()), next - (t + 1));
          // The older versions the unfinished batches start from: max(0, next − s) … t.
          std::set<int64_t> kept;
          for (const auto& o : p.kept_below_locked(t + 1)) kept.insert(o->version);
          std::set<int64_t> want;
          for (int64_t u = sampling_version(next, s); u < t + 1; ++u) want.insert(u);
          EXPECT_EQ(kept, want);
        });
      }
    }
  }
}

// A batch waiting at a chunk boundary when the learner pauses is abandoned at once (forced here: the
// worker reaches batch 3 chunk 1, version 2, before the learner publishes it).
TEST(PartialRollouts, APauseAbandonsAWaitingBatchAndItIsMadeAgain) {
  torch::nn::Linear module(2, 1);
  const int64_t s = 2;
  std::atomic<int64_t> started3{0};
  RolloutPipeline<int64_t>* pp = nullptr;
  RolloutPipeline<int64_t> p(s, 6, [&](int64_t index, const WeightSnapshot&) {
    if (index == 3) ++started3;
    return pp->acquire(index, 1)->version;
  });
  pp = &p;
  p.start(0, {}, take_snapshot(*module, 0));
  double waited = 0;
  EXPECT_EQ(p.take(0, &waited), 0);
  p.publish(take_snapshot(*module, 1));
  // Batches 1, 2 need versions 0, 1; batch 3 starts at 1 and waits for 2 at chunk 1.
  while (started3.load() == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  p.paused(1 + s, [&](const std::deque<std::pair<int64_t, int64_t>>& q, int64_t next) {
    EXPECT_EQ(next, 3);
    ASSERT_EQ(q.size(), 2u);
    EXPECT_EQ(q[0].second, 0);  // batch 1, chunk 1: min(0 + 1, 0)
    EXPECT_EQ(q[1].second, 1);  // batch 2, chunk 1: min(0 + 1, 1)
  });
  EXPECT_EQ(p.take(1, &waited), 0);
  p.publish(take_snapshot(*module, 2));
  EXPECT_EQ(p.take(2, &waited), 1);
  p.publish(take_snapshot(*module, 3));
  EXPECT_EQ(p.take(3, &waited), 2);
  EXPECT_GE(started3.load(), 2);  // made again after the pause
}

// ---- the rlvr trainer ---------------------------------------------------------------------------

std::string partial_recipe(int64_t steps, const std::string& extra_rl) {
  return "[run]\nalgorithm = \"rlvr\"\nseed = 5\ntorch_threads = 1\ntotal_steps = " + std::to_string(steps) +
         "\n[data]\nsource = \"task\"\neval_examples = 8\n"
         "[task]\nname = \"arithmetic\"\nmax_digits = 1\n"
         "[model]\nhidden_size = 32\nnum_hidden_layers = 1\nnum_attention_heads = 2\nnum_key_value_heads = 1\n"
         "intermediate_size = 64\nmax_position_embeddings = 64\n"
         "[[samplers]]\nname = \"temperature\"\n[sample]\nmax_new_tokens = 6\nnum_return_sequences = 4\n"
         "[advantage]\nname = \"grpo\"\n[objective]\nname = \"ppo_clip\"\n"
         "[reward]\ncorrect_weight = 0\nformat_weight = 1\n"
         "[rl]\nprompts_per_step = 4\nmini_batches = 1\nlearning_rate = 3e-3\n"
         "eval_every = 0\naccuracy_examples = 4\n" + extra_rl;
}

// s = 2, chunks of 2 tokens: batch k ≥ 2 has tokens 0, 1 of each response from version k − 2
// (staleness 2) and tokens 2 … 5 from k − 1 (staleness 1). So staleness_frac_2 = Σ min(len, 2) /
// Σ len ∈ [1/3, 1], it is 1 exactly when no response outlived chunk 0 (no switch), and the mean is
// 1 + frac_2. Steps 1 and 2 (batches 0, 1) come from version 0 whole.
TEST(PartialRollouts, TrainedTokensMixVersionsWithinTheBound) {
  testing::TempDir tmp("partial_rollouts");
  const int64_t steps = 6;
  const auto rows = test_util::read_metrics(test_util::run_recipe(
      partial_recipe(steps, "max_staleness = 2\npartial_rollouts = true\npartial_chunk_tokens = 2\n"), tmp, "mix"));
  ASSERT_EQ(rows.size(), static_cast<size_t>(steps + 1));
  int64_t switched = 0;
  for (int64_t k = 0; k < steps; ++k) {
    SCOPED_TRACE(k);
    const auto& row = rows[static_cast<size_t>(k + 1)];
    const auto r = [&](const std::string& key) {
      EXPECT_TRUE(row.count(key)) << key;
      return row.count(key) ? row.at(key) : std::nan("");
    };
    EXPECT_EQ(r("async/sampled_version"), static_cast<double>(std::max<int64_t>(0, k - 2)));
    EXPECT_EQ(r("async/staleness_frac_0"), k == 0 ? 1.0 : 0.0);
    if (k < 2) {
      EXPECT_EQ(r("async/switches"), 0.0);
      EXPECT_EQ(r("async/staleness_frac_" + std::to_string(k)), 1.0);
      continue;
    }
    const double f2 = r("async/staleness_frac_2"), f1 = r("async/staleness_frac_1");
    EXPECT_GE(f2, 1.0 / 3.0 - 1e-12);
    EXPECT_NEAR(f1 + f2, 1.0, 1e-12);
    EXPECT_NEAR(r("async/staleness_mean"), 1.0 + f2, 1e-9);
    EXPECT_EQ(r("async/switches"), f2 < 1.0 ? 1.0 : 0.0);
    EXPECT_EQ(r("async/staleness_max"), 2.0);
    EXPECT_TRUE(std::isfinite(r(metric::kPolicyLoss)));
    // The meter compares each token's recorded log π with its own version's: only the engine's
    // cached-versus-plain rounding is left.
    EXPECT_LT(r("mismatch/max_abs"), 1e-4);
    if (f2 < 1.0) ++switched;
  }
  EXPECT_GT(switched, 0);
}

TEST(PartialRollouts, ResumeContinuesExactly) {
  testing::TempDir tmp("partial_rollouts");
  const std::string recipe =
      partial_recipe(7, "max_staleness = 3\npartial_rollouts = true\npartial_chunk_tokens = 2\nmismatch_every = 2\n");
  const std::string whole = test_util::run_recipe(recipe, tmp, "whole");
  const std::string split = test_util::run_recipe(recipe, tmp, "split", /*stop_after=*/3);
  std::atomic<bool> stop{false};
  resume_run(split, {}, 0, /*quiet=*/true, stop);
  test_util::expect_same_metrics(test_util::read_metrics(whole), test_util::read_metrics(split));
}

TEST(PartialRollouts, RefusesInvalidCombinations) {
  testing::TempDir tmp("partial_rollouts");
  for (const std::string& rl : {std::string("partial_rollouts = true\n"),
                                std::string("max_staleness = 1\npartial_rollouts = true\n"),
                                std::string("max_staleness = 2\npartial_rollouts = true\ndynamic_sampling_rounds = 2\n"),
                                std::string("max_staleness = 2\npartial_rollouts = true\npartial_chunk_tokens = 6\n"),
                                std::string("max_staleness = 2\npartial_rollouts = true\npartial_chunk_tokens = 0\n")}) {
    SCOPED_TRACE(rl);
    EXPECT_THROW(test_util::run_recipe(partial_recipe(1, rl), tmp, "bad"), core::UserError);
  }
}

}  // namespace
}  // namespace rlpp::train::lm
