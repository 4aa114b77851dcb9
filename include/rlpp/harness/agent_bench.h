// `rlpp agent-bench`: read a case file, replay every case (n trials) against a model, write
//   <out>/transcripts.jsonl   one line per model request: request, response or error, latency
//   <out>/metrics.json        compute_metrics + run information + the skipped (malformed) cases
//   <out>/report.md           the accuracy matrix, success rates, OP rate, error taxonomy, pass^k
//   <out>/accuracy_by_position.png, <out>/error_taxonomy.png   (when rlpp has PLplot)
// Every file is written atomically, and only after the whole run has finished.
#pragma once
#include <atomic>
#include <iosfwd>
#include <string>

#include <nlohmann/json.hpp>

#include "rlpp/harness/case.h"
#include "rlpp/harness/chat_model.h"
#include "rlpp/harness/replay.h"

namespace rlpp::harness {

struct BenchOptions {
  std::string cases_path;
  std::string out_dir;
  int trials = 1;
  int concurrency = 1;         // cases in flight at once
  ReplayOptions replay;
  CaseReadOptions read;
  bool plots = true;
};

struct BenchResult {
  int cases = 0;               // valid cases replayed
  int skipped = 0;             // malformed cases reported and skipped
  bool complete = true;        // false when stopped early (nothing is written then)
  nlohmann::json metrics;
};

// Reads and checks the cases (unreadable file, no valid case, bad options -> core::UserError),
// reports each malformed case on `log` ("<file>:<line> (id <id>): <problem>") and skips it,
// replays, prints progress on `log`, and writes the outputs.
BenchResult run_agent_bench(ChatModel& model, const BenchOptions& opts, std::ostream& log,
                            const std::atomic<bool>* stop = nullptr);

// Loads the valid cases of a file (problems reported on `log`), dropping cases whose tasks have
// more step paths than `paths.max_paths` (reported too). Shared by the command and its tests.
CaseFile load_cases_checked(const std::string& path, const CaseReadOptions& read, const PathOptions& paths,
                            std::ostream& log);

// The markdown report for `metrics` (as computed by compute_metrics plus run information).
std::string render_report(const nlohmann::json& metrics);

}  // namespace rlpp::harness
