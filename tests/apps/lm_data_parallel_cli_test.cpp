// Data-parallel language-model training through the `rlpp` program, 2 ranks on loopback
// (`rlpp launch`): the ranks' weights agree at every checkpoint (rank 0 compares their checksums,
// stored per rank); a 2-rank rlvr run stopped and resumed logs the rows of the uninterrupted run;
// a 2-rank `lm` run logs the losses one process logs for the same recipe (every rank draws the same
// global batch and trains on its share), and its checkpoint resumes with one rank; search_pg agrees
// and resumes like rlvr, and so do mcts_dpo and mcts_value; an rlvr
// checkpoint that holds a batch being reused (each rank's own rows) is refused by another number
// of ranks with the reason.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/cli_util.h"
#include "common/ranks.h"
#include "rlpp/train/checkpoint.h"

namespace rlpp::testing {
namespace {

std::string launch() {
  return "launch --nproc-per-node 2 --grace 5 --master-port " + std::to_string(free_port()) + " -- ";
}

const char* kModel =
    "[data]\nsource = \"task\"\neval_examples = 8\n"
    "[task]\nname = \"arithmetic\"\nmax_digits = 1\n"
    "[model]\nhidden_size = 32\nnum_hidden_layers = 1\nnum_attention_heads = 2\nnum_key_value_heads = 1\n"
    "intermediate_size = 64\nmax_position_embeddings = 64\n";

// Dynamic sampling (the global filter decides which rows every rank keeps), a batch-statistics
// objective, a KL term and a selector.
std::string rlvr_recipe(int reuse_steps) {
  return std::string("[run]\nalgorithm = \"rlvr\"\nseed = 5\ntotal_steps = 4\ncheckpoint_every = 1\n") + kModel +
         "[[samplers]]\nname = \"temperature\"\n[sample]\nmax_new_tokens = 6\nnum_return_sequences = 4\n"
         "[advantage]\nname = \"grpo\"\n[objective]\nname = \"bapo\"\n[kl]\nname = \"fixed\"\ncoef = 0.05\n"
         "[[selectors]]\nname = \"overlong_shaping\"\n"
         "[reward]\ncorrect_weight = 0\nformat_weight = 1\n"
         "[rl]\nprompts_per_step = 5\nmini_batches = 2\nmicro_batch_size = 3\nlearning_rate = 1e-3\n"
         "dynamic_sampling_rounds = 3\neval_every = 2\naccuracy_examples = 4\nreuse_steps = " +
         std::to_string(reuse_steps) + "\n";
}

std::string lm_recipe() {
  return std::string("[run]\nalgorithm = \"lm\"\nseed = 3\ntotal_steps = 4\ncheckpoint_every = 1\n") + kModel +
         "[lm]\nbatch_size = 6\nmicro_batch_size = 2\nseq_len = 32\npack = false\nresponse_only = true\n"
         "learning_rate = 3e-3\nwarmup_steps = 2\neval_every = 0\naccuracy_examples = 0\n";
}

// The learning-from-search trainers: 5 problems a round (shares of 2 and 3), a small search.
std::string search_recipe(const std::string& algorithm, const std::string& own) {
  return "[run]\nalgorithm = \"" + algorithm + "\"\nseed = 2\ntotal_steps = 4\ncheckpoint_every = 1\n" + kModel +
         "[search]\nproblems = 5\nmax_step_tokens = 8\neval_every = 2\naccuracy_examples = 4\nmax_new_tokens = 8\n"
         "[mcts]\nnum_children = 2\niterations = 2\nroot_multiplier = 1\n" + own;
}

std::string write(const TempDir& dir, const std::string& name, const std::string& text) {
  const std::string path = dir.sub(name);
  std::ofstream(path) << text;
  return path;
}

// metrics.jsonl without the wall-clock columns (perf/*).
std::vector<std::string> rows_without_timings(const std::string& run) {
  std::ifstream in(run + "/metrics.jsonl");
  std::vector<std::string> rows;
  const std::regex perf(R"re("perf/[^"]*":[^,}]*,?)re");
  for (std::string line; std::getline(in, line);) rows.push_back(std::regex_replace(line, perf, ""));
  return rows;
}

std::vector<double> column(const std::string& run, const std::string& key) {
  std::ifstream in(run + "/metrics.jsonl");
  std::vector<double> out;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains(key)) out.push_back(j[key].get<double>());
  }
  return out;
}

void expect_replicas_agree(const std::string& checkpoint) {
  train::CheckpointReader r(checkpoint);
  EXPECT_EQ(r.get_int("world_size"), 2);
  const std::string r0 = r.get_bytes("replica.0"), r1 = r.get_bytes("replica.1");
  EXPECT_FALSE(r0.empty());
  EXPECT_EQ(r0, r1);  // bit-identical weights (rank 0 also refuses to checkpoint when they differ)
}

// `recipe` on 2 ranks for 4 rounds: the replicas agree, and a split run logs the unsplit run's rows.
void agree_and_resume(const std::string& recipe, const TempDir& dir) {
  const Result whole = run_cli(launch() + "train " + recipe + " --quiet --out " + dir.sub("whole"), dir);
  ASSERT_EQ(whole.code, 0) << whole.err;
  expect_replicas_agree(dir.sub("whole") + "/checkpoints/update_0000004.pt");
  const std::vector<std::string> want = rows_without_timings(dir.sub("whole"));
  ASSERT_EQ(want.size(), 5u);
  const Result first =
      run_cli(launch() + "train " + recipe + " --quiet --stop-after-updates 2 --out " + dir.sub("split"), dir);
  ASSERT_EQ(first.code, 0) << first.err;
  const Result rest = run_cli(launch() + "resume " + dir.sub("split") + " --quiet", dir);
  ASSERT_EQ(rest.code, 0) << rest.err;
  EXPECT_EQ(rows_without_timings(dir.sub("split")), want);
}

TEST(LmDataParallelCli, RlvrTwoRanksAgreeAndAResumedRunLogsTheRowsOfTheUninterruptedOne) {
  TempDir dir("lm-dp-rlvr");
  agree_and_resume(write(dir, "rlvr.toml", rlvr_recipe(1)), dir);
  // every rank's responses are counted: 5 prompts x 4 per round
  const std::vector<double> generated = column(dir.sub("whole"), "rl/generated_responses");
  ASSERT_FALSE(generated.empty());
  for (double g : generated) EXPECT_EQ(std::fmod(g, 20.0), 0.0) << g;
}

// BAPO (batch statistics) in 2 mini-batches.
TEST(LmDataParallelCli, SearchPgTwoRanksAgreeAndAResumedRunLogsTheRowsOfTheUninterruptedOne) {
  TempDir dir("lm-dp-search");
  agree_and_resume(
      write(dir, "search_pg.toml", search_recipe("search_pg", "[objective]\nname = \"bapo\"\n[pg]\nmini_batches = 2\n")), dir);
}

// Step DPO with the RPO term (global pair and token counts) in batches of 2 pairs.
TEST(LmDataParallelCli, MctsDpoTwoRanksAgreeAndAResumedRunLogsTheRowsOfTheUninterruptedOne) {
  TempDir dir("lm-dp-dpo");
  agree_and_resume(
      write(dir, "mcts_dpo.toml", search_recipe("mcts_dpo", "[dpo]\nbatch_pairs = 2\nnll_weight = 0.5\nmin_gap = 0.1\n")),
      dir);
}

// The value head and the backbone with the SFT term, batches of 4 targets.
TEST(LmDataParallelCli, MctsValueTwoRanksAgreeAndAResumedRunLogsTheRowsOfTheUninterruptedOne) {
  TempDir dir("lm-dp-value");
  agree_and_resume(write(dir, "mcts_value.toml",
                                    search_recipe("mcts_value", "[value]\nbatch_size = 4\nsft_batch_size = 3\n"
                                                                "eval_trees = 2\neval_beam_problems = 2\n")),
                              dir);
}

// AEPO's extra rollouts: each rank's own, for its own prompts, with the term's counts over every rank.
TEST(LmDataParallelCli, RlvrWithAepoTwoRanksAgreeAndAResumedRunLogsTheRowsOfTheUninterruptedOne) {
  TempDir dir("lm-dp-aepo");
  agree_and_resume(write(dir, "rlvr.toml", rlvr_recipe(1) + "[entropy_control]\nname = \"aepo\"\n"), dir);
  const std::vector<double> extra = column(dir.sub("whole"), "rl/extra_rollouts");
  ASSERT_EQ(extra.size(), 4u);
  for (double x : extra) EXPECT_GT(x, 0.0);
}

TEST(LmDataParallelCli, RlvrReusedBatchIsEachRanksOwnAndPinsTheNumberOfRanks) {
  TempDir dir("lm-dp-reuse");
  const std::string recipe = write(dir, "rlvr.toml", rlvr_recipe(2));
  const Result first =
      run_cli(launch() + "train " + recipe + " --quiet --stop-after-updates 1 --out " + dir.sub("run"), dir);
  ASSERT_EQ(first.code, 0) << first.err;
  train::CheckpointReader r(dir.sub("run") + "/checkpoints/update_0000001.pt");
  EXPECT_NE(r.get_bytes("rank_state.0"), r.get_bytes("rank_state.1"));  // each rank's rows of the batch
  const Result single = run_cli("resume " + dir.sub("run") + " --quiet", dir);
  EXPECT_EQ(single.code, 2);
  EXPECT_NE(single.err.find("resume it with 2"), std::string::npos) << single.err;
  EXPECT_NE(single.err.find("it holds the rollouts being reused"), std::string::npos) << single.err;
}

TEST(LmDataParallelCli, LmTwoRanksLogTheLossesOfOneProcessAndResumeWithOne) {
  TempDir dir("lm-dp-lm");
  const std::string recipe = write(dir, "lm.toml", lm_recipe());
  const Result one = run_cli("train " + recipe + " --quiet --out " + dir.sub("one"), dir);
  ASSERT_EQ(one.code, 0) << one.err;
  const Result two = run_cli(launch() + "train " + recipe + " --quiet --out " + dir.sub("two"), dir);
  ASSERT_EQ(two.code, 0) << two.err;
  expect_replicas_agree(dir.sub("two") + "/checkpoints/update_0000004.pt");
  const std::vector<double> a = column(dir.sub("one"), "train/loss"), b = column(dir.sub("two"), "train/loss");
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), 4u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(b[i], a[i], 1e-5 * std::abs(a[i])) << "step " << i + 1;
  EXPECT_EQ(column(dir.sub("one"), "train/target_tokens"), column(dir.sub("two"), "train/target_tokens"));

  // The state of an lm run is shared (every rank draws the same data): one process resumes it.
  const Result split =
      run_cli(launch() + "train " + recipe + " --quiet --stop-after-updates 2 --out " + dir.sub("split"), dir);
  ASSERT_EQ(split.code, 0) << split.err;
  const Result rest = run_cli("resume " + dir.sub("split") + " --quiet", dir);
  ASSERT_EQ(rest.code, 0) << rest.err;
  const std::vector<double> c = column(dir.sub("split"), "train/loss");
  ASSERT_EQ(c.size(), 4u);
  for (size_t i = 0; i < c.size(); ++i) EXPECT_NEAR(c[i], a[i], 1e-5 * std::abs(a[i])) << "step " << i + 1;
}

}  // namespace
}  // namespace rlpp::testing
