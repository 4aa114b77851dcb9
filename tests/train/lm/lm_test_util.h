// Helpers of the language-model trainer tests: run a recipe text into a temporary directory, read
// the metrics rows back with an independent JSON parser.
#pragma once
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "rlpp/train/run.h"
#include "train/test_dirs.h"

namespace rlpp::train::lm::test_util {

// metrics.jsonl rows as name -> value (null -> NaN).
inline std::vector<std::map<std::string, double>> read_metrics(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::vector<std::map<std::string, double>> rows;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    std::map<std::string, double> r;
    for (const auto& [k, v] : j.items()) r[k] = v.is_number() ? v.get<double>() : std::nan("");
    rows.push_back(r);
  }
  return rows;
}

// Writes `recipe` to tmp/name/recipe_in.toml and starts a quiet run in tmp/name/run; returns the run
// directory. stop_after > 0 stops (with a checkpoint) after that many steps.
inline std::string run_recipe(const std::string& recipe, const testing::TempDir& tmp, const std::string& name,
                              int64_t stop_after = 0) {
  const std::string dir = tmp.sub(name);
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/recipe_in.toml") << recipe;
  StartRequest req;
  req.recipe_path = dir + "/recipe_in.toml";
  req.out_dir = dir + "/run";
  req.quiet = true;
  req.stop_after_updates = stop_after;
  std::atomic<bool> stop{false};
  return start_run(req, stop).run_dir;
}

// A run split by a checkpoint and resumed logged what the uninterrupted run logged: every metric
// but the timings (perf/*) and NaNs, row by row.
inline void expect_same_metrics(const std::vector<std::map<std::string, double>>& whole,
                                const std::vector<std::map<std::string, double>>& split) {
  ASSERT_EQ(whole.size(), split.size());
  for (size_t i = 0; i < whole.size(); ++i) {
    for (const auto& [k, v] : whole[i]) {
      if (k.rfind("perf/", 0) == 0 || std::isnan(v)) continue;
      ASSERT_TRUE(split[i].count(k)) << "row " << i << " " << k;
      EXPECT_EQ(v, split[i].at(k)) << "row " << i << " " << k;
    }
  }
}

}  // namespace rlpp::train::lm::test_util
