// Episodes of a dataset split at terminals | timeouts, their returns against hand sums, D4RL's
// normalised score against hand values, and the reference-returns table (the committed one too).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>

#include "common/temp_dir.h"
#include "rlpp/core/error.h"
#include "rlpp/train/offline/episodes.h"

namespace rlpp::train::offline {
namespace {

using rlpp::testing::TempDir;

// obs_dim 1, act_dim 1; rewards and flags as given.
D4rlDataset flags_dataset(const std::vector<float>& rewards, const std::vector<uint8_t>& term,
                          const std::vector<uint8_t>& tout) {
  D4rlDataset d;
  d.obs_dim = 1;
  d.act_dim = 1;
  const float zero = 0;
  for (size_t i = 0; i < rewards.size(); ++i) d.push(&zero, &zero, rewards[i], &zero, term[i], tout[i]);
  return d;
}

TEST(Episodes, SplitAtTerminalsAndTimeoutsWithAnIncompleteTail) {
  //                      episode 0 (terminal)  episode 1 (timeout)  tail (incomplete)
  const auto d = flags_dataset({1, 2, 3, 0.5f, 0.25f, 10, -1}, {0, 0, 1, 0, 0, 0, 0}, {0, 0, 0, 0, 1, 0, 0});
  const auto eps = split_episodes(d);
  ASSERT_EQ(eps.size(), 3u);
  EXPECT_EQ(eps[0].begin, 0);
  EXPECT_EQ(eps[0].end, 3);
  EXPECT_DOUBLE_EQ(eps[0].ret, 6.0);
  EXPECT_TRUE(eps[0].terminal);
  EXPECT_FALSE(eps[0].timeout);
  EXPECT_EQ(eps[1].begin, 3);
  EXPECT_EQ(eps[1].length(), 2);
  EXPECT_DOUBLE_EQ(eps[1].ret, 0.75);
  EXPECT_TRUE(eps[1].timeout);
  EXPECT_FALSE(eps[2].complete());
  EXPECT_DOUBLE_EQ(eps[2].ret, 9.0);

  const auto s = return_stats(eps);  // over the two complete episodes: 6 and 0.75
  EXPECT_EQ(s.episodes, 2);
  EXPECT_EQ(s.incomplete, 1);
  EXPECT_DOUBLE_EQ(s.mean, 3.375);
  EXPECT_DOUBLE_EQ(s.min, 0.75);
  EXPECT_DOUBLE_EQ(s.max, 6.0);
  EXPECT_DOUBLE_EQ(s.std, 2.625);  // |6 - 3.375| = |0.75 - 3.375| = 2.625
}

TEST(Episodes, EndingOnAFlagLeavesNoTail) {
  const auto eps = split_episodes(flags_dataset({1, 1}, {0, 1}, {0, 0}));
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_TRUE(eps[0].complete());
  EXPECT_EQ(return_stats(split_episodes(flags_dataset({1, 1}, {0, 0}, {0, 0}))).episodes, 0);
}

TEST(Episodes, NormalizedScoreIsD4rlsDefinition) {
  EXPECT_DOUBLE_EQ(normalized_score(-20.0, -20.0, 3000.0), 0.0);
  EXPECT_DOUBLE_EQ(normalized_score(3000.0, -20.0, 3000.0), 100.0);
  EXPECT_DOUBLE_EQ(normalized_score(1490.0, -20.0, 3000.0), 50.0);  // 100 · 1510 / 3020
  EXPECT_DOUBLE_EQ(normalized_score(-322.0, -20.0, 3000.0), -10.0);
  EXPECT_THROW(normalized_score(1.0, 5.0, 5.0), core::UserError);
}

TEST(Episodes, ReferenceTableIsReadAndCheckedAndTheCommittedOneIsValid) {
  TempDir dir("refs");
  { std::ofstream(dir / "ok.toml") << "[\"Hopper-v4\"]\nrandom = -20.5\nexpert = 3000\nnote = \"x\"\n"; }
  const auto t = read_reference_returns(dir / "ok.toml");
  ASSERT_EQ(t.count("Hopper-v4"), 1u);
  EXPECT_DOUBLE_EQ(t.at("Hopper-v4").random, -20.5);
  EXPECT_DOUBLE_EQ(t.at("Hopper-v4").expert, 3000.0);
  { std::ofstream(dir / "no_expert.toml") << "[CartPole-v1]\nrandom = 22\n"; }
  try {
    read_reference_returns(dir / "no_expert.toml");
    ADD_FAILURE();
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("CartPole-v1.expert"), std::string::npos) << e.what();
  }
  { std::ofstream(dir / "bad.toml") << "[CartPole-v1\nrandom = 22\n"; }
  EXPECT_THROW(read_reference_returns(dir / "bad.toml"), core::UserError);
  const auto committed = read_reference_returns(default_reference_returns_path());
  for (const char* env : {"CartPole-v1", "Hopper-v4", "HalfCheetah-v4", "Walker2d-v4"}) {
    EXPECT_EQ(committed.count(env), 1u) << env;
  }
}

}  // namespace
}  // namespace rlpp::train::offline
