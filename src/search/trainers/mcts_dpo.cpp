// `rlpp mcts-dpo` as a front end of the mcts_dpo trainer: the request's options mapped onto the
// trainer's recipe sections, so there is one MCTS-DPO loop (mcts_dpo_trainer.cpp).
#include "rlpp/search/trainers/mcts_dpo.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "rlpp/core/config.h"
#include "rlpp/core/error.h"
#include "rlpp/core/fs.h"
#include "rlpp/core/metrics.h"
#include "rlpp/search/loaded_lm.h"
#include "rlpp/search/step_dpo.h"
#include "rlpp/train/run.h"
#include "search/trainers/search_run.h"

namespace rlpp::search {

namespace fs = std::filesystem;

namespace {

StepDpoOptions step_dpo_options(const MctsDpoRequest& req) {
  StepDpoOptions dpo;
  dpo.loss = req.loss;
  dpo.beta = req.dpo.beta;
  dpo.label_smoothing = req.dpo.label_smoothing;
  dpo.nll_weight = req.nll_weight;
  dpo.epochs = req.epochs;
  dpo.batch_pairs = req.batch_pairs;
  return dpo;
}

// A section of `from` copied into `out` (an empty one when `from` has none), for `set` to amend.
toml::table& copy_section(const core::Recipe& from, const std::string& section, toml::table& out) {
  const toml::table* t = from.table()[section].as_table();
  out.insert_or_assign(section, t ? *t : toml::table{});
  return *out[section].as_table();
}

double number_or_nan(const nlohmann::json& row, const char* key) {
  const auto it = row.find(key);
  return it != row.end() && it->is_number() ? it->get<double>() : std::nan("");
}

// The rounds in RUN_DIR/metrics.jsonl: step 0 is the evaluation before training, step r round r.
std::vector<MctsDpoRound> rounds_of(const std::string& run_dir) {
  std::map<int64_t, MctsDpoRound> by_step;
  std::ifstream in((fs::path(run_dir) / core::kMetricsJsonlFile).string());
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const nlohmann::json row = nlohmann::json::parse(line);
    const int64_t step = row.at("step").get<int64_t>();
    MctsDpoRound& r = by_step[step];
    r.round = step;
    auto take = [&](const char* key, auto& field) {
      const double v = number_or_nan(row, key);
      if (!std::isnan(v)) field = static_cast<std::decay_t<decltype(field)>>(v);
    };
    take("dpo/pairs", r.pairs);
    take("search/reward_mean", r.search_reward);
    take("dpo/loss_first", r.dpo_loss_first);
    take("dpo/loss_last", r.dpo_loss_last);
    take("dpo/reward_accuracy_last", r.reward_accuracy_last);
    take("eval/accuracy", r.greedy_accuracy);
    take("search/tokens_generated", r.tokens_generated);
  }
  std::vector<MctsDpoRound> out;
  for (const auto& [step, r] : by_step) out.push_back(r);
  return out;
}

void write_rounds_json(const std::vector<MctsDpoRound>& rounds, const std::string& out_dir) {
  nlohmann::json arr = nlohmann::json::array();
  for (const MctsDpoRound& r : rounds)
    arr.push_back({{"round", r.round}, {"pairs", r.pairs}, {"search_reward", r.search_reward},
                   {"dpo_loss_first", r.dpo_loss_first}, {"dpo_loss_last", r.dpo_loss_last},
                   {"reward_accuracy_last", r.reward_accuracy_last}, {"greedy_accuracy", r.greedy_accuracy},
                   {"tokens_generated", r.tokens_generated}});
  core::atomic_write_file((fs::path(out_dir) / "mcts_dpo.json").string(), arr.dump(1) + "\n");
}

}  // namespace

std::string mcts_dpo_recipe(const MctsDpoRequest& req) {
  core::require(!req.out_dir.empty(), "mcts-dpo: no output directory");
  core::require(req.rounds >= 1 && req.problems >= 1 && req.eval_problems >= 1 && req.epochs >= 1 &&
                    req.batch_pairs >= 1,
                "mcts-dpo: rounds, problems, eval_problems, epochs and batch_pairs must be >= 1");
  core::require(req.learning_rate > 0, "mcts-dpo: learning_rate must be > 0");
  const StepDpoOptions dpo = step_dpo_options(req);
  dpo.validate();
  req.mcts.validate();
  const LmRunRecipes from = read_lm_run_recipes(req.run_dir, req.task_run_dir);

  toml::table out;
  toml::table run;
  run.insert_or_assign("algorithm", "mcts_dpo");
  run.insert_or_assign("seed", static_cast<int64_t>(req.seed));
  run.insert_or_assign("total_steps", req.rounds);
  run.insert_or_assign("checkpoint_every", int64_t{1});
  run.insert_or_assign("torch_threads", req.torch_threads);
  out.insert_or_assign("run", run);
  // The task of the task run; its held-out split is the eval_problems problems of seed + 1.
  toml::table& data = copy_section(from.task, "data", out);
  data.insert_or_assign("eval_examples", req.eval_problems);
  data.insert_or_assign("eval_seed", static_cast<int64_t>(req.seed + 1));
  if (from.task.has_section("task")) copy_section(from.task, "task", out);
  // The run's model and tokenizer, starting from its final weights.
  copy_section(from.run, "model", out).insert_or_assign("from", (fs::path(req.run_dir) / "model").string());
  if (from.run.has_section("tokenizer")) copy_section(from.run, "tokenizer", out);

  SearchRoundOptions search;
  search.problems = req.problems;
  search.temperature = req.temperature;
  search.learning_rate = req.learning_rate;
  search.eval_every = 1;
  search.accuracy_examples = req.eval_problems;
  core::write_options(search, &out, "search");
  core::write_options(req.mcts, &out, "mcts");
  core::write_options(dpo, &out, "dpo");
  toml::table& dpo_section = *out["dpo"].as_table();
  dpo_section.insert_or_assign("min_gap", req.min_gap);
  dpo_section.insert_or_assign("refresh_every", int64_t{1});  // the trained policy is the next reference
  return core::to_toml_text(out);
}

MctsDpoOutcome run_mcts_dpo(const MctsDpoRequest& req, const std::atomic<bool>& stop) {
  const std::string text = mcts_dpo_recipe(req);
  const fs::path out(req.out_dir);
  std::error_code ec;
  core::require(!fs::exists(out / "recipe.toml", ec), "mcts-dpo: '" + req.out_dir + "' already holds a run; continue it with 'rlpp resume " +
                                                          req.out_dir + "' or choose another --out");
  core::require(!fs::exists(out, ec) || fs::is_directory(out, ec),
                "mcts-dpo: output path '" + req.out_dir + "' exists and is not a directory");
  const bool created = !fs::exists(out, ec);
  fs::create_directories(out, ec);
  core::require(!ec, "mcts-dpo: cannot create '" + req.out_dir + "': " + ec.message());
  const std::string recipe_path = (out / "recipe.toml").string();
  core::atomic_write_file(recipe_path, text);

  train::StartRequest start;
  start.recipe_path = recipe_path;
  start.out_dir = req.out_dir;
  start.quiet = true;
  train::RunOutcome run;
  try {
    run = train::start_run(start, stop);
  } catch (...) {
    // A refused recipe (or a run that failed before its first checkpoint) leaves nothing behind.
    if (train::latest_checkpoint(req.out_dir).empty()) {
      if (created) {
        fs::remove_all(out, ec);
      } else {
        fs::remove(recipe_path, ec);
      }
    }
    throw;
  }
  MctsDpoOutcome outcome;
  outcome.rounds = rounds_of(req.out_dir);
  outcome.finished = run.finished;
  if (run.finished) write_rounds_json(outcome.rounds, req.out_dir);
  return outcome;
}

}  // namespace rlpp::search
