// The search commands as a user runs them: help with examples, bad input refused with exit code 2
// and a message naming what is wrong.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "apps/cli_util.h"
#include "common/temp_dir.h"

using rlpp::testing::Result;
using rlpp::testing::run_cli;
using rlpp::testing::TempDir;

TEST(SearchCli, HelpOfEachSearchCommandHasAnExample) {
  TempDir dir("search_cli");
  for (const std::string sub : {"search-eval", "expert-data", "mcts-dpo", "rm-bon"}) {
    const Result r = run_cli(sub + " --help", dir);
    EXPECT_EQ(r.code, 0) << sub;
    EXPECT_NE(r.out.find("Example"), std::string::npos) << sub << ": " << r.out;
  }
}

TEST(SearchCli, MissingRunOrModelIsAUserError) {
  TempDir dir("search_cli");
  const std::string missing = dir.sub("no-such-run");
  Result r = run_cli("search-eval " + missing + " --out " + dir.sub("o"), dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no-such-run"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("recipe.toml"), std::string::npos) << r.err;

  // A run directory whose training never finished: a recipe but no model/.
  const std::string run = dir.sub("unfinished");
  std::filesystem::create_directories(run);
  std::ofstream(run + "/recipe.toml") << "[run]\nalgorithm = \"lm\"\n[data]\nsource = \"task\"\n";
  r = run_cli("expert-data " + run + " --out " + dir.sub("x.jsonl"), dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("has no model/"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.sub("x.jsonl")));  // nothing half-written
}

TEST(SearchCli, BadOptionsAreRefused) {
  TempDir dir("search_cli");
  EXPECT_EQ(run_cli("mcts-dpo runs/x", dir).code, 2);  // --out is required
  EXPECT_EQ(run_cli("rm-bon runs/x --out o --samples 1", dir).code, 2);
  EXPECT_EQ(run_cli("search-eval runs/x --problems 0", dir).code, 2);
}

TEST(SearchCli, SearchTrainersAreListedAndBadRecipesRefused) {
  TempDir dir("search_cli");
  const Result list = run_cli("list algorithms", dir);
  EXPECT_EQ(list.code, 0);
  for (const char* a : {"mcts_dpo", "mcts_value", "search_pg"}) EXPECT_NE(list.out.find(a), std::string::npos) << a;
  // An unknown DPO loss in a search recipe: exit 2 naming the key, nothing written.
  const std::string recipe = dir.sub("bad.toml");
  std::ofstream(recipe) << "[run]\nalgorithm = \"mcts_dpo\"\n[data]\nsource = \"task\"\n"
                        << "[dpo]\nloss = \"kto\"\n";
  const Result r = run_cli("train " + recipe + " --out " + dir.sub("run"), dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("loss"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.sub("run") + "/recipe.toml"));
}

TEST(SearchCli, UnknownSearchEvalMethodIsAUserError) {
  TempDir dir("search_cli");
  const std::string run = dir.sub("run");
  std::filesystem::create_directories(run + "/model");
  std::ofstream(run + "/recipe.toml") << "[run]\nalgorithm = \"lm\"\n[data]\nsource = \"task\"\n";
  const Result r = run_cli("search-eval " + run + " --methods greedy,mtcs --out " + dir.sub("o"), dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("mtcs"), std::string::npos) << r.err;
}
