// The case generator: multi-task dialogues in the C³-Bench format (case_format.h) over the tool
// world. Each task is drawn from phrasing templates of its type (single_tool, multi_tool with
// serial / parallel / serial+parallel dependency DAGs, clarify, chat); a task after the first refers
// back to the dialogue (coreference "that order", ellipsis "And in Oslo?", long-term memory of a
// fact an earlier answer stated) with probability 1/2 when the dialogue so far allows it. The golden
// calls are executed in the world in topological order, so every stored observation is what the
// world returns, and later tasks see the changed state. Deterministic per seed.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlpp/env/agent/case_format.h"

namespace rlpp::env::agent {

struct GeneratorOptions {
  uint64_t seed = 1;
  int64_t per_path = 1;      // dialogues per type path
  int64_t min_tasks = 1;     // path lengths min_tasks..max_tasks (1..4)
  int64_t max_tasks = 4;
  int64_t distractor_tools = 3;  // tools offered beyond those the golden calls use
};

// Every type path of length min_len..max_len (4^L of each length), shorter first, each length in
// lexicographic order of kAllTaskTypes. UserError unless 1 <= min_len <= max_len <= 4.
std::vector<std::vector<TaskType>> all_type_paths(int64_t min_len, int64_t max_len);

// One dialogue with the given task types; everything random comes from `seed`.
nlohmann::json generate_case(const std::vector<TaskType>& path, uint64_t seed, const std::string& id,
                             int64_t distractor_tools = 3);

// per_path dialogues for every path: ids "rlpp-<seed>-<letters>-<n>" (letters S M Q C by type).
std::vector<nlohmann::json> generate_cases(const GeneratorOptions& opts);

}  // namespace rlpp::env::agent
