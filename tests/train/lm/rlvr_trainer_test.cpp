// The rlvr trainer end to end on a tiny model: every registered objective and every group
// advantage estimator runs as one recipe line, metrics are finite, resume continues exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "rlpp/algo/advantage.h"
#include "rlpp/algo/objective.h"
#include "rlpp/core/error.h"
#include "rlpp/train/run.h"
#include "train/lm/lm_test_util.h"

namespace rlpp::train::lm {
namespace {

namespace fs = std::filesystem;

std::string rlvr_recipe(int64_t steps, const std::string& advantage, const std::string& objective,
                        const std::string& extra_rl = "") {
  return "[run]\nalgorithm = \"rlvr\"\nseed = 5\ntotal_steps = " + std::to_string(steps) +
         "\n[data]\nsource = \"task\"\ntask = \"arithmetic\"\neval_examples = 8\n"
         "[task]\nmax_digits = 1\n"
         "[model]\nhidden_size = 32\nnum_hidden_layers = 1\nnum_attention_heads = 2\nnum_key_value_heads = 1\n"
         "intermediate_size = 64\nmax_position_embeddings = 64\n"
         "[sample]\nsamplers = [\"temperature\"]\nmax_new_tokens = 6\nnum_return_sequences = 4\n"
         "[advantage]\nname = \"" + advantage + "\"\n[objective]\nname = \"" + objective + "\"\n"
         "[rl]\nprompts_per_step = 3\nmini_batches = 2\nmicro_batch_size = 3\nlearning_rate = 1e-3\n"
         "eval_every = 0\naccuracy_examples = 4\n" + extra_rl;
}

using test_util::read_metrics;
using test_util::run_recipe;

TEST(RlvrTrainer, EveryObjectiveIsOneRecipeLine) {
  testing::TempDir tmp("rlvr");
  for (const std::string& name : algo::objective_registry().names()) {
    SCOPED_TRACE(name);
    const std::string dir = run_recipe(rlvr_recipe(1, "grpo", name, "kl_coef = 0.01\n"), tmp, name);
    const auto rows = read_metrics(dir);
    ASSERT_EQ(rows.size(), 2u);  // the evaluation before training, then step 1
    for (const char* k : {"rl/reward_mean", "rl/entropy", "loss/policy", "loss/grad_norm", "loss/kl"}) {
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
    EXPECT_TRUE(std::isfinite(rows[1].at("loss/policy")));
  }
}

TEST(RlvrTrainer, ResumeContinuesExactly) {
  testing::TempDir tmp("rlvr");
  const std::string recipe = rlvr_recipe(4, "grpo", "dapo", "kl_coef = 0.05\n");
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

TEST(RlvrTrainer, RefusesDataWithoutAGrader) {
  testing::TempDir tmp("rlvr");
  std::string recipe = rlvr_recipe(1, "grpo", "ppo_clip");
  recipe.replace(recipe.find("source = \"task\""), 15, "source = \"text\"");
  EXPECT_THROW(run_recipe(recipe, tmp, "bad"), core::UserError);
  EXPECT_THROW(run_recipe(rlvr_recipe(1, "grpo", "ppo_clipp"), tmp, "bad2"), core::UserError);
}

}  // namespace
}  // namespace rlpp::train::lm
