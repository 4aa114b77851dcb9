// One C³-Bench-style evaluation case (arXiv 2505.18746): a dialogue of 1-4 tasks, each with a golden
// tool-call DAG and pre-recorded observations. The JSONL format is described in docs/agent-bench.md:
//
//   {"id": "...", "type": ["single_tool", "chat", ...],          one type per task
//    "task": ["task text 1", ...],                                one string per task
//    "messages": [{role, content}, ..., "=====", ...],            task segments split by "=====" strings
//                                                                 (or a list of per-task lists)
//    "task_ids": [i0, i1, ...],                                   optional: index of each task's user
//                                                                 message inside its segment
//    "tools": [{type: "function", function: {name, description, parameters}}],
//    "answer_list": [[{idx, action: {name, arguments}, observation, dependency_list, user_input?}]],
//    "env_info": "2026-12-01" or one string per task, "turn_type": [true, false, ...],
//    "turn_subtypes": [["coreference"], ...]}          "none" entries are dropped
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace rlpp::harness {

// The four task types of C³-Bench; a dialogue's "type path" is the sequence of its tasks' types.
enum class TaskType { kSingleTool, kMultiTool, kClarify, kChat };
constexpr int kNumTaskTypes = 4;

// "single_tool" | "multi_tool" | "clarify" | "chat".
std::string_view task_type_name(TaskType t);
// Accepts the canonical names and common spellings (case-insensitive, '-' or ' ' for '_'):
// single[_tool], multi[ple][_tool[s]], clarify/clarification/ask_user, chat/chitchat. Throws
// std::invalid_argument listing the valid names otherwise.
TaskType task_type_from_name(std::string_view name);

constexpr std::string_view kAskUserAction = "ask_user_for_required_parameters";
constexpr std::string_view kPrepareToAnswerAction = "prepare_to_answer";

enum class NodeKind { kTool, kAskUser, kPrepareToAnswer };

// A golden node: one call (or pseudo-action) of a task's DAG.
struct GoldenNode {
  int idx = 0;                        // the node's `idx` in the case file
  NodeKind kind = NodeKind::kTool;
  std::string name;                   // action.name
  nlohmann::json arguments;           // action.arguments (an object)
  nlohmann::json observation;         // the stored tool result (any JSON); null for pseudo-actions
  std::vector<int> deps;              // positions (not idx values) in Task::nodes it depends on
  std::string user_input;             // ask_user: the stored user answer
  std::string answer_type;            // prepare_to_answer: "tool" | "chat"
};

// Turn type of a task: true multi-turn = it refers to earlier turns (coreference, ellipsis, memory).
enum class TurnType { kUnknown, kTrue, kFalse };

struct Task {
  TaskType type = TaskType::kSingleTool;
  std::string text;                    // task[i]
  std::vector<GoldenNode> nodes;       // answer_list[i]
  nlohmann::json prompt;               // golden history + this task's messages up to its user message
  std::string env_info;
  TurnType turn_type = TurnType::kUnknown;
  std::vector<std::string> turn_subtypes;
};

struct Case {
  std::string id;
  int line = 0;                        // 1-based line in the case file
  nlohmann::json tools;                // OpenAI function tools
  std::vector<Task> tasks;             // (L,), L = 1..4 in C³-Bench (any L >= 1 is accepted)

  // "single_tool>chat>clarify": the type path of the dialogue's first `len` tasks (all when -1).
  std::string type_path(int len = -1) const;
};

// Why a case line was rejected.
struct CaseProblem {
  int line = 0;
  std::string id;                      // "" when the line has none
  std::string message;
};

struct CaseFile {
  std::vector<Case> cases;
  std::vector<CaseProblem> problems;   // malformed lines, in file order; they are skipped
};

struct CaseReadOptions {
  // Prepend system_text_for_env_info(env_info) as a system message (merged into an existing leading
  // system message) when the task has env_info. C³-Bench gives the date to the model the same way.
  bool env_info_in_system = true;
};

// "You are a helpful assistant. Today is 2026-12-01 (Tuesday)." when env_info starts with a valid
// YYYY-MM-DD date (the system message of rlpp's generated SFT dialogues, so that trained models are
// evaluated on the prompt they were trained with), else "You are a helpful assistant. Current date:
// <env_info>."
std::string system_text_for_env_info(const std::string& env_info);

// Parses one case line; throws std::invalid_argument with a message naming the field (and index)
// that is wrong. Checks: fields present with the right JSON types, one type/task/answer list per
// task, unique node idx, dependencies that exist, no cycle, every tool node names a tool and has an
// observation, ask_user nodes have user_input, exactly one prepare_to_answer per task.
Case parse_case(const nlohmann::json& j, int line, const CaseReadOptions& opts = {});

// Reads a JSONL case file: blank lines are ignored, malformed lines (and repeated ids) are reported
// in `problems` and skipped. core::UserError when the file cannot be read.
CaseFile read_cases(const std::string& path, const CaseReadOptions& opts = {});

// A node's observation as `tool` message content: strings as they are, other JSON dumped.
std::string observation_text(const nlohmann::json& observation);

}  // namespace rlpp::harness
