// `rlpp mcts-dpo` as a front end of the mcts_dpo trainer: its recipe carries every option to the
// trainer's key (hand values), and a front-end run ends with the same weights and round metrics as
// the trainer started on a recipe written out by hand (both with the default step-reward backup and
// self-evaluation); bad input is refused before anything is written.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "rlpp/core/config.h"
#include "rlpp/core/error.h"
#include "rlpp/search/trainers/mcts_dpo.h"
#include "rlpp/search/trainers/trainers.h"
#include "rlpp/train/run.h"
#include "core/test_util.h"

using namespace rlpp;
namespace fs = std::filesystem;

namespace {

const char* kTask = R"([data]
source = "task"
eval_examples = 8

[task]
name = "arithmetic"
min_digits = 1
max_digits = 1
ops = "+"
)";

const char* kModel = R"([model]
hidden_size = 16
num_hidden_layers = 1
num_attention_heads = 2
num_key_value_heads = 1
intermediate_size = 32
max_position_embeddings = 128
tie_word_embeddings = true
)";

// A finished one-step SFT run of a tiny model on 1-digit addition.
std::string finished_lm_run(const test::TempDir& tmp) {
  const std::string recipe = tmp / "lm.toml";
  test::write_plain(recipe, std::string("[run]\nalgorithm = \"lm\"\nseed = 5\ntotal_steps = 1\ntorch_threads = 1\n\n") +
                                kTask + "\n" + kModel +
                                "\n[lm]\nbatch_size = 4\nmicro_batch_size = 4\nseq_len = 32\nwarmup_steps = 0\n"
                                "eval_every = 0\naccuracy_examples = 4\nmax_new_tokens = 16\n");
  train::StartRequest req;
  req.recipe_path = recipe;
  req.out_dir = tmp / "lm";
  req.quiet = true;
  std::atomic<bool> stop{false};
  train::start_run(req, stop);
  return req.out_dir;
}

search::MctsDpoRequest small_request(const std::string& run, const std::string& out) {
  search::MctsDpoRequest req;
  req.run_dir = run;
  req.out_dir = out;
  req.rounds = 1;
  req.problems = 2;
  req.eval_problems = 4;
  req.epochs = 2;
  req.batch_pairs = 4;
  req.learning_rate = 1e-2;
  req.min_gap = 0.25;
  req.loss = "ipo";
  req.nll_weight = 0.5;
  req.seed = 11;
  req.mcts.num_children = 3;
  req.mcts.iterations = 3;
  req.mcts.root_multiplier = 1;
  req.mcts.max_depth = 3;
  return req;
}

template <class T>
T value_at(const core::Recipe& r, const std::string& section, const std::string& key) {
  const auto v = r.table()[section][key].value<T>();
  EXPECT_TRUE(v.has_value()) << section << "." << key;
  return v.value_or(T{});
}

}  // namespace

TEST(MctsDpoFrontEnd, RecipeCarriesEveryOption) {
  test::TempDir tmp;
  const std::string run = tmp / "run";
  fs::create_directories(run + "/model");
  test::write_plain(run + "/recipe.toml", std::string("[run]\nalgorithm = \"lm\"\n") + kTask + kModel +
                                              "[tokenizer]\npath = \"\"\n");
  const core::Recipe r = core::Recipe::parse(search::mcts_dpo_recipe(small_request(run, tmp / "out")), "front_end.toml");
  EXPECT_EQ(value_at<std::string>(r, "run", "algorithm"), "mcts_dpo");
  EXPECT_EQ(value_at<int64_t>(r, "run", "seed"), 11);
  EXPECT_EQ(value_at<int64_t>(r, "run", "total_steps"), 1);
  EXPECT_EQ(value_at<int64_t>(r, "run", "torch_threads"), 1);
  // the task of the run, held out: eval_problems problems of seed + 1
  EXPECT_EQ(value_at<std::string>(r, "task", "name"), "arithmetic");
  EXPECT_EQ(value_at<int64_t>(r, "data", "eval_examples"), 4);
  EXPECT_EQ(value_at<int64_t>(r, "data", "eval_seed"), 12);
  EXPECT_EQ(value_at<int64_t>(r, "task", "max_digits"), 1);
  EXPECT_EQ(value_at<std::string>(r, "model", "from"), run + "/model");
  EXPECT_EQ(value_at<int64_t>(r, "model", "hidden_size"), 16);
  EXPECT_TRUE(r.has_section("tokenizer"));
  EXPECT_EQ(value_at<int64_t>(r, "search", "problems"), 2);
  EXPECT_EQ(value_at<double>(r, "search", "learning_rate"), 1e-2);
  EXPECT_EQ(value_at<double>(r, "search", "temperature"), 1.0);
  EXPECT_EQ(value_at<int64_t>(r, "search", "accuracy_examples"), 4);
  EXPECT_EQ(value_at<int64_t>(r, "search", "eval_every"), 1);
  EXPECT_EQ(value_at<int64_t>(r, "mcts", "num_children"), 3);
  EXPECT_EQ(value_at<int64_t>(r, "mcts", "iterations"), 3);
  EXPECT_EQ(value_at<int64_t>(r, "mcts", "root_multiplier"), 1);
  EXPECT_EQ(value_at<int64_t>(r, "mcts", "max_depth"), 3);
  EXPECT_EQ(value_at<std::string>(r, "mcts", "backup"), "step_reward");  // the paper's, as the trainer's default
  EXPECT_EQ(value_at<double>(r, "mcts", "gamma"), 1.0);
  EXPECT_EQ(value_at<double>(r, "mcts", "confidence_weight"), 1.0);
  EXPECT_EQ(value_at<std::string>(r, "dpo", "loss"), "ipo");
  EXPECT_EQ(value_at<double>(r, "dpo", "beta"), 0.1);
  EXPECT_EQ(value_at<double>(r, "dpo", "nll_weight"), 0.5);
  EXPECT_EQ(value_at<int64_t>(r, "dpo", "epochs"), 2);
  EXPECT_EQ(value_at<int64_t>(r, "dpo", "batch_pairs"), 4);
  EXPECT_EQ(value_at<double>(r, "dpo", "min_gap"), 0.25);
  EXPECT_EQ(value_at<int64_t>(r, "dpo", "refresh_every"), 1);
}

TEST(MctsDpoFrontEnd, RunEqualsTheTrainerOnAHandWrittenRecipe) {
  torch::set_num_threads(1);
  search::register_trainers();
  test::TempDir tmp;
  const std::string lm = finished_lm_run(tmp);
  std::atomic<bool> stop{false};
  const auto outcome = search::run_mcts_dpo(small_request(lm, tmp / "front"), stop);
  ASSERT_TRUE(outcome.finished);

  const std::string recipe = tmp / "hand.toml";
  test::write_plain(recipe, std::string("[run]\nalgorithm = \"mcts_dpo\"\nseed = 11\ntotal_steps = 1\n"
                                        "checkpoint_every = 1\ntorch_threads = 1\n\n") +
                                "[data]\nsource = \"task\"\neval_examples = 4\neval_seed = 12\n"
                                "\n[task]\nname = \"arithmetic\"\nmin_digits = 1\nmax_digits = 1\nops = \"+\"\n\n[model]\nfrom = \"" + lm +
                                "/model\"\n\n[search]\nproblems = 2\nlearning_rate = 1e-2\naccuracy_examples = 4\n"
                                "eval_every = 1\n\n[mcts]\nnum_children = 3\niterations = 3\nroot_multiplier = 1\n"
                                "max_depth = 3\n\n[dpo]\nloss = \"ipo\"\nnll_weight = 0.5\nepochs = 2\nbatch_pairs = 4\n"
                                "min_gap = 0.25\nrefresh_every = 1\n");
  train::StartRequest hand;
  hand.recipe_path = recipe;
  hand.out_dir = tmp / "hand";
  hand.quiet = true;
  ASSERT_TRUE(train::start_run(hand, stop).finished);

  EXPECT_EQ(test::slurp(tmp / "front/model/model.safetensors"), test::slurp(tmp / "hand/model/model.safetensors"));
  // mcts_dpo.json: round 0 (before training) and round 1, read off the hand run's metrics rows.
  const auto rounds = nlohmann::json::parse(test::slurp(tmp / "front/mcts_dpo.json"));
  ASSERT_EQ(rounds.size(), 2u);
  ASSERT_EQ(outcome.rounds.size(), 2u);
  std::ifstream in(tmp / "hand/metrics.jsonl");
  int64_t rows = 0;
  for (std::string line; std::getline(in, line); ++rows) {
    const auto m = nlohmann::json::parse(line);
    const int64_t step = m.at("step").get<int64_t>();
    ASSERT_LT(step, 2);
    const auto& r = rounds[static_cast<size_t>(step)];
    EXPECT_EQ(r.at("round").get<int64_t>(), step);
    EXPECT_EQ(r.at("greedy_accuracy").get<double>(), m.at("eval/accuracy").get<double>());
    if (step == 0) continue;
    // The round searched with the step-reward backup and judged its new steps with the policy.
    EXPECT_GT(m.at("self_eval/steps").get<double>(), 0.0);
    EXPECT_EQ(r.at("pairs").get<double>(), m.at("dpo/pairs").get<double>());
    EXPECT_EQ(r.at("search_reward").get<double>(), m.at("search/reward_mean").get<double>());
    EXPECT_EQ(r.at("dpo_loss_first").get<double>(), m.at("dpo/loss_first").get<double>());
    EXPECT_EQ(r.at("dpo_loss_last").get<double>(), m.at("dpo/loss_last").get<double>());
    EXPECT_EQ(r.at("tokens_generated").get<double>(), m.at("search/tokens_generated").get<double>());
  }
  EXPECT_EQ(rows, 2);
  // An ordinary run directory: `rlpp resume` and `rlpp eval` read its recipe.
  const core::Recipe saved = core::Recipe::load(tmp / "front/recipe.toml");
  EXPECT_EQ(saved.get_string("run", "algorithm", ""), "mcts_dpo");
}

TEST(MctsDpoFrontEnd, BadInputIsRefusedBeforeAnythingIsWritten) {
  test::TempDir tmp;
  const std::string run = tmp / "run";
  fs::create_directories(run + "/model");
  test::write_plain(run + "/recipe.toml", "[run]\nalgorithm = \"lm\"\n[data]\nsource = \"jsonl\"\npath = \"x.jsonl\"\n");
  std::atomic<bool> stop{false};
  test::expect_user_error([&] { search::run_mcts_dpo(small_request(run, tmp / "out"), stop); }, {"not a task"});
  EXPECT_FALSE(fs::exists(tmp / "out"));

  auto bad = small_request(run, tmp / "out");
  bad.loss = "ipo";
  bad.dpo.label_smoothing = 0.1;
  test::expect_user_error([&] { search::run_mcts_dpo(bad, stop); }, {"label_smoothing"});
  EXPECT_FALSE(fs::exists(tmp / "out"));

  // An output directory that holds a run is left alone.
  test::write_plain(run + "/recipe.toml", std::string("[run]\nalgorithm = \"lm\"\n") + kTask + kModel);
  fs::create_directories(tmp / "taken");
  test::write_plain(tmp / "taken/recipe.toml", "[run]\nalgorithm = \"ppo\"\n");
  test::expect_user_error([&] { search::run_mcts_dpo(small_request(run, tmp / "taken"), stop); },
                          {"already holds a run", "rlpp resume"});
  EXPECT_EQ(test::slurp(tmp / "taken/recipe.toml"), "[run]\nalgorithm = \"ppo\"\n");
}
