// Helpers of the trainer tests that start real runs: a recipe of configs/, the rows a run logged,
// a small random-policy D4RL dataset, and one run started (or split) in process.
#pragma once
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "rlpp/train/offline/collect.h"
#include "rlpp/train/offline/d4rl_dataset.h"
#include "rlpp/train/run.h"

namespace rlpp::testing::runs {

// configs/<name> of the source tree.
inline std::string config(const std::string& name) { return std::string(RLPP_SOURCE_DIR) + "/configs/" + name; }

// Every row of <run_dir>/metrics.jsonl, in order.
inline std::vector<nlohmann::json> rows_of(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::vector<nlohmann::json> rows;
  std::string line;
  while (std::getline(in, line)) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

// A random-policy dataset of `env` (`steps` rows, seed 3), written to `path`.
inline void make_dataset(const std::string& env, int64_t steps, const std::string& path) {
  train::offline::CollectRequest req;
  req.env = env;
  req.policy = "random";
  req.steps = steps;
  req.seed = 3;
  req.quiet = true;
  std::atomic<bool> stop{false};
  train::offline::write_d4rl(path, train::offline::collect_dataset(req, stop));
}

// `rlpp train configs/<recipe> --set <sets…> --out <out>`, stopped after `stop_after` updates (0 = not).
inline train::RunOutcome start(const std::string& recipe, const std::string& out, std::vector<std::string> sets,
                               int64_t stop_after = 0) {
  std::atomic<bool> stop{false};
  train::StartRequest req;
  req.recipe_path = config(recipe);
  req.overrides = std::move(sets);
  req.out_dir = out;
  req.stop_after_updates = stop_after;
  req.quiet = true;
  return train::start_run(req, stop);
}

}  // namespace rlpp::testing::runs
