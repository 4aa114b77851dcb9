// Validation of C³-format cases (case_format.h): a case file is data from outside, so every case is
// checked before it is trusted by the evaluation, the SFT writer or an episode.
#pragma once
#include <atomic>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rlpp::env::agent {

// Problems with one case; empty = valid. Checked: required fields and their JSON types; `type`,
// `task`, `answer_list` (and `task_ids`, `turn_type`, `turn_subtypes` when present) have one entry
// per task, and `messages` one segment per task with a user message at task_ids[i]; task types are known; `tools` are valid OpenAI
// function tools with distinct names; in each task: node idx equals its position, dependency
// indices exist and are not the node itself, the dependency graph is acyclic, every action name is
// an offered tool or a pseudo-action, tool arguments pass check_arguments against the tool's schema,
// every tool node has a non-empty observation, every ask_user node has a user_input string, the task
// ends with exactly one prepare_to_answer whose answer_type is "chat" for chat tasks (which have no
// tool calls) and "tool" otherwise; single_tool tasks have exactly one tool call, multi_tool tasks at
// least two, clarify tasks an ask_user node. Each problem names its place, e.g.
// "answer_list[1][2]: dependency 5 does not exist".
std::vector<std::string> validate_case(const nlohmann::json& case_json);

// A whole JSONL file: each line is parsed and validated. Returns one report line per malformed case
// ("<path>:<line>: <id>: <problem>"); blank lines are ignored. UserError (naming the file, and the
// line where there is one) when the file cannot be read, is not a regular file (a directory, FIFO or
// device: opening a FIFO with no writer would block, a device may never end), or has a line longer
// than kMaxCaseLineBytes. When `stop` turns true it returns early with the lines read so far.
std::vector<std::string> validate_case_file(const std::string& path, int64_t* num_cases = nullptr,
                                            const std::atomic<bool>* stop = nullptr);

// Generous for a case (real ones are kilobytes), small enough that a file with no newline fails fast.
constexpr size_t kMaxCaseLineBytes = size_t{16} << 20;

// Reads case files line by line, enforcing the rules above.
class CaseFileReader {
 public:
  explicit CaseFileReader(std::string path);
  // The next line without its '\n'; false at the end of the file.
  bool next(std::string* line);
  int64_t line_number() const { return line_; }

 private:
  std::string path_;
  std::ifstream in_;
  int64_t line_ = 0;
};

}  // namespace rlpp::env::agent
