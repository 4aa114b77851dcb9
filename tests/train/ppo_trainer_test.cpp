// End-to-end tests of the PPO control trainer through the same library calls the `rlpp`
// program makes (start_run / resume_run / evaluate_run).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "rlpp/core/error.h"
#include "rlpp/train/run.h"
#include "test_dirs.h"

namespace fs = std::filesystem;
using rlpp::testing::TempDir;

namespace {

const std::string kRecipe = std::string(RLPP_SOURCE_DIR) + "/configs/cartpole_ppo.toml";

std::vector<nlohmann::json> read_rows(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::vector<nlohmann::json> rows;
  std::string line;
  while (std::getline(in, line)) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

rlpp::train::RunOutcome start(const std::string& out, std::vector<std::string> sets, int64_t stop_after = 0) {
  std::atomic<bool> stop{false};
  rlpp::train::StartRequest req;
  req.recipe_path = kRecipe;
  req.overrides = std::move(sets);
  req.out_dir = out;
  req.stop_after_updates = stop_after;
  req.quiet = true;
  return rlpp::train::start_run(req, stop);
}

}  // namespace

// N + N updates in one go equals N updates, a checkpoint, a resume, and N more: every metric
// except wall-clock speed matches exactly (the checkpoint holds the model, Adam, generators,
// environment state and counters).
TEST(PpoTrainer, ResumeIsBitIdentical) {
  for (const std::string backend : {"torch", "fast"}) {
    TempDir dir("resume");
    const std::vector<std::string> sets = {"run.total_steps=6144", "policy.backend=\"" + backend + "\"",
                                           "env.name=\"Pendulum-v1\"", "ppo.normalize_obs=true",
                                           "ppo.normalize_reward=true", "ppo.bootstrap_truncated=true",
                                           "ppo.num_minibatches=8"};
    auto whole = start(dir.sub("whole"), sets);
    EXPECT_TRUE(whole.finished);
    auto first = start(dir.sub("split"), sets, /*stop_after=*/6);
    EXPECT_FALSE(first.finished);
    std::atomic<bool> stop{false};
    auto second = rlpp::train::resume_run(dir.sub("split"), {}, 0, true, stop);
    EXPECT_TRUE(second.finished);

    const auto a = read_rows(dir.sub("whole"));
    const auto b = read_rows(dir.sub("split"));
    ASSERT_EQ(a.size(), 12u);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      for (auto& [key, value] : a[i].items()) {
        if (key == "charts/SPS") continue;
        EXPECT_EQ(value, b[i].at(key)) << backend << " row " << i << " metric " << key;
      }
    }
  }
}

TEST(PpoTrainer, SameSeedSameMetricsDifferentSeedDifferent) {
  TempDir dir("seed");
  start(dir.sub("a"), {"run.total_steps=2048"});
  start(dir.sub("b"), {"run.total_steps=2048"});
  start(dir.sub("c"), {"run.total_steps=2048", "run.seed=2"});
  const auto a = read_rows(dir.sub("a")), b = read_rows(dir.sub("b")), c = read_rows(dir.sub("c"));
  ASSERT_EQ(a.size(), 4u);
  EXPECT_EQ(a.back()["losses/policy_loss"], b.back()["losses/policy_loss"]);
  EXPECT_NE(a.back()["losses/policy_loss"], c.back()["losses/policy_loss"]);
}

// A short version of the CleanRL CartPole run (the full one is in docs/results.md): after 60k
// steps the mean training return of the last 100 episodes is far above a random policy's (~22).
TEST(PpoTrainer, CartPoleLearnsQuickly) {
  TempDir dir("learn");
  start(dir.sub("run"), {"run.total_steps=61440"});
  const auto rows = read_rows(dir.sub("run"));
  ASSERT_FALSE(rows.empty());
  const double final_return = rows.back()["charts/return_mean_100"];
  EXPECT_GT(final_return, 100.0);
  rlpp::train::EvalRequest req;
  req.episodes = 5;
  req.seed = 7;
  const auto eval = rlpp::train::evaluate_run(dir.sub("run"), req);
  EXPECT_EQ(eval.episodes, 5);
  EXPECT_GT(eval.mean_return, 100.0);
}

TEST(PpoTrainer, RunDirectoryHoldsTheArtifacts) {
  TempDir dir("artifacts");
  start(dir.sub("run"), {"run.total_steps=1024"});
  const fs::path run = dir.sub("run");
  EXPECT_TRUE(fs::exists(run / "recipe.toml"));
  EXPECT_TRUE(fs::exists(run / "metrics.jsonl"));
  EXPECT_TRUE(fs::exists(run / "metrics.csv"));
  EXPECT_TRUE(fs::exists(run / "checkpoints" / "update_0000002.pt"));
  bool events = false;
  for (const auto& e : fs::directory_iterator(run)) events |= e.path().filename().string().rfind("events.out.tfevents.", 0) == 0;
  EXPECT_TRUE(events);
  // The resolved recipe holds every option, so the run can be repeated from it alone.
  std::ifstream in(run / "recipe.toml");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("total_steps = 1024"), std::string::npos);
  EXPECT_NE(text.str().find("gae_lambda = 0.95"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("adam_eps = 1e-05"), std::string::npos) << text.str();
  // Starting a second run into the same directory is refused.
  EXPECT_THROW(start(dir.sub("run"), {"run.total_steps=1024"}), rlpp::core::UserError);
}

TEST(PpoTrainer, BadRecipeIsRejectedBeforeAnythingIsWritten) {
  TempDir dir("bad");
  const std::string out = dir.sub("never");
  try {
    start(out, {"ppo.lerning_rate=0.1"});
    FAIL() << "expected an error";
  } catch (const rlpp::core::UserError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("ppo.lerning_rate"), std::string::npos) << msg;
    EXPECT_NE(msg.find("ppo.learning_rate"), std::string::npos) << msg;  // closest valid key
  }
  EXPECT_THROW(start(out, {"ppo.gamma=1.5"}), rlpp::core::UserError);
  EXPECT_THROW(start(out, {"ppo.num_minibatches=3"}), rlpp::core::UserError);  // does not divide 512
  EXPECT_THROW(start(out, {"env.name=\"CartPole-v9\""}), rlpp::core::UserError);
  EXPECT_THROW(start(out, {"run.algorithm=\"ppx\""}), rlpp::core::UserError);
  EXPECT_FALSE(fs::exists(out));
}
