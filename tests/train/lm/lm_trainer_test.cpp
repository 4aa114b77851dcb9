// The lm trainer end to end on a tiny model: it learns (loss falls), micro-batching leaves the
// update unchanged, resuming from a checkpoint continues exactly, the exported model loads back
// with the same outputs, and bad data is refused with a message naming the line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "rlpp/core/error.h"
#include "rlpp/nn/lm/pretrained.h"
#include "rlpp/train/lm/lm_trainer.h"
#include "rlpp/train/run.h"
#include "rlpp/train/metric_names.h"
#include "train/lm/lm_test_util.h"

namespace rlpp::train::lm {
namespace {

namespace fs = std::filesystem;

std::string tiny_recipe(int64_t steps, int64_t micro, const std::string& extra = "") {
  return "[run]\nalgorithm = \"lm\"\nseed = 3\ntotal_steps = " + std::to_string(steps) +
         "\n[data]\nsource = \"task\"\neval_examples = 16\n"
         "[task]\nname = \"arithmetic\"\nmax_digits = 1\n"
         "[model]\nhidden_size = 32\nnum_hidden_layers = 1\nnum_attention_heads = 2\nnum_key_value_heads = 1\n"
         "intermediate_size = 64\nmax_position_embeddings = 64\n"
         "[lm]\nbatch_size = 8\nmicro_batch_size = " + std::to_string(micro) +
         "\nseq_len = 32\npack = false\nresponse_only = true\nlearning_rate = 3e-3\nwarmup_steps = 2\n"
         "eval_every = 0\naccuracy_examples = 8\nmax_new_tokens = 12\n" + extra;
}

using test_util::read_metrics;
using test_util::run_recipe;

TEST(LmTrainer, LossFallsAndTheExportedModelLoads) {
  testing::TempDir tmp("lm");
  const std::string dir = run_recipe(tiny_recipe(200, 8), tmp, "learns");
  const auto rows = read_metrics(dir);
  ASSERT_EQ(rows.size(), 201u);  // the evaluation before training, then 200 steps
  EXPECT_TRUE(rows[0].count("eval/loss"));
  double first = 0, last = 0;
  for (int i = 1; i <= 5; ++i) first += rows[i].at("train/loss") / 5;
  for (int i = 196; i <= 200; ++i) last += rows[i].at("train/loss") / 5;
  EXPECT_LT(last, 0.5 * first) << first << " -> " << last;
  EXPECT_TRUE(rows.back().count("eval/loss"));
  EXPECT_TRUE(rows.back().count("eval/accuracy"));
  auto model = nn::lm::load_pretrained(dir + "/model");
  EXPECT_TRUE(fs::exists(dir + "/model/rlpp_tokenizer.json"));
  EXPECT_EQ(model->config().hidden_size, 32);
}

TEST(LmTrainer, MicroBatchingLeavesTheStepUnchanged) {
  testing::TempDir tmp("lm");
  const std::string a = run_recipe(tiny_recipe(3, 8), tmp, "full");
  const std::string b = run_recipe(tiny_recipe(3, 2), tmp, "split");
  const auto ra = read_metrics(a), rb = read_metrics(b);
  ASSERT_EQ(ra.size(), rb.size());
  for (size_t i = 1; i < ra.size(); ++i) {
    EXPECT_NEAR(ra[i].at("train/loss"), rb[i].at("train/loss"), 1e-5) << i;
    EXPECT_NEAR(ra[i].at(metric::kGradNorm), rb[i].at(metric::kGradNorm), 1e-4) << i;
  }
  auto ma = nn::lm::load_pretrained(a + "/model"), mb = nn::lm::load_pretrained(b + "/model");
  auto pa = ma->named_parameters(), pb = mb->named_parameters();
  for (const auto& kv : pa) {
    EXPECT_LT((kv.value() - pb[kv.key()]).abs().max().item<double>(), 1e-5) << kv.key();
  }
}

TEST(LmTrainer, ResumeContinuesExactly) {
  testing::TempDir tmp("lm");
  const std::string whole = run_recipe(tiny_recipe(6, 4), tmp, "whole");
  const std::string split = run_recipe(tiny_recipe(6, 4), tmp, "split", /*stop_after=*/3);
  std::atomic<bool> stop{false};
  resume_run(split, {}, 0, /*quiet=*/true, stop);
  const auto rw = read_metrics(whole), rs = read_metrics(split);
  ASSERT_EQ(rw.size(), rs.size());
  for (size_t i = 0; i < rw.size(); ++i) {
    for (const auto& [k, v] : rw[i]) {
      if (k == "train/tokens_per_s") continue;
      EXPECT_EQ(v, rs[i].at(k)) << "row " << i << " " << k;
    }
  }
}

TEST(LmTrainer, MalformedJsonlIsReportedWithLineNumbers) {
  testing::TempDir tmp("lm");
  const std::string dir = tmp.str();
  std::ofstream(dir + "/data.jsonl") << "{\"prompt\": \"1+1=\", \"response\": \"2\"}\n"
                                        "{\"prompt\": 3}\n"
                                        "not json\n"
                                        "{\"text\": \"2+2=4\"}\n";
  const std::string data = "[data]\nsource = \"jsonl\"\npath = \"" + dir + "/data.jsonl\"\neval_fraction = 0.0\non_error = \"fail\"\n";
  std::string recipe = tiny_recipe(2, 8);
  recipe = recipe.substr(0, recipe.find("[data]")) + data + recipe.substr(recipe.find("[model]"));
  try {
    run_recipe(recipe, tmp, "bad");
    FAIL() << "expected a UserError";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("data.jsonl:2"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir + "/bad/run"));
  // Skipping: lines 2 and 3 are left out, the run trains on the other two.
  const std::string skip = recipe.replace(recipe.find("on_error = \"fail\""), 17, "on_error = \"skip\"");
  EXPECT_NO_THROW(run_recipe(skip, tmp, "skip"));
}

}  // namespace
}  // namespace rlpp::train::lm
