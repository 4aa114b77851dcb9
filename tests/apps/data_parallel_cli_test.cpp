// Data-parallel runs of the `rlpp` program on loopback, as users start them: `rlpp launch`, or
// torchrun's variables set by hand (as python3 -m torch.distributed.run sets them). Checked: the
// ranks' weights agree at every checkpoint (rank 0 compares their checksums, stored per rank); a
// 2-rank run stopped and resumed logs the rows of the uninterrupted run; a checkpoint of 2 ranks is
// refused by 1; a killed or stopped rank ends the others within the timeout with a clear error,
// and the newest checkpoint loads; different recipes across ranks, and algorithms that do not train
// data-parallel, are refused.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <vector>

#include "apps/cli_util.h"
#include "common/ranks.h"
#include "rlpp/train/checkpoint.h"

namespace rlpp::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const std::string kTrain = "train configs/cartpole_ppo.toml --quiet --set run.checkpoint_every=1";

std::string launch(int port) { return "launch --nproc-per-node 2 --grace 5 --master-port " + std::to_string(port) + " -- "; }

// torchrun's variables for `rank` of 2 on loopback.
std::string rank_env(int rank, int port) {
  return "RANK=" + std::to_string(rank) + " WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " ";
}

int shell(const std::string& line) {
  const int status = std::system(("cd " + std::string(RLPP_SOURCE_DIR) + " || exit 99; " + line).c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Shell: waits (at most 60 s) until `file` exists and is not empty.
std::string wait_for(const std::string& file) {
  return "for i in $(seq 600); do [ -s " + file + " ] && break; sleep 0.1; done; ";
}

// metrics.jsonl without the wall-clock columns (steps per second, the share of time in collectives)
std::vector<std::string> rows_without_sps(const std::string& run) {
  std::ifstream in(run + "/metrics.jsonl");
  std::vector<std::string> rows;
  const std::regex sps(R"re("(charts/SPS|perf/comm_share)":[^,}]*,?)re");
  for (std::string line; std::getline(in, line);) rows.push_back(std::regex_replace(line, sps, ""));
  return rows;
}

// `train` (the recipe and its overrides) on 2 ranks for 4 updates: the checkpoint's weight
// checksums agree, and a run stopped after 2 updates and resumed logs the uninterrupted run's rows.
void expect_agreement_and_resume(const std::string& train, const TempDir& dir) {
  const std::string steps = " --set run.total_steps=4096";  // 4 updates of 2 ranks x 4 copies x 128 steps
  const Result whole = run_cli(launch(free_port()) + train + steps + " --out " + dir.sub("whole"), dir);
  ASSERT_EQ(whole.code, 0) << whole.err;
  {
    train::CheckpointReader r(dir.sub("whole") + "/checkpoints/update_0000004.pt");
    EXPECT_EQ(r.get_int("world_size"), 2);
    const std::string r0 = r.get_bytes("replica.0"), r1 = r.get_bytes("replica.1");
    EXPECT_FALSE(r0.empty());
    EXPECT_EQ(r0, r1);  // bit-identical weights (rank 0 also refuses to checkpoint when they differ)
    EXPECT_NE(r.get_bytes("rank_state.0"), r.get_bytes("rank_state.1"));  // each rank's own environments
  }
  const std::vector<std::string> want = rows_without_sps(dir.sub("whole"));
  ASSERT_EQ(want.size(), 4u);
  EXPECT_NE(want[0].find("\"step\":1024"), std::string::npos) << want[0];  // steps of both ranks

  const Result first = run_cli(launch(free_port()) + train + steps + " --stop-after-updates 2 --out " + dir.sub("split"), dir);
  ASSERT_EQ(first.code, 0) << first.err;
  const Result rest = run_cli(launch(free_port()) + "resume " + dir.sub("split") + " --quiet", dir);
  ASSERT_EQ(rest.code, 0) << rest.err;
  EXPECT_EQ(rows_without_sps(dir.sub("split")), want);
}

TEST(DataParallelCli, TwoRanksAgreeAndAResumedRunLogsTheRowsOfTheUninterruptedOne) {
  TempDir dir("dp-cli");
  expect_agreement_and_resume(kTrain, dir);
  // one process cannot take over the environments of two
  const Result single = run_cli("resume " + dir.sub("whole") + " --set run.total_steps=8192 --quiet", dir);
  EXPECT_EQ(single.code, 2);
  EXPECT_NE(single.err.find("was written by a run of 2 rank(s); resume it with 2"), std::string::npos) << single.err;
}

// PROPS with both normalisers: per-rank buffers and behaviour policies, statistics merged per rollout.
TEST(DataParallelCli, PropsWithNormalisersAgreesAndResumes) {
  TempDir dir("dp-props");
  expect_agreement_and_resume(kTrain + " --set run.algorithm=\"props\" --set props.behavior_every=256"
                                       " --set ppo.normalize_obs=true --set ppo.normalize_reward=true",
                              dir);
}

TEST(DataParallelCli, TorchrunVariablesWorkAndAKilledRankEndsTheRunWithinTheTimeout) {
  TempDir dir("dp-kill");
  const int port = free_port();
  const std::string run = " configs/cartpole_ppo.toml --quiet --set run.total_steps=100000000 --set run.checkpoint_every=2"
                          " --dist-timeout 10 --out " + dir.sub("run");
  const std::string cli = RLPP_CLI;
  const auto t0 = Clock::now();
  // rank 1 is killed (SIGKILL) once the first checkpoint exists (both ranks joined and trained);
  // rank 0 must not wait for it past the timeout
  const int code = shell("(" + rank_env(1, port) + cli + " train" + run + " >/dev/null 2>&1 & p=$!; " +
                         wait_for(dir.sub("run") + "/checkpoints/update_0000002.pt") + "kill -KILL $p) & " +
                         rank_env(0, port) + cli + " train" + run + " >" + dir.sub("out0.txt") + " 2>" + dir.sub("err0.txt"));
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  const std::string err = slurp(dir.sub("err0.txt"));
  EXPECT_EQ(code, 2) << err;
  EXPECT_LT(seconds, 40.0);
  EXPECT_NE(err.find("rank 0: "), std::string::npos) << err;
  EXPECT_NE(err.find("another rank died"), std::string::npos) << err;
  // the newest checkpoint (written while both ran) loads
  const Result eval = run_cli("eval " + dir.sub("run") + " --episodes 1", dir);
  EXPECT_EQ(eval.code, 0) << eval.err;
}

// A SIGTERM to the whole process group (a terminal's Ctrl-C, `kill -- -PGID`, a batch scheduler
// signalling every process of a job) reaches each rank twice: directly, and as the copy the launcher
// forwards. That is still one stop request: the ranks finish the update, write a checkpoint and
// exit 0 (before, the second copy took the default action and killed them without a checkpoint).
TEST(DataParallelCli, ASignalToTheWholeProcessGroupStopsTheRanksWithACheckpoint) {
  TempDir dir("dp-group-signal");
  const std::string run = dir.sub("run");
  const std::string cli = RLPP_CLI;
  const int code = shell("setsid " + cli + " " + launch(free_port()) + " train configs/cartpole_ppo.toml --quiet" +
                         " --set run.total_steps=100000000 --out " + run + " >/dev/null 2>" + dir.sub("err.txt") +
                         " & p=$!; " + wait_for(run + "/metrics.jsonl") + "/bin/kill -TERM -- -$p; wait $p");
  const std::string err = slurp(dir.sub("err.txt"));
  EXPECT_EQ(code, 0) << err;
  EXPECT_EQ(err.find("killed by signal"), std::string::npos) << err;
  ASSERT_TRUE(fs::exists(run + "/checkpoints")) << err;
  EXPECT_FALSE(fs::is_empty(run + "/checkpoints")) << err;
}

TEST(DataParallelCli, AHungRankEndsTheRunAfterTheTimeout) {
  TempDir dir("dp-hang");
  const int port = free_port();
  const std::string run = " configs/cartpole_ppo.toml --quiet --set run.total_steps=100000000 --dist-timeout 6 --out " +
                          dir.sub("run");
  const std::string cli = RLPP_CLI;
  const auto t0 = Clock::now();
  // rank 1 stops (SIGSTOP) once rank 0 logged an update (both ranks joined), and is killed once
  // rank 0 had time to give up
  const int code = shell("(" + rank_env(1, port) + cli + " train" + run + " >/dev/null 2>&1 & p=$!; " +
                         wait_for(dir.sub("run") + "/metrics.jsonl") + "kill -STOP $p; sleep 40; kill -KILL $p) " +
                         ">/dev/null 2>&1 & " + rank_env(0, port) + cli + " train" + run + " >/dev/null 2>" +
                         dir.sub("err0.txt"));
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  const std::string err = slurp(dir.sub("err0.txt"));
  EXPECT_EQ(code, 2) << err;
  EXPECT_LT(seconds, 35.0);
  EXPECT_NE(err.find("rank 0: "), std::string::npos) << err;
  EXPECT_NE(err.find("hung past 6 s"), std::string::npos) << err;
}

TEST(DataParallelCli, DifferentRecipesAcrossRanksAndSingleProcessAlgorithmsAreRefused) {
  TempDir dir("dp-refuse");
  const int port = free_port();
  const std::string cli = RLPP_CLI;
  const std::string run = " train configs/cartpole_ppo.toml --quiet --dist-timeout 20 --out " + dir.sub("run");
  const int code = shell("(" + rank_env(1, port) + cli + run + " --set ppo.learning_rate=1e-3 >/dev/null 2>" +
                         dir.sub("err1.txt") + " &) ; " + rank_env(0, port) + cli + run + " 2>" + dir.sub("err0.txt") +
                         " >/dev/null; code=$?; sleep 1; exit $code");
  const std::string err = slurp(dir.sub("err0.txt"));
  EXPECT_EQ(code, 2) << err;
  EXPECT_NE(err.find("the recipe of rank(s) 1 differs from rank 0's"), std::string::npos) << err;
  EXPECT_NE(slurp(dir.sub("err1.txt")).find("differs from rank 0's"), std::string::npos);

  const Result dqn = run_cli(launch(free_port()) + "train configs/cartpole_dqn.toml --quiet --out " + dir.sub("dqn"), dir);
  EXPECT_EQ(dqn.code, 2);
  EXPECT_NE(dqn.err.find("run.algorithm = \"dqn\" does not train data-parallel yet"), std::string::npos) << dqn.err;
}

}  // namespace
}  // namespace rlpp::testing
