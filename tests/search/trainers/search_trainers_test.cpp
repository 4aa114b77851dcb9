// The learning-from-search trainers as `rlpp train` algorithms on a tiny fresh model: each runs,
// logs its metrics, and a run split in two (stop after one round, resume) ends bit-identical to
// the unsplit run (the same exported weights, the same metrics), on CPU.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "rlpp/core/error.h"
#include "rlpp/search/trainers/trainers.h"
#include "rlpp/train/run.h"
#include "core/test_util.h"

using namespace rlpp;

namespace {

const char* kBase = R"([run]
seed = 3
total_steps = 2
torch_threads = 1

[data]
source = "task"
eval_examples = 8

[task]
name = "arithmetic"
min_digits = 1
max_digits = 1
ops = "+"

[model]
hidden_size = 16
num_hidden_layers = 1
num_attention_heads = 2
num_key_value_heads = 1
intermediate_size = 32
max_position_embeddings = 128
tie_word_embeddings = true

[search]
problems = 3
max_step_tokens = 6
accuracy_examples = 4
max_new_tokens = 16
learning_rate = 1e-2

[mcts]
num_children = 3
iterations = 3
root_multiplier = 1
max_depth = 3
)";

std::string start(const test::TempDir& tmp, const std::string& name, const std::string& text, int64_t stop_after,
                  std::vector<std::string> overrides = {}) {
  const std::string in = tmp / (name + ".toml");
  test::write_plain(in, text);
  train::StartRequest req;
  req.recipe_path = in;
  req.out_dir = tmp / name;
  req.quiet = true;
  req.stop_after_updates = stop_after;
  req.overrides = std::move(overrides);
  std::atomic<bool> stop{false};
  return train::start_run(req, stop).run_dir;
}

// The learning metrics of each metrics.jsonl row (timing and throughput left out), as text.
std::vector<std::string> learning_rows(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::vector<std::string> rows;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    std::ostringstream s;
    for (const auto& [k, v] : j.items())
      if (k.rfind("perf/", 0) != 0 && k.find("time") == std::string::npos && k.find("seconds") == std::string::npos)
        s << k << "=" << v.dump() << " ";
    rows.push_back(s.str());
  }
  return rows;
}

double last(const std::string& run_dir, const std::string& key) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  double v = std::nan("");
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains(key) && j[key].is_number()) v = j[key].get<double>();
  }
  return v;
}

void expect_split_equals_unsplit(const std::string& algorithm, const std::string& sections) {
  torch::set_num_threads(1);
  search::register_trainers();
  test::TempDir tmp;
  std::string text = kBase;
  text.replace(text.find("[run]\n"), 6, "[run]\nalgorithm = \"" + algorithm + "\"\n");
  text += sections;
  const std::string whole = start(tmp, "whole", text, 0);
  const std::string split = start(tmp, "split", text, 1);
  EXPECT_FALSE(std::filesystem::exists(split + "/model/model.safetensors"));  // stopped after round 1
  std::atomic<bool> stop{false};
  EXPECT_TRUE(train::resume_run(split, {}, 0, true, stop).finished);
  EXPECT_EQ(test::slurp(whole + "/model/model.safetensors"), test::slurp(split + "/model/model.safetensors"));
  const auto a = learning_rows(whole), b = learning_rows(split);
  ASSERT_EQ(a.size(), 3u);  // step 0 evaluation, rounds 1 and 2
  EXPECT_EQ(a, b);
}

}  // namespace

TEST(SearchTrainers, MctsDpoSplitRunEqualsUnsplit) {
  expect_split_equals_unsplit("mcts_dpo", "\n[dpo]\nloss = \"ipo\"\nmin_gap = 0.5\nepochs = 2\nbatch_pairs = 4\n");
}

TEST(SearchTrainers, SearchPgSplitRunEqualsUnsplit) {
  expect_split_equals_unsplit("search_pg",
                              "\n[pg]\nadvantage_source = \"q\"\nmini_batches = 2\n[objective]\nname = \"ppo_clip\"\n");
}

// The potential-shaped advantages (tree values as φ) and the learning-rate warm-up of the shared
// policy update, through a split run.
TEST(SearchTrainers, SearchPgPotentialSourceSplitRunEqualsUnsplit) {
  expect_split_equals_unsplit("search_pg", "\n[pg]\nadvantage_source = \"potential\"\ngamma = 0.9\nlr_warmup_steps = 2\n"
                                           "[objective]\nname = \"ppo_clip\"\n");
}

TEST(SearchTrainers, MctsValueSplitRunEqualsUnsplit) {
  expect_split_equals_unsplit("mcts_value",
                              "\n[value]\nepochs = 2\nbatch_size = 8\neval_trees = 2\neval_beam_problems = 2\n");
}

TEST(SearchTrainers, RoundsLearnSomething) {
  // Non-vacuous: the tiny searches give pairs, solutions and value targets, and the losses move.
  torch::set_num_threads(1);
  search::register_trainers();
  test::TempDir tmp;
  std::string text = kBase;
  text.replace(text.find("[run]\n"), 6, "[run]\nalgorithm = \"mcts_value\"\n");
  text += "\n[value]\nepochs = 4\nbatch_size = 8\neval_trees = 2\neval_beam_problems = 2\nhead_learning_rate = 0.05\n";
  const std::string dir = start(tmp, "value", text, 0);
  EXPECT_GT(last(dir, "value/targets"), 3.0);
  EXPECT_LT(last(dir, "value/mse_last"), last(dir, "value/mse_first"));
  EXPECT_FALSE(std::isnan(last(dir, "value/heldout_mse")));
  EXPECT_FALSE(std::isnan(last(dir, "beam/value_accuracy")));
}

TEST(SearchTrainers, BadSectionsAreUserErrors) {
  search::register_trainers();
  test::TempDir tmp;
  std::string text = kBase;
  text.replace(text.find("[run]\n"), 6, "[run]\nalgorithm = \"mcts_dpo\"\n");
  test::expect_user_error([&] { start(tmp, "a", text + "\n[dpo]\nloss = \"kto\"\n", 0); }, {"loss", "kto"});
  test::expect_user_error([&] { start(tmp, "b", text + "\n[dpo]\nloss = \"ipo\"\nlabel_smoothing = 0.1\n", 0); },
                          {"label_smoothing"});
  test::expect_user_error([&] { start(tmp, "c", text, 0, {"mcts.widening_alpha=2.0"}); }, {"widening_alpha"});
  test::expect_user_error([&] { start(tmp, "d", text + "\n[pg]\nppo_epochs = 2\n", 0); }, {"pg"});
}
