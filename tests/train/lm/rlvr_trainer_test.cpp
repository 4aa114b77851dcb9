// The rlvr trainer end to end on a tiny model: every registered objective and every group
// advantage estimator runs as one recipe line, metrics are finite, resume continues exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "rlpp/algo/advantage.h"
#include "rlpp/algo/objective.h"
#include "rlpp/core/error.h"
#include "rlpp/train/run.h"
#include "rlpp/train/metric_names.h"
#include "train/lm/lm_test_util.h"

namespace rlpp::train::lm {
namespace {

namespace fs = std::filesystem;

std::string rlvr_recipe(int64_t steps, const std::string& advantage, const std::string& objective,
                        const std::string& extra_rl = "", const std::string& extra_sections = "") {
  return "[run]\nalgorithm = \"rlvr\"\nseed = 5\ntotal_steps = " + std::to_string(steps) +
         "\n[data]\nsource = \"task\"\neval_examples = 8\n"
         "[task]\nname = \"arithmetic\"\nmax_digits = 1\n"
         "[model]\nhidden_size = 32\nnum_hidden_layers = 1\nnum_attention_heads = 2\nnum_key_value_heads = 1\n"
         "intermediate_size = 64\nmax_position_embeddings = 64\n"
         "[[samplers]]\nname = \"temperature\"\n[sample]\nmax_new_tokens = 6\nnum_return_sequences = 4\n"
         "[advantage]\nname = \"" + advantage + "\"\n[objective]\nname = \"" + objective + "\"\n"
         "[rl]\nprompts_per_step = 3\nmini_batches = 2\nmicro_batch_size = 3\nlearning_rate = 1e-3\n"
         "eval_every = 0\naccuracy_examples = 4\n" + extra_rl + extra_sections;
}

// Binary rewards an untrained model earns often: 1 when the final line parses as a number.
const char* kFormatReward = "[reward]\ncorrect_weight = 0\nformat_weight = 1\n";

using test_util::read_metrics;
using test_util::run_recipe;

TEST(RlvrTrainer, EveryObjectiveIsOneRecipeLine) {
  testing::TempDir tmp("rlvr");
  for (const std::string& name : algo::objective_registry().names()) {
    SCOPED_TRACE(name);
    const std::string dir = run_recipe(rlvr_recipe(1, "grpo", name, "", "[kl]\nname = \"fixed\"\ncoef = 0.01\n"), tmp, name);
    const auto rows = read_metrics(dir);
    ASSERT_EQ(rows.size(), 2u);  // the evaluation before training, then step 1
    for (const char* k : {"rl/reward_mean", "rl/entropy", metric::kPolicyLoss, metric::kGradNorm, metric::kKl}) {
      ASSERT_TRUE(rows[1].count(k)) << k;
      EXPECT_TRUE(std::isfinite(rows[1].at(k))) << k << " = " << rows[1].at(k);
    }
    EXPECT_TRUE(fs::exists(dir + "/model/model.safetensors"));
  }
}

TEST(RlvrTrainer, GroupAdvantageEstimatorsRun) {
  testing::TempDir tmp("rlvr");
  for (const char* name : {"grpo", "dr_grpo", "rloo", "opo", "grpo_passk", "hapo_tga", "reinforce_pp", "spo"}) {
    SCOPED_TRACE(name);
    const auto rows = read_metrics(run_recipe(rlvr_recipe(1, name, "ppo_clip"), tmp, name));
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_TRUE(std::isfinite(rows[1].at(metric::kPolicyLoss)));
  }
}

TEST(RlvrTrainer, ResumeContinuesExactly) {
  testing::TempDir tmp("rlvr");
  const std::string recipe = rlvr_recipe(4, "grpo", "dapo", "", "[kl]\nname = \"fixed\"\ncoef = 0.05\n");
  const std::string whole = run_recipe(recipe, tmp, "whole");
  const std::string split = run_recipe(recipe, tmp, "split", /*stop_after=*/2);
  std::atomic<bool> stop{false};
  resume_run(split, {}, 0, /*quiet=*/true, stop);
  const auto rw = read_metrics(whole), rs = read_metrics(split);
  ASSERT_EQ(rw.size(), rs.size());
  for (size_t i = 0; i < rw.size(); ++i) {
    for (const auto& [k, v] : rw[i]) {
      if (k.rfind("perf/", 0) == 0) continue;
      if (std::isnan(v)) continue;
      EXPECT_EQ(v, rs[i].at(k)) << "row " << i << " " << k;
    }
  }
}

// [kl] name = "adaptive": Ziegler et al.'s controller, c ← c·(1 + clip(KL/target − 1, ±0.2)·n/horizon)
// after every optimizer step with n = the mini-batch's sequences. One optimizer step per RL step, so
// the logged KL of step t is the controller's input and c of step t + 1 follows by hand; the
// coefficient travels in the checkpoint.
TEST(RlvrTrainer, AdaptiveKlCoefficientFollowsTheController) {
  testing::TempDir tmp("rlvr");
  std::string recipe =
      rlvr_recipe(4, "grpo", "ppo_clip", "", "[kl]\nname = \"adaptive\"\ncoef = 0.05\ntarget = 0.001\nhorizon = 24\n");
  recipe.replace(recipe.find("mini_batches = 2"), 16, "mini_batches = 1");
  const auto rows = read_metrics(run_recipe(recipe, tmp, "whole"));
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_DOUBLE_EQ(rows[1].at(metric::kKlCoef), 0.05);
  EXPECT_NEAR(rows[1].at(metric::kKl), 0.0, 1e-9);  // the first step starts at the reference
  for (size_t t = 2; t < rows.size(); ++t) {
    const double err = std::clamp(rows[t - 1].at(metric::kKl) / 0.001 - 1.0, -0.2, 0.2);
    const double want = rows[t - 1].at(metric::kKlCoef) * (1.0 + err * 12.0 / 24.0);  // 3 prompts x 4 samples
    EXPECT_NEAR(rows[t].at(metric::kKlCoef), want, 1e-12 * want) << "step " << t;
  }
  EXPECT_NEAR(rows[2].at(metric::kKlCoef), 0.05 * 0.9, 1e-15);  // KL 0 < target: −20% × 12/24
  const std::string split = run_recipe(recipe, tmp, "split", /*stop_after=*/2);
  std::atomic<bool> stop{false};
  resume_run(split, {}, 0, /*quiet=*/true, stop);
  test_util::expect_same_metrics(rows, read_metrics(split));
}

// rl.lr_warmup_steps = W: optimizer step k trains at lr·(k+1)/W, then lr. Two optimizer steps per
// RL step (mini_batches = 2); the row logs the rate of the step's last one. The position travels in
// the checkpoint.
TEST(RlvrTrainer, LearningRateWarmsUpLinearlyAndResumesExactly) {
  testing::TempDir tmp("rlvr");
  const std::string recipe = rlvr_recipe(3, "grpo", "ppo_clip", "lr_warmup_steps = 3\n");
  const auto rows = read_metrics(run_recipe(recipe, tmp, "whole"));
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_DOUBLE_EQ(rows[1].at(metric::kLearningRate), 1e-3 * 2.0 / 3.0);  // steps k = 0, 1
  EXPECT_DOUBLE_EQ(rows[2].at(metric::kLearningRate), 1e-3);              // k = 2 (3/3), 3
  EXPECT_DOUBLE_EQ(rows[3].at(metric::kLearningRate), 1e-3);
  const std::string split = run_recipe(recipe, tmp, "split", /*stop_after=*/1);
  std::atomic<bool> stop{false};
  resume_run(split, {}, 0, /*quiet=*/true, stop);
  test_util::expect_same_metrics(rows, read_metrics(split));
}

// [entropy_control] name = "aepo": every step samples one extra response per row of the batch's
// prompts at the temperature the entropy chose (target far above: t_high; far below: t_low) and
// trains a REINFORCE term on them; a reused batch keeps its extra rollouts through a checkpoint.
TEST(RlvrTrainer, AepoTrainsOnExtraRolloutsAtTheChosenTemperature) {
  testing::TempDir tmp("rlvr");
  for (const auto& [target, want_t] : std::vector<std::pair<std::string, double>>{{"100.0", 1.25}, {"0.0", 0.75}}) {
    const std::string recipe =
        rlvr_recipe(3, "grpo", "ppo_clip", "reuse_steps = 2\n",
                    std::string(kFormatReward) + "[entropy_control]\nname = \"aepo\"\ntarget = " + target +
                        "\nt_high = 1.25\nt_low = 0.75\nselect_threshold = -100.0\n");
    const std::string name = "aepo" + target;
    const auto rows = read_metrics(run_recipe(recipe, tmp, name));
    ASSERT_EQ(rows.size(), 4u);
    for (size_t i = 1; i < rows.size(); ++i) {
      EXPECT_EQ(rows[i].at("rl/extra_rollouts"), 12.0);  // 3 prompts x 4
      EXPECT_DOUBLE_EQ(rows[i].at("aepo/temperature"), want_t);
      EXPECT_EQ(rows[i].at("aepo/reinforced_frac"), 1.0);  // threshold −100: every rollout reinforced
      EXPECT_TRUE(std::isfinite(rows[i].at(metric::kExtraRolloutLoss)));
    }
    const std::string split = run_recipe(recipe, tmp, name + "split", /*stop_after=*/1);  // inside a reused batch
    std::atomic<bool> stop{false};
    resume_run(split, {}, 0, /*quiet=*/true, stop);
    test_util::expect_same_metrics(rows, read_metrics(split));
  }
}

TEST(RlvrTrainer, RefusesDataWithoutAGrader) {
  testing::TempDir tmp("rlvr");
  std::string recipe = rlvr_recipe(1, "grpo", "ppo_clip");
  recipe.replace(recipe.find("source = \"task\""), 15, "source = \"text\"");
  EXPECT_THROW(run_recipe(recipe, tmp, "bad"), core::UserError);
  EXPECT_THROW(run_recipe(rlvr_recipe(1, "grpo", "ppo_clipp"), tmp, "bad2"), core::UserError);
}

TEST(RlvrTrainer, DynamicSamplingTrainsOnInformativeGroupsOnly) {
  testing::TempDir tmp("rlvr");
  // Without refill some groups have equal rewards (else this test would show nothing).
  const auto plain = read_metrics(run_recipe(rlvr_recipe(4, "grpo", "ppo_clip", "", kFormatReward), tmp, "plain"));
  double zero_var = 0;
  for (size_t i = 1; i < plain.size(); ++i) zero_var += plain[i].at("rl/zero_variance_groups");
  ASSERT_GT(zero_var, 0);
  const auto rows = read_metrics(
      run_recipe(rlvr_recipe(4, "grpo", "ppo_clip", "dynamic_sampling_rounds = 5\n", kFormatReward), tmp, "dyn"));
  ASSERT_EQ(rows.size(), 5u);
  for (size_t i = 1; i < rows.size(); ++i) {
    const auto& r = rows[i];
    const double kept = r.at("rl/batch_responses"), rounds = r.at("rl/gen_rounds");
    EXPECT_GE(rounds, 1);
    EXPECT_LE(rounds, 5);
    EXPECT_EQ(r.at("rl/generated_responses"), rounds * 12);  // 3 prompts x 4 samples a round
    EXPECT_EQ(std::fmod(kept, 4.0), 0.0);                    // whole groups
    EXPECT_LE(kept, 12);
    if (rounds < 5) {
      EXPECT_EQ(kept, 12) << "stopped early without a full batch";
    }
    // Binary rewards with a spread: no response equals its group's mean, every token has A != 0.
    if (kept > 0) {
      EXPECT_EQ(r.at("rl/nonzero_adv_frac"), 1.0);
    }
  }
}

TEST(RlvrTrainer, KnapsackBudgetsAndPrioritizedPrompts) {
  testing::TempDir tmp("rlvr");
  const auto rows = read_metrics(run_recipe(
      rlvr_recipe(3, "grpo", "ppo_clip",
                  "prompt_pool = 6\nprompt_sampling = \"prioritized\"\n",
                  std::string(kFormatReward) +
                      "[rollout_allocation]\nname = \"knapsack\"\nn_min = 2\nn_max = 6\nbudget_per_prompt = 3\n"),
      tmp, "knapsack"));
  ASSERT_EQ(rows.size(), 4u);
  for (size_t i = 1; i < rows.size(); ++i) {
    const double n = rows[i].at("rl/generated_responses");
    EXPECT_GE(n, 3 * 2);  // every prompt gets n_min
    EXPECT_LE(n, 3 * 3);  // the budget
  }
}

TEST(RlvrTrainer, SpoSingleStream) {
  testing::TempDir tmp("rlvr");
  std::string recipe = rlvr_recipe(3, "spo", "ppo_clip", "prompt_pool = 8\nprompt_sampling = \"prioritized\"\n",
                                   kFormatReward);
  recipe.replace(recipe.find("num_return_sequences = 4"), 24, "num_return_sequences = 1");
  const auto rows = read_metrics(run_recipe(recipe, tmp, "spo"));
  ASSERT_EQ(rows.size(), 4u);
  for (size_t i = 1; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].at("rl/generated_responses"), 3);
    EXPECT_TRUE(std::isfinite(rows[i].at(metric::kPolicyLoss)));
  }
}

TEST(RlvrTrainer, SelectorsChangeTheTrainedTokens) {
  testing::TempDir tmp("rlvr");
  const auto top = read_metrics(run_recipe(
      rlvr_recipe(2, "grpo", "ppo_clip", "", "[[selectors]]\nname = \"top_entropy\"\nrho = 0.25\n"), tmp, "top"));
  for (size_t i = 1; i < top.size(); ++i) {
    // ⌈0.25·n⌉ of n valid tokens (a dozen or more): between 0.25 and 0.34.
    EXPECT_GE(top[i].at("rl/selected_token_frac"), 0.25);
    EXPECT_LE(top[i].at("rl/selected_token_frac"), 0.34);
    EXPECT_NEAR(top[i].at("select/top_entropy/kept_tokens_frac"), top[i].at("rl/selected_token_frac"), 1e-6);
  }
  // Truncated importance sampling against the sampling distribution (temperature 0.7 != 1).
  std::string recipe = rlvr_recipe(2, "grpo", "ppo_clip", "", "[[selectors]]\nname = \"tis_token\"\ncap = 1.5\n");
  recipe.replace(recipe.find("[sample]"), 0, "temperature = 0.7\n");  // in the [[samplers]] table
  const auto tis = read_metrics(run_recipe(recipe, tmp, "tis"));
  for (size_t i = 1; i < tis.size(); ++i) {
    const double w = tis[i].at("select/tis/mean_weight");
    EXPECT_GT(w, 0);
    EXPECT_LE(w, 1.5);
    EXPECT_NE(w, 1.0);  // π differs from the tempered q
  }
}

TEST(RlvrTrainer, ReusedBatchesAreStaleAndResumeExactly) {
  testing::TempDir tmp("rlvr");
  const std::string recipe = rlvr_recipe(5, "grpo", "ppo_clip", "reuse_steps = 3\n");
  const std::string whole = run_recipe(recipe, tmp, "whole");
  const auto rw = read_metrics(whole);
  ASSERT_EQ(rw.size(), 6u);
  for (size_t i = 1; i < rw.size(); ++i) EXPECT_EQ(rw[i].at("rl/staleness"), static_cast<double>((i - 1) % 3));
  EXPECT_EQ(rw[2].at("rl/reward_mean"), rw[1].at("rl/reward_mean"));  // the same batch
  // Split in the middle of a reused batch: the batch travels in the checkpoint.
  const std::string split = run_recipe(recipe, tmp, "split", /*stop_after=*/2);
  std::atomic<bool> stop{false};
  resume_run(split, {}, 0, /*quiet=*/true, stop);
  test_util::expect_same_metrics(rw, read_metrics(split));
}

TEST(RlvrTrainer, RefusesInconsistentSelection) {
  testing::TempDir tmp("rlvr");
  auto expect_error = [&](const std::string& rl, const std::string& sections, const std::string& fragment) {
    try {
      run_recipe(rlvr_recipe(1, "grpo", "ppo_clip", rl, sections), tmp, "bad");
      ADD_FAILURE() << "accepted: " << rl;
    } catch (const core::UserError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect_error("", "[[selectors]]\nname = \"knapsack\"\n", "unknown selector 'knapsack'");
  expect_error("", "[[selectors]]\nname = \"top_entropi\"\n", "did you mean 'top_entropy'");
  expect_error("", "[[selectors]]\nrho = 0.5\n", "needs name");
  expect_error("", "[selectors]\nname = \"top_entropy\"\n", "array of tables");
  expect_error("prompt_sampling = \"prioritized\"\n", "", "prompt pool");
  expect_error("", "[rollout_allocation]\nname = \"knapsack\"\n", "prompt pool");
  expect_error("", "[[selectors]]\nname = \"capo\"\nbudgett = 1\n", "selectors[0].budgett");
  // the spellings before components had sections of their own name the new one
  expect_error("selectors = [\"top_entropy\"]\n", "", "[[selectors]]");
  expect_error("rollout_allocation = \"knapsack\"\n", "", "[rollout_allocation]");
  expect_error("kl_coef = 0.1\n", "", "[kl]");
  expect_error("entropy_control = \"epo\"\n", "", "[entropy_control]");
}

}  // namespace
}  // namespace rlpp::train::lm
