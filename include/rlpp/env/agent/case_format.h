// The C³-Bench case format (one dialogue per JSONL line), as rlpp writes and reads it.
//
//   id              string
//   type            [task type per task]: "single_tool" | "multi_tool" | "clarify" | "chat"
//   task            [user request text per task]
//   task_ids        [index, within the task's segment of `messages`, of the user message stating it]
//   messages        flat list: per task its segment of {role: user|assistant, content} (the user
//                   request, for clarify the assistant's question and the user's answer, then the
//                   final assistant answer), segments separated by the string "=====" — the
//                   encoding of the public C³-Bench data and evaluation code
//   tools           OpenAI function tools offered in the dialogue
//   answer_list     [per task: golden nodes {idx, action: {name, arguments}, observation (JSON text
//                   for a tool call, "" for a pseudo-action), dependency_list: [idx...],
//                   user_input (ask_user only)}]
//   env_info        "YYYY-MM-DD HH:MM:SS Weekday" — the dialogue's current date
//   turn_type       [per task: true when the task needs earlier turns (true multi-turn)]
//   turn_subtypes   [per task: "none" | "coreference" | "ellipsis" | "long_term_memory"]
//   world_seed      (rlpp) seed of the tool world the observations were recorded in
//
// Pseudo-actions: ask_user_for_required_parameters {missing_parameters: [...]} (a text reply that
// asks; its user_input is the user's answer) and prepare_to_answer {answer_type: "tool" | "chat"}
// (the final text reply; it depends on every tool call of the task).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rlpp::env::agent {

inline constexpr const char* kAskUser = "ask_user_for_required_parameters";
inline constexpr const char* kPrepareToAnswer = "prepare_to_answer";
inline constexpr const char* kSegmentSeparator = "=====";

enum class TaskType { kSingleTool, kMultiTool, kClarify, kChat };
inline constexpr TaskType kAllTaskTypes[] = {TaskType::kSingleTool, TaskType::kMultiTool, TaskType::kClarify,
                                             TaskType::kChat};

std::string task_type_name(TaskType t);
// UserError listing the valid names on anything else.
TaskType task_type_from_name(const std::string& name);
// One letter per type, for ids: S M Q C.
char task_type_letter(TaskType t);

// Whether `name` is one of the two pseudo-actions.
bool is_pseudo_action(const std::string& name);

// The message segments of `messages` (split at separator strings).
std::vector<std::vector<nlohmann::json>> message_segments(const nlohmann::json& messages);

// Golden tool-call steps of one task: topological layers of its tool nodes (every node whose
// dependencies are all in earlier layers or pseudo-actions), each layer sorted by idx — the
// shortest path, with parallel calls in one step. Expects a validated answer list.
std::vector<std::vector<int>> golden_tool_layers(const nlohmann::json& task_nodes);

// The system message of a case's dialogue: "You are a helpful assistant. Today is YYYY-MM-DD
// (Weekday)." (date from env_info).
std::string system_prompt(const nlohmann::json& case_json);

}  // namespace rlpp::env::agent
