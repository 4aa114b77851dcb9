// [model] fast_path end to end: an rlvr run with asynchronous rollouts (rl.max_staleness = 1, so
// every response comes from the rollout worker's copy of the policy, which must carry the flag)
// runs with the hand-written kernels and logs at its first step what the LibTorch run logs, up to
// float rounding (the two paths are equal to ~1e-6, not bit for bit); a run split by a checkpoint
// and resumed equals the uninterrupted one.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <fstream>
#include <sstream>

#include "rlpp/train/run.h"
#include "train/lm/lm_test_util.h"

// A named namespace of its own: the layer's tests are compiled in unity batches.
namespace rlpp::train::lm::fast_path_rlvr_test {
namespace {

std::string recipe(bool fast, int64_t steps = 2) {
  return "[run]\nalgorithm = \"rlvr\"\nseed = 5\ntorch_threads = 1\ntotal_steps = " + std::to_string(steps) +
         "\n[data]\nsource = \"task\"\neval_examples = 8\n"
         "[task]\nname = \"arithmetic\"\nmax_digits = 1\n"
         "[model]\nhidden_size = 32\nnum_hidden_layers = 2\nnum_attention_heads = 4\nnum_key_value_heads = 2\n"
         "intermediate_size = 64\nmax_position_embeddings = 64\nfast_path = " +
         (fast ? "true" : "false") +
         "\n[[samplers]]\nname = \"temperature\"\n[sample]\nmax_new_tokens = 6\nnum_return_sequences = 4\n"
         "[advantage]\nname = \"grpo\"\n[objective]\nname = \"ppo_clip\"\n"
         "[reward]\ncorrect_weight = 0\nformat_weight = 1\n"
         "[rl]\nprompts_per_step = 4\nmini_batches = 1\nlearning_rate = 3e-3\nmax_staleness = 1\n"
         "eval_every = 0\naccuracy_examples = 4\n";
}

TEST(LmFastPathRlvr, AsyncRunMatchesTheLibTorchRun) {
  testing::TempDir tmp("fast_path_rlvr");
  const std::string fast_dir = test_util::run_recipe(recipe(true), tmp, "fast");
  const auto fast = test_util::read_metrics(fast_dir);
  const auto ref = test_util::read_metrics(test_util::run_recipe(recipe(false), tmp, "libtorch"));
  ASSERT_EQ(fast.size(), ref.size());
  ASSERT_GE(fast.size(), 2u);
  // The resolved recipe keeps the option (a resumed run reads it back).
  std::stringstream resolved;
  resolved << std::ifstream(fast_dir + "/recipe.toml").rdbuf();
  EXPECT_NE(resolved.str().find("fast_path = true"), std::string::npos);
  // Row 0: the evaluation before training; row 1: the first step (sampled by the worker from
  // version 0). The sampled tokens are the same (no two probabilities within rounding of a draw at
  // this seed), so counts, lengths and rewards are equal and the losses equal to rounding.
  int compared = 0;
  for (size_t i = 0; i < 2; ++i) {
    for (const auto& [k, v] : ref[i]) {
      if (k.rfind("perf/", 0) == 0 || std::isnan(v)) continue;
      ASSERT_TRUE(fast[i].count(k)) << "row " << i << " " << k;
      EXPECT_NEAR(fast[i].at(k), v, 1e-4 * (1.0 + std::abs(v))) << "row " << i << " " << k;
      ++compared;
    }
  }
  EXPECT_GT(compared, 10);
  // ... and not bit for bit: the kernels ran (the sampler's log-probs and entropies come from the
  // worker's copy, the only model that generates when rl.max_staleness > 0).
  int differing = 0;
  for (size_t i = 0; i < fast.size(); ++i) {
    for (const auto& [k, v] : ref[i]) {
      if (k.rfind("perf/", 0) != 0 && fast[i].count(k) && fast[i].at(k) != v) ++differing;
    }
  }
  EXPECT_GT(differing, 0);
  EXPECT_EQ(fast[1].at("rl/staleness"), 0.0);
  EXPECT_EQ(fast[1].at("rl/reward_mean"), ref[1].at("rl/reward_mean"));
}

// A run with the fast path split by a checkpoint and resumed (the worker's copy made again from
// the resolved recipe) logs what the uninterrupted run logs, bit for bit.
TEST(LmFastPathRlvr, AsyncResumeContinuesExactly) {
  testing::TempDir tmp("fast_path_rlvr");
  const std::string whole = test_util::run_recipe(recipe(true, 4), tmp, "whole");
  const std::string split = test_util::run_recipe(recipe(true, 4), tmp, "split", /*stop_after=*/2);
  std::atomic<bool> stop{false};
  resume_run(split, {}, 0, /*quiet=*/true, stop);
  test_util::expect_same_metrics(test_util::read_metrics(whole), test_util::read_metrics(split));
}

}  // namespace
}  // namespace rlpp::train::lm::fast_path_rlvr_test
