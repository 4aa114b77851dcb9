#include "rlpp/env/agent/case_format.h"

#include "rlpp/core/error.h"
#include "rlpp/env/agent/tool_world.h"

namespace rlpp::env::agent {

using json = nlohmann::json;

std::string task_type_name(TaskType t) {
  switch (t) {
    case TaskType::kSingleTool: return "single_tool";
    case TaskType::kMultiTool: return "multi_tool";
    case TaskType::kClarify: return "clarify";
    case TaskType::kChat: return "chat";
  }
  return "";
}

TaskType task_type_from_name(const std::string& name) {
  for (TaskType t : kAllTaskTypes)
    if (task_type_name(t) == name) return t;
  throw core::UserError("unknown task type '" + name + "' (valid: single_tool, multi_tool, clarify, chat)");
}

char task_type_letter(TaskType t) { return "SMQC"[static_cast<int>(t)]; }

bool is_pseudo_action(const std::string& name) { return name == kAskUser || name == kPrepareToAnswer; }

std::vector<std::vector<json>> message_segments(const json& messages) {
  std::vector<std::vector<json>> out(1);
  for (const json& m : messages) {
    if (m.is_string() && m.get<std::string>().find(kSegmentSeparator) != std::string::npos) out.emplace_back();
    else out.back().push_back(m);
  }
  return out;
}

std::vector<std::vector<int>> golden_tool_layers(const json& task_nodes) {
  // Kahn's algorithm by levels over the tool nodes; pseudo-actions count as already done.
  const size_t n = task_nodes.size();
  std::vector<bool> done(n, false), tool(n, false);
  size_t remaining = 0;
  for (size_t i = 0; i < n; ++i) {
    tool[i] = !is_pseudo_action(task_nodes[i].at("action").at("name").get<std::string>());
    done[i] = !tool[i];
    remaining += tool[i];
  }
  std::vector<std::vector<int>> layers;
  while (remaining > 0) {
    std::vector<int> layer;
    for (size_t i = 0; i < n; ++i) {
      if (done[i]) continue;
      bool ready = true;
      for (const json& d : task_nodes[i].at("dependency_list")) {
        const int64_t k = d.get<int64_t>();
        ready = ready && k >= 0 && static_cast<size_t>(k) < n && (done[k] || !tool[k]);
      }
      if (ready) layer.push_back(static_cast<int>(i));
    }
    if (layer.empty()) throw core::UserError("the task's tool calls form a dependency cycle");
    for (int i : layer) done[i] = true;
    remaining -= layer.size();
    layers.push_back(std::move(layer));
  }
  return layers;
}

std::string system_prompt(const json& case_json) {
  std::string date;
  if (case_json.contains("env_info") && case_json.at("env_info").is_string())
    date = case_json.at("env_info").get<std::string>().substr(0, 10);
  std::string out = "You are a helpful assistant.";
  if (days_from_date(date) >= 0) out += " Today is " + date + " (" + weekday_name(date) + ").";
  return out;
}

}  // namespace rlpp::env::agent
