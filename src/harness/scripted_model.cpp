#include "rlpp/harness/scripted_model.h"

#include <algorithm>

#include "rlpp/harness/step_paths.h"

namespace rlpp::harness {

using nlohmann::json;

std::string fault_key(const std::string& case_id, int task, int step) {
  return case_id + "#" + std::to_string(task) + "#" + std::to_string(step);
}

OracleModel::OracleModel(std::vector<Case> cases, std::map<std::string, json> faults)
    : cases_(std::move(cases)), faults_(std::move(faults)) {
  for (size_t i = 0; i < cases_.size(); ++i)
    for (size_t t = 0; t < cases_[i].tasks.size(); ++t) {
      const json& p = cases_[i].tasks[t].prompt;
      by_prompt_.emplace(p.dump(), std::make_pair(static_cast<int>(i), static_cast<int>(t)));
      if (std::find(prompt_sizes_.begin(), prompt_sizes_.end(), p.size()) == prompt_sizes_.end())
        prompt_sizes_.push_back(p.size());
    }
  // Longest first: a later task's prompt starts with the earlier tasks' golden messages.
  std::sort(prompt_sizes_.rbegin(), prompt_sizes_.rend());
}

json OracleModel::golden_reply(const Case& c, int t, int step) {
  const Task& task = c.tasks.at(t);
  const auto paths = enumerate_step_paths(task.nodes);
  const auto it = std::find_if(paths.begin(), paths.end(), [](const StepPath& p) { return p.optimal; });
  // Past its own path (a fault took a longer one): the answer is the only sensible reply left.
  const Step& s = it->steps[std::min<size_t>(step, it->steps.size() - 1)];
  json reply{{"role", "assistant"}, {"content", ""}, {"tool_calls", json::array()}};
  if (s.kind == NodeKind::kAskUser) {
    reply["content"] = "Could you give me the missing details?";
  } else if (s.kind == NodeKind::kPrepareToAnswer) {
    reply["content"] = "Here is the answer to: " + task.text;
  } else {
    for (size_t i = 0; i < s.nodes.size(); ++i) {
      const GoldenNode& n = task.nodes[s.nodes[i]];
      reply["tool_calls"].push_back({{"id", "call_" + std::to_string(step) + "_" + std::to_string(i)},
                                     {"type", "function"},
                                     {"function", {{"name", n.name}, {"arguments", n.arguments.dump()}}}});
    }
  }
  return reply;
}

json OracleModel::complete(const json& messages, const json& /*tools*/) {
  for (size_t len : prompt_sizes_) {
    if (len > messages.size()) continue;
    const json prefix(messages.begin(), messages.begin() + static_cast<std::ptrdiff_t>(len));
    const auto it = by_prompt_.find(prefix.dump());
    if (it == by_prompt_.end()) continue;
    const auto [ci, t] = it->second;
    int step = 0;
    for (size_t i = len; i < messages.size(); ++i) step += messages[i]["role"] == "assistant";
    const Case& c = cases_[ci];
    const auto f = faults_.find(fault_key(c.id, t, step));
    if (f != faults_.end()) {
      json reply = f->second;
      if (reply.contains("tool_calls"))
        for (auto& call : reply["tool_calls"])
          if (call.contains("function") && call["function"].contains("arguments") &&
              !call["function"]["arguments"].is_string())
            call["function"]["arguments"] = call["function"]["arguments"].dump();
      return normalize_assistant_message(reply);
    }
    return golden_reply(c, t, step);
  }
  throw ModelError("oracle: the request matches no task prompt of its cases");
}

}  // namespace rlpp::harness
