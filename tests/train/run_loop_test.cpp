// The run loop's reliability (run_loop.h), through the library calls the `rlpp` program makes:
// damaged checkpoints are refused naming the file and skipped on request, temp files of a killed
// writer are removed, a run without a checkpoint starts again, a resumed run may not change what
// its checkpoint holds, and the control recipes reach the advantage and objective registries.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include <filesystem>
#include <fstream>

#include "rlpp/core/error.h"
#include "rlpp/train/run.h"
#include "rlpp/train/run_loop.h"
#include "test_dirs.h"

namespace fs = std::filesystem;
using rlpp::testing::TempDir;

namespace rlpp::train {
namespace {

const std::string kRecipe = std::string(RLPP_SOURCE_DIR) + "/configs/cartpole_ppo.toml";

RunOutcome start(const std::string& out, std::vector<std::string> sets, int64_t stop_after = 0,
                 const std::string& recipe = kRecipe) {
  std::atomic<bool> stop{false};
  StartRequest req;
  req.recipe_path = recipe;
  req.overrides = std::move(sets);
  req.out_dir = out;
  req.stop_after_updates = stop_after;
  req.quiet = true;
  return start_run(req, stop);
}

RunOutcome resume(const std::string& dir, bool skip_damaged = false, std::vector<std::string> sets = {}) {
  std::atomic<bool> stop{false};
  ResumeRequest req;
  req.run_dir = dir;
  req.overrides = std::move(sets);
  req.quiet = true;
  req.skip_damaged = skip_damaged;
  return resume_run(req, stop);
}

std::vector<nlohmann::json> read_rows(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::vector<nlohmann::json> rows;
  std::string line;
  while (std::getline(in, line)) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const core::UserError& e) {
    return e.what();
  }
  return "";
}

// Flips 16 bytes in the middle of the checkpoint's largest stretch of tensor data (well inside
// some entry's stored bytes, away from the zip headers at the start and the directory at the end).
void corrupt(const std::string& path) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(0, std::ios::end);
  const std::streamoff size = f.tellg();
  const std::streamoff at = size / 2;
  std::string bytes(16, '\0');
  f.seekg(at);
  f.read(&bytes[0], 16);
  for (char& c : bytes) c = static_cast<char>(~c);
  f.seekp(at);
  f.write(bytes.data(), 16);
}

const std::vector<std::string> kShort = {"run.total_steps=2048", "run.checkpoint_every=1", "run.keep_checkpoints=5"};

TEST(RunLoop, DamagedCheckpointIsRefusedNamingItAndSkippedOnRequest) {
  TempDir dir("damaged");
  const std::string run = dir.sub("r");
  EXPECT_FALSE(start(run, kShort, /*stop_after=*/3).finished);
  const auto all = checkpoints_newest_first(run);
  ASSERT_EQ(all.size(), 3u);
  corrupt(all.front());
  EXPECT_NE(checkpoint_damage(all.front()), "");
  EXPECT_EQ(checkpoint_damage(all[1]), "");

  const std::string refused = message_of([&] { resume(run); });
  EXPECT_NE(refused.find(all.front()), std::string::npos) << refused;
  EXPECT_NE(refused.find("--skip-damaged"), std::string::npos) << refused;
  // Evaluation refuses it too.
  EvalRequest req;
  req.episodes = 1;
  EXPECT_NE(message_of([&] { evaluate_run(all.front(), req); }).find("damaged"), std::string::npos);

  // With skip_damaged the run continues from update 2 and finishes; its rows after update 2 are
  // those of an uninterrupted run.
  EXPECT_TRUE(resume(run, /*skip_damaged=*/true).finished);
  EXPECT_TRUE(fs::exists(all.front() + ".damaged"));  // set aside, never the newest again
  EXPECT_EQ(checkpoint_damage(checkpoints_newest_first(run).front()), "");
  const std::string whole = dir.sub("whole");
  EXPECT_TRUE(start(whole, kShort).finished);
  const auto a = read_rows(whole), b = read_rows(run);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i]["step"], b[i]["step"]);
    EXPECT_EQ(a[i]["losses/policy_loss"], b[i]["losses/policy_loss"]) << i;
  }
}

TEST(RunLoop, StaleTempFilesAreRemovedOnResume) {
  TempDir dir("stale");
  const std::string run = dir.sub("r");
  start(run, kShort, /*stop_after=*/1);
  const std::string stale = run + "/checkpoints/update_0000002.pt.tmp.12345.0";
  std::ofstream(stale) << "half a checkpoint";
  ASSERT_TRUE(fs::exists(stale));
  EXPECT_TRUE(resume(run).finished);
  EXPECT_FALSE(fs::exists(stale));
}

TEST(RunLoop, RunWithoutCheckpointStartsAgain) {
  TempDir dir("nockpt");
  const std::string run = dir.sub("r");
  start(run, kShort, /*stop_after=*/1);
  fs::remove_all(run + "/checkpoints");  // as if killed before its first checkpoint
  // `train --out` the same directory starts it again in place...
  EXPECT_TRUE(start(run, kShort).finished);
  const auto rows = read_rows(run);
  EXPECT_EQ(rows.size(), 4u);  // 2048 steps / 512 per update, no rows of the first attempt
  // ... and so does `resume`.
  fs::remove_all(run + "/checkpoints");
  EXPECT_TRUE(resume(run).finished);
  EXPECT_EQ(read_rows(run).size(), 4u);
  // A directory with a checkpoint is refused by `train --out`.
  EXPECT_NE(message_of([&] { start(run, kShort); }).find("rlpp resume"), std::string::npos);
}

TEST(RunLoop, ResumeRefusesChangesToWhatTheCheckpointHolds) {
  TempDir dir("resume-set");
  const std::string run = dir.sub("r");
  start(run, kShort, /*stop_after=*/1);
  const std::string m = message_of([&] { resume(run, false, {"policy.hidden=[32]"}); });
  EXPECT_NE(m.find("policy.hidden"), std::string::npos) << m;
  EXPECT_NE(message_of([&] { resume(run, false, {"env.name=\"Acrobot-v1\""}); }).find("env.name"), std::string::npos);
  // What a resume may change: the length of the run.
  EXPECT_TRUE(resume(run, false, {"run.total_steps=2560"}).finished);
  EXPECT_EQ(read_rows(run).size(), 5u);
}

// The default control update is gae at ppo's settings and PPO's clip at ppo.clip_coef; naming the
// same components in [advantage] and [objective] gives the same numbers, bit for bit.
TEST(RunLoop, ControlRecipesReachTheRegistries) {
  TempDir dir("registries");
  const std::vector<std::string> base = {"run.total_steps=2048", "policy.backend=\"torch\""};
  EXPECT_TRUE(start(dir.sub("default"), base).finished);
  std::vector<std::string> named = base;
  for (const char* s : {"advantage.name=\"gae\"", "advantage.gamma=0.99", "advantage.lambda=0.95",
                        "objective.name=\"ppo_clip\"", "objective.eps_low=0.2", "objective.eps_high=0.2"}) {
    named.push_back(s);
  }
  EXPECT_TRUE(start(dir.sub("named"), named).finished);
  const auto a = read_rows(dir.sub("default")), b = read_rows(dir.sub("named"));
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    for (const char* k : {"losses/policy_loss", "losses/value_loss", "losses/approx_kl", "charts/episodic_return"}) {
      EXPECT_EQ(a[i][k], b[i][k]) << k << " row " << i;
    }
  }
  // Another estimator and another objective run (Monte-Carlo returns, CISPO's capped weights).
  std::vector<std::string> other = base;
  other.push_back("advantage.name=\"mc\"");
  other.push_back("objective.name=\"cispo\"");
  EXPECT_TRUE(start(dir.sub("other"), other).finished);
  const auto c = read_rows(dir.sub("other"));
  ASSERT_EQ(c.size(), a.size());
  EXPECT_NE(c.back()["losses/policy_loss"], a.back()["losses/policy_loss"]);
  // The resolved recipe records the components with every option.
  const toml::table recorded = toml::parse_file(dir.sub("other") + "/recipe.toml");
  EXPECT_EQ(recorded["advantage"]["name"].value_or(std::string()), "mc");
  EXPECT_EQ(recorded["advantage"]["gamma"].value_or(0.0), 0.99);
  EXPECT_EQ(recorded["objective"]["name"].value_or(std::string()), "cispo");
  EXPECT_EQ(recorded["objective"]["eps_max"].value_or(0.0), 5.0);
  EXPECT_TRUE(recorded["objective"]["min_ratio"]);
  // The fast backend implements PPO's clip only, and says so before anything is written.
  std::vector<std::string> fast = {"run.total_steps=2048", "policy.backend=\"fast\"", "objective.name=\"cispo\""};
  const std::string m = message_of([&] { start(dir.sub("fast"), fast); });
  EXPECT_NE(m.find("policy.backend"), std::string::npos) << m;
  EXPECT_FALSE(fs::exists(dir.sub("fast")));
}

TEST(RunLoop, ErrorsNameTheKeyOrOption) {
  TempDir dir("keys");
  const std::string m = message_of([&] { start(dir.sub("r"), {"env.name=\"CartPol-v1\""}); });
  EXPECT_NE(m.find("env.name"), std::string::npos) << m;
  EXPECT_NE(m.find("CartPole-v1"), std::string::npos) << m;  // the valid ids are listed
  // The earlier key env.id is refused, naming the one that replaced it.
  const std::string moved = message_of([&] { start(dir.sub("id"), {"env.id=\"CartPole-v1\""}); });
  EXPECT_NE(moved.find("env.name"), std::string::npos) << moved;
  EXPECT_FALSE(fs::exists(dir.sub("id")));
  // --samples-out is checked before any evaluation runs.
  EvalRequest req;
  req.samples_path = "/nonexistent-rlpp-dir/samples.jsonl";
  const std::string e = message_of([&] { evaluate_run(dir.sub("no-such-run"), req); });
  EXPECT_NE(e.find("--samples-out"), std::string::npos) << e;
}

}  // namespace
}  // namespace rlpp::train
