// `rlpp dataset collect / info / merge` through the program: a random-policy CartPole dataset
// checked row by row against the environment's rules, and a collection from a PPO run trained for
// two updates here (the checkpoint's policy is loaded and acts). Needs the built `rlpp` (rlpp_cli).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>

#include "../../apps/cli_util.h"
#include "common/temp_dir.h"
#include "rlpp/train/offline/d4rl_dataset.h"
#include "rlpp/train/offline/episodes.h"

namespace rlpp::train::offline {
namespace {

using rlpp::testing::run_cli;
using rlpp::testing::TempDir;

TEST(DatasetCli, RandomCartPoleCollectInfoAndMerge) {
  TempDir dir("dataset-cli");
  const std::string out = dir / "random.hdf5";
  const auto r = run_cli("dataset collect --env CartPole-v1 --policy random --steps 600 --seed 3 --quiet --out " + out, dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const D4rlDataset d = read_d4rl(out);
  ASSERT_EQ(d.size(), 600);
  EXPECT_EQ(d.obs_dim, 4);
  EXPECT_EQ(d.act_dim, 1);
  EXPECT_EQ(d.meta.env_name, "CartPole-v1");
  EXPECT_EQ(d.meta.policy, "random");
  EXPECT_EQ(d.meta.seed, 3);
  int64_t ones = 0;
  for (int64_t i = 0; i < d.size(); ++i) {
    const float a = d.actions[static_cast<size_t>(i)];
    EXPECT_TRUE(a == 0.0f || a == 1.0f);
    ones += a == 1.0f;
    EXPECT_EQ(d.rewards[static_cast<size_t>(i)], 1.0f);  // CartPole pays 1 per step
    // Rows chain: s_{t+1} of a step inside an episode is the next row's s_t.
    if (i + 1 < d.size() && !d.terminals[static_cast<size_t>(i)] && !d.timeouts[static_cast<size_t>(i)]) {
      for (int j = 0; j < 4; ++j) {
        EXPECT_EQ(d.next_observations[static_cast<size_t>(i * 4 + j)], d.observations[static_cast<size_t>((i + 1) * 4 + j)]);
      }
    }
    // A terminal step left the box: |x| > 2.4 or |θ| > 12° (0.2095 rad).
    if (d.terminals[static_cast<size_t>(i)]) {
      const float* s = &d.next_observations[static_cast<size_t>(i * 4)];
      EXPECT_TRUE(std::abs(s[0]) > 2.4f || std::abs(s[2]) > 0.20943952f) << "row " << i;
    }
  }
  EXPECT_GT(ones, 240);  // uniform over {0, 1}: 300 ± 12 expected
  EXPECT_LT(ones, 360);
  const auto eps = split_episodes(d);
  EXPECT_GT(eps.size(), 10u);  // random CartPole episodes last ~22 steps

  const auto info = run_cli("dataset info " + out, dir);
  ASSERT_EQ(info.code, 0) << info.err;
  EXPECT_NE(info.out.find("transitions 600  obs_dim 4  act_dim 1"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("normalized_score"), std::string::npos) << info.out;

  const auto merged = run_cli("dataset merge " + out + " " + out + " --out " + dir.sub("twice.hdf5"), dir);
  ASSERT_EQ(merged.code, 0) << merged.err;
  EXPECT_EQ(read_d4rl(dir / "twice.hdf5").size(), 1200);

  { std::ofstream(dir / "notes.hdf5") << "not a dataset\n"; }
  const auto bad = run_cli("dataset info " + dir.sub("notes.hdf5"), dir);
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("is not an HDF5 file"), std::string::npos) << bad.err;
  const auto wrong_env = run_cli("dataset collect --env NoSuchEnv-v0 --policy random --steps 5 --out " + out, dir);
  EXPECT_EQ(wrong_env.code, 2) << wrong_env.err;
}

TEST(DatasetCli, CollectFromATrainedPpoRun) {
  TempDir dir("dataset-ppo");
  const std::string run = dir / "run";
  // Two updates of 4 copies x 128 steps.
  const auto t = run_cli("train configs/cartpole_ppo.toml --quiet --set run.total_steps=1024 --out " + run, dir);
  ASSERT_EQ(t.code, 0) << t.err;
  const std::string out = dir / "ppo.hdf5";
  const auto c = run_cli("dataset collect --policy " + run + " --steps 300 --seed 5 --deterministic --quiet --out " + out, dir);
  ASSERT_EQ(c.code, 0) << c.err;
  const D4rlDataset d = read_d4rl(out);
  EXPECT_EQ(d.size(), 300);
  EXPECT_EQ(d.meta.env_name, "CartPole-v1");
  EXPECT_NE(d.meta.policy.find("ppo run"), std::string::npos) << d.meta.policy;
  // The same seed and the deterministic policy give the same dataset.
  const auto c2 = run_cli("dataset collect --policy " + run + " --steps 300 --seed 5 --deterministic --quiet --out " +
                              dir.sub("again.hdf5"), dir);
  ASSERT_EQ(c2.code, 0) << c2.err;
  EXPECT_EQ(read_d4rl(dir / "again.hdf5").observations, d.observations);
  const auto mismatch = run_cli("dataset collect --env Hopper-v4 --policy " + run + " --steps 10 --out " + out, dir);
  EXPECT_EQ(mismatch.code, 2);
  EXPECT_NE(mismatch.err.find("does not match the run's environment CartPole-v1"), std::string::npos) << mismatch.err;
}

}  // namespace
}  // namespace rlpp::train::offline
