// In-process models for tests and dry runs. OracleModel plays each task's first optimal step path
// with the golden arguments (so every task is solved on a shortest path); faults replace chosen
// replies to reproduce given mistakes. The oracle recognises a request by its task prompt (the
// golden messages up to the task's user turn), so it needs no state and is thread-safe; the step
// index is the number of assistant messages after that prompt.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "rlpp/harness/case.h"
#include "rlpp/harness/chat_model.h"

namespace rlpp::harness {

// "case_id#task#step" (task and step 0-based): the key of a fault.
std::string fault_key(const std::string& case_id, int task, int step);

class OracleModel : public ChatModel {
 public:
  // faults: key -> the assistant message to return instead ({content, tool_calls}); calls may
  // carry arguments as an object (dumped here) or a JSON string.
  explicit OracleModel(std::vector<Case> cases, std::map<std::string, nlohmann::json> faults = {});

  nlohmann::json complete(const nlohmann::json& messages, const nlohmann::json& tools) override;
  std::string name() const override { return "oracle"; }

  // The golden reply of step `step` of task `t` of case `c` on its first optimal path (the final
  // answer for steps past its end).
  static nlohmann::json golden_reply(const Case& c, int t, int step);

 private:
  std::vector<Case> cases_;
  std::map<std::string, nlohmann::json> faults_;
  std::map<std::string, std::pair<int, int>> by_prompt_;  // prompt dump -> (case, task)
  std::vector<size_t> prompt_sizes_;                      // distinct prompt lengths
};

}  // namespace rlpp::harness
