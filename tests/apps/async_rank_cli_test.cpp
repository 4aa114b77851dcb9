// The rollout worker as a separate rank (rl.rollout_worker = "rank", train/lm/remote_rollouts.h)
// through the `rlpp` program: `rlpp launch --nproc-per-node 2` runs the learner on rank 0 and the
// worker on rank 1. The schedule (batch k from version max(0, k − s)) is the thread worker's, so the
// rank run must log the thread run's rows (every value but the timings, perf/*) and export a
// byte-identical model; runs split by checkpoints and resumed by either worker kind log the same
// rows; the combinations it does not support exit with code 2.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/cli_util.h"
#include "common/ranks.h"
#include "rlpp/train/checkpoint.h"
#include "rlpp/train/lm/remote_rollouts.h"

namespace rlpp::testing::async_rank {

std::string launch(int nproc = 2) {
  return "launch --nproc-per-node " + std::to_string(nproc) + " --grace 5 --master-port " +
         std::to_string(free_port()) + " -- ";
}

// 5 steps at s = 2 (steps 0, 1, 2 from version 0, then 1, 2), the mismatch meter every other batch,
// an importance-weight selector, an evaluation every 2 steps (on the learner only).
std::string recipe(const TempDir& dir) {
  const std::string path = dir.sub("async.toml");
  std::ofstream(path)
      << "[run]\nalgorithm = \"rlvr\"\nseed = 3\ntorch_threads = 1\ntotal_steps = 5\ncheckpoint_every = 1\n"
         "[data]\nsource = \"task\"\neval_examples = 8\n"
         "[task]\nname = \"arithmetic\"\nmax_digits = 1\n"
         "[model]\nhidden_size = 32\nnum_hidden_layers = 1\nnum_attention_heads = 2\nnum_key_value_heads = 1\n"
         "intermediate_size = 64\nmax_position_embeddings = 64\n"
         "[[samplers]]\nname = \"temperature\"\n[sample]\nmax_new_tokens = 6\nnum_return_sequences = 4\n"
         "[advantage]\nname = \"grpo\"\n[objective]\nname = \"ppo_clip\"\n"
         "[[selectors]]\nname = \"tis_token\"\ncap = 2.0\n"
         "[reward]\ncorrect_weight = 0\nformat_weight = 1\n"
         "[rl]\nprompts_per_step = 4\nmini_batches = 2\nlearning_rate = 3e-3\nmax_staleness = 2\n"
         "mismatch_every = 2\neval_every = 2\naccuracy_examples = 4\n";
  return path;
}

// metrics.jsonl, each row without its wall-clock columns (perf/*): what must not depend on timing.
std::vector<nlohmann::json> rows_without_timings(const std::string& run) {
  std::ifstream in(run + "/metrics.jsonl");
  std::vector<nlohmann::json> rows;
  for (std::string line; std::getline(in, line);) {
    nlohmann::json j = nlohmann::json::parse(line), kept = nlohmann::json::object();
    for (const auto& [k, v] : j.items()) {
      if (k.rfind("perf/", 0) != 0) kept[k] = v;
    }
    rows.push_back(kept);
  }
  return rows;
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The worker's batches per iteration, by hand (s = 2, 5 steps): a fresh start queues 0 and 1, then
// step k makes k + 2 until the limit; a thread checkpoint at step 2 whose worker had already made
// batch 4 (next = 5) needs nothing; a synchronous checkpoint at step 2 (next = 2) needs 2 and 3.
TEST(AsyncRankSchedule, BatchesOfEachIteration) {
  using train::lm::worker_batches;
  const auto range = [](train::lm::BatchRange b) { return std::vector<int64_t>{b.begin, b.end}; };
  EXPECT_EQ(range(worker_batches(0, 0, 2, 5, /*before_first=*/true)), (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(range(worker_batches(0, 2, 2, 5, false)), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(range(worker_batches(2, 4, 2, 5, false)), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(range(worker_batches(3, 5, 2, 5, false)), (std::vector<int64_t>{5, 5}));
  EXPECT_EQ(range(worker_batches(2, 5, 2, 5, true)), (std::vector<int64_t>{5, 5}));
  EXPECT_EQ(range(worker_batches(2, 2, 2, 10, true)), (std::vector<int64_t>{2, 4}));
}

TEST(AsyncRankCli, TheRankWorkerLogsTheThreadWorkersRowsAndExportsTheSameModel) {
  TempDir dir("async-rank");
  const std::string r = recipe(dir);
  const Result thread = run_cli("train " + r + " --quiet --out " + dir.sub("thread"), dir);
  ASSERT_EQ(thread.code, 0) << thread.err;
  const Result rank =
      run_cli(launch() + "train " + r + " --set rl.rollout_worker=rank --quiet --out " + dir.sub("rank"), dir);
  ASSERT_EQ(rank.code, 0) << rank.err;
  const auto want = rows_without_timings(dir.sub("thread"));
  ASSERT_EQ(want.size(), 6u);  // the evaluation at step 0, then 5 steps
  EXPECT_EQ(rows_without_timings(dir.sub("rank")), want);
  // The schedule itself, from the rows: step t trains batch t, sampled from version max(0, t − 2).
  for (int t = 0; t < 5; ++t) EXPECT_EQ(want[static_cast<size_t>(t + 1)]["async/sampled_version"], std::max(0, t - 2));
  EXPECT_TRUE(want[5].contains("eval/accuracy")) << want[5].dump();
  const std::string model = "/model/model.safetensors";
  const std::string a = file_bytes(dir.sub("thread") + model), b = file_bytes(dir.sub("rank") + model);
  EXPECT_FALSE(a.empty());
  EXPECT_TRUE(a == b) << "the exported models differ";
  // The worker's copy of the weights equals the learner's at every checkpoint (rank 0 refuses to
  // write one otherwise); the bytes moved are logged.
  train::CheckpointReader last(dir.sub("rank") + "/checkpoints/update_0000005.pt");
  EXPECT_EQ(last.get_bytes("replica.0"), last.get_bytes("replica.1"));
  std::ifstream in(dir.sub("rank") + "/metrics.jsonl");
  std::string line;
  std::getline(in, line);  // the evaluation row
  std::getline(in, line);
  const auto first = nlohmann::json::parse(line);
  EXPECT_GT(first["perf/remote_weight_bytes"].get<double>(), 4.0 * 32 * 32);  // at least the attention
  EXPECT_GT(first["perf/remote_batch_bytes"].get<double>(), 100.0);
}

// A run split by checkpoints into four parts, each with a worker kind: thread, rank, rank, thread
// (a thread checkpoint resumed by the rank worker, a rank checkpoint by the rank worker and one by
// the thread worker). It logs the uninterrupted run's rows.
TEST(AsyncRankCli, ARunSplitByCheckpointsResumesWithEitherWorker) {
  TempDir dir("async-rank");
  const std::string r = recipe(dir);
  const Result whole = run_cli("train " + r + " --quiet --out " + dir.sub("whole"), dir);
  ASSERT_EQ(whole.code, 0) << whole.err;
  const std::string out = dir.sub("split"), rank = " --set rl.rollout_worker=rank";
  for (const std::string& part : {"train " + r + " --stop-after-updates 1 --out " + out,  //
                                  launch() + "resume " + out + rank + " --stop-after-updates 1",
                                  launch() + "resume " + out + " --stop-after-updates 2",
                                  "resume " + out + " --set rl.rollout_worker=thread"}) {
    const Result res = run_cli(part + " --quiet", dir);
    ASSERT_EQ(res.code, 0) << part << "\n" << res.err;
  }
  EXPECT_EQ(rows_without_timings(out), rows_without_timings(dir.sub("whole")));
}

// One process, one process at s = 0, partial rollouts, three processes: exit code 2 with the reason.
TEST(AsyncRankCli, UnsupportedCombinationsExitWith2) {
  TempDir dir("async-rank");
  const std::string r = recipe(dir) + " --set rl.rollout_worker=rank --quiet";
  const Result one = run_cli("train " + r + " --out " + dir.sub("one"), dir);
  EXPECT_EQ(one.code, 2);
  EXPECT_NE(one.err.find("needs exactly 2 processes"), std::string::npos) << one.err;
  const Result sync = run_cli("train " + r + " --set rl.max_staleness=0 --out " + dir.sub("sync"), dir);
  EXPECT_EQ(sync.code, 2);
  EXPECT_NE(sync.err.find("needs rl.max_staleness > 0"), std::string::npos) << sync.err;
  const Result partial = run_cli("train " + r + " --set rl.partial_rollouts=true --set rl.partial_chunk_tokens=2 " +
                                     "--out " + dir.sub("partial"), dir);
  EXPECT_EQ(partial.code, 2);
  EXPECT_NE(partial.err.find("does not support rl.partial_rollouts"), std::string::npos) << partial.err;
  const Result three = run_cli(launch(3) + "train " + r + " --out " + dir.sub("three"), dir);
  EXPECT_EQ(three.code, 2);
  EXPECT_NE(three.err.find("this run has 3"), std::string::npos) << three.err;
}

}  // namespace rlpp::testing::async_rank
