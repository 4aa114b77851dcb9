// `rlpp sweep`: one base recipe, several variants (each a list of --set overrides) x several seeds,
// every run a child `rlpp train` process (at most `jobs` at once), then a summary: a Markdown and a
// JSON table of each variant's final metrics (mean ± sample std over seeds) and one PNG per metric
// with each variant's seed-averaged curve. A sweep directory can be re-run: finished runs are kept.
//
// The sweep file (TOML):
//   [sweep]
//   base = "../rlvr_arithmetic_hapo.toml"   # the recipe, relative to this file
//   seeds = [1, 2, 3]
//   set = ["run.total_steps=60"]             # applied to every run, before the variant's
//   metrics = ["rl/accuracy", "rl/entropy"]  # table columns and plots (from metrics.jsonl)
//   final_window = 10                        # a run's final value: mean of its last N rows holding the metric
//   smoothing = 5                            # plots: moving average over this many points
//   show_start = true                        # table cells "start -> final" (start: the first N rows)
//   [[variant]]
//   name = "grpo"
//   set = ["advantage.name=\"grpo\"", "objective.name=\"ppo_clip\""]
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace rlpp::train {

struct SweepVariant {
  std::string name;
  std::vector<std::string> overrides;
};

struct SweepSpec {
  std::string path;      // the sweep file
  std::string base;      // the base recipe (resolved against the sweep file's folder)
  std::vector<int64_t> seeds;
  std::vector<std::string> overrides;
  std::vector<std::string> metrics;
  int64_t final_window = 10;
  int64_t smoothing = 1;
  bool show_start = false;
  std::vector<SweepVariant> variants;
};

// Reads and validates a sweep file: UserError naming the file and the field (unknown keys too; a
// variant name must be a plain file name, unique; at least one seed, variant and metric).
SweepSpec read_sweep(const std::string& path);

struct SweepRequest {
  std::string out_dir;   // runs go to out_dir/<variant>/seed_<s>
  std::string exe;       // the rlpp program, run as `exe train BASE --set ... --out DIR --quiet`
  int64_t jobs = 1;      // runs at once
  bool summary_only = false;  // skip training: summarise what out_dir holds
  bool quiet = false;
};

struct SweepCell {
  double mean = 0, std = 0;  // over the seeds that have the metric (std: sample, n − 1; 0 for one seed)
  double start_mean = 0;     // the same mean of the runs' first values (the first `window` rows)
  int64_t n = 0;
};

struct SweepSummary {
  // variant -> metric -> final value over seeds
  std::map<std::string, std::map<std::string, SweepCell>> cells;
  std::vector<std::string> failed;  // run directories whose training failed
  std::vector<std::string> files;   // summary.md, summary.json and the PNGs written
};

// The run directory of (variant, seed).
std::string sweep_run_dir(const std::string& out_dir, const std::string& variant, int64_t seed);

// Trains what is missing (a run counts as done when its exported model exists), then summarises.
SweepSummary run_sweep(const SweepSpec& spec, const SweepRequest& req);

// The summary of the runs in out_dir (missing runs are left out of the means).
SweepSummary summarize_sweep(const SweepSpec& spec, const std::string& out_dir);

}  // namespace rlpp::train
