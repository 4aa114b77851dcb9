// [record] (offline/rollout_recorder.h): a PPO run on Pendulum-v1 (2 copies, time limit 200, never
// terminal) records exactly the transitions it stepped — every row against Gymnasium's Pendulum
// dynamics and reward re-derived here in double, each copy's episodes contiguous, the timeouts
// where the time limit falls — and a split run resumed from its checkpoint writes the same file,
// row for row, as the run in one go (nothing lost, nothing repeated).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>

#include "rlpp/core/error.h"
#include "rlpp/train/offline/d4rl_dataset.h"
#include "rlpp/train/run.h"
#include "common/temp_dir.h"

namespace rlpp::train::offline {
namespace {

using rlpp::testing::TempDir;

// Gymnasium's Pendulum from observation (cos θ, sin θ, θ̇) and torque u: next observation and reward
// −(θ² + 0.1 θ̇² + 0.001 u²) with θ normalised to [−π, π) (g = 10, m = l = 1, dt = 0.05).
void recorder_pendulum(const float* o, double u, double* next, double* reward) {
  const double th = std::atan2(static_cast<double>(o[1]), static_cast<double>(o[0]));
  *reward = -(th * th + 0.1 * o[2] * o[2] + 0.001 * u * u);
  double thdot = o[2] + (3.0 * 10.0 / 2.0 * std::sin(th) + 3.0 * u) * 0.05;
  thdot = std::clamp(thdot, -8.0, 8.0);
  const double nth = th + thdot * 0.05;
  next[0] = std::cos(nth);
  next[1] = std::sin(nth);
  next[2] = thdot;
}

// Updates of 64 steps x 2 copies (128 transitions each).
std::string recorder_recipe(const TempDir& dir, const std::string& name, int total_steps) {
  const std::string path = dir.sub(name + ".toml");
  std::ofstream(path) << "[run]\nalgorithm = \"ppo\"\ntotal_steps = " << total_steps << "\nseed = 3\n"
                      << "[env]\nname = \"Pendulum-v1\"\nnum_envs = 2\n"
                      << "[ppo]\nnum_steps = 64\nnum_minibatches = 4\nupdate_epochs = 2\nnormalize_obs = true\n"
                      << "[record]\npath = \"" << dir.sub(name + ".hdf5") << "\"\n";
  return path;
}

RunOutcome recorder_start(const std::string& recipe, const std::string& out, int64_t stop_after) {
  std::atomic<bool> stop{false};
  StartRequest req;
  req.recipe_path = recipe;
  req.out_dir = out;
  req.stop_after_updates = stop_after;
  req.quiet = true;
  return start_run(req, stop);
}

TEST(RolloutRecorder, RecordsEveryTransitionThePpoRunStepped) {
  TempDir dir("record");
  ASSERT_TRUE(recorder_start(recorder_recipe(dir, "whole", 512), dir.sub("run"), 0).finished);
  const D4rlDataset d = read_d4rl(dir.sub("whole.hdf5"));
  ASSERT_EQ(d.size(), 512);
  ASSERT_EQ(d.obs_dim, 3);
  ASSERT_EQ(d.act_dim, 1);
  EXPECT_EQ(d.meta.env_name, "Pendulum-v1");
  // Each copy stepped 256 times: one finished episode (200 rows) each, appended in copy order,
  // then copy 0's unfinished 56 rows (cut: timeout) and copy 1's (left open).
  for (int64_t i = 0; i < d.size(); ++i) {
    const size_t k = static_cast<size_t>(i);
    EXPECT_EQ(d.terminals[k], 0) << "row " << i;
    const bool cut = i == 199 || i == 399 || i == 455;
    EXPECT_EQ(d.timeouts[k], cut ? 1 : 0) << "row " << i;
    EXPECT_GE(d.actions[k], -2.0f);
    EXPECT_LE(d.actions[k], 2.0f);
    double next[3], r = 0;
    recorder_pendulum(&d.observations[k * 3], d.actions[k], next, &r);
    for (int j = 0; j < 3; ++j) EXPECT_NEAR(d.next_observations[k * 3 + j], next[j], 2e-5) << "row " << i;
    EXPECT_NEAR(d.rewards[k], r, 1e-4 * std::max(1.0, std::abs(r))) << "row " << i;
    // Within an episode the rows are consecutive steps of one copy.
    if (!cut && i + 1 < d.size()) {
      for (int j = 0; j < 3; ++j) EXPECT_EQ(d.next_observations[k * 3 + j], d.observations[(k + 1) * 3 + j]) << "row " << i;
    }
  }
  // The two copies' episodes start from different resets (seeds 3 and 4).
  EXPECT_NE(d.observations[0], d.observations[200 * 3]);
}

TEST(RolloutRecorder, SplitRunResumesWithoutLosingOrRepeatingRows) {
  TempDir dir("record_resume");
  // 6 updates: each copy steps 384 times; the split after 4 (256 each) falls inside both copies'
  // second episodes, which the checkpoint must carry.
  ASSERT_TRUE(recorder_start(recorder_recipe(dir, "whole", 768), dir.sub("whole_run"), 0).finished);
  const std::string split = recorder_recipe(dir, "split", 768);
  ASSERT_FALSE(recorder_start(split, dir.sub("split_run"), /*stop_after=*/4).finished);
  // At the split the file holds the finished episodes only (2 x 200 rows).
  EXPECT_EQ(read_d4rl(dir.sub("split.hdf5")).size(), 400);
  std::atomic<bool> stop{false};
  ASSERT_TRUE(resume_run(dir.sub("split_run"), {}, 0, true, stop).finished);
  const D4rlDataset a = read_d4rl(dir.sub("whole.hdf5")), b = read_d4rl(dir.sub("split.hdf5"));
  ASSERT_EQ(a.size(), 768);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(a.observations, b.observations);
  EXPECT_EQ(a.actions, b.actions);
  EXPECT_EQ(a.rewards, b.rewards);
  EXPECT_EQ(a.next_observations, b.next_observations);
  EXPECT_EQ(a.terminals, b.terminals);
  EXPECT_EQ(a.timeouts, b.timeouts);
}

TEST(RolloutRecorder, RefusesAnEmptyPath) {
  TempDir dir("record_bad");
  const std::string path = dir.sub("bad.toml");
  std::ofstream(path) << "[run]\nalgorithm = \"ppo\"\ntotal_steps = 512\n[env]\nname = \"Pendulum-v1\"\n"
                      << "[ppo]\nnum_steps = 64\n[record]\npath = \"\"\n";
  EXPECT_THROW(recorder_start(path, dir.sub("run"), 0), core::UserError);
}

}  // namespace
}  // namespace rlpp::train::offline
