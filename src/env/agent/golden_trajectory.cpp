#include "rlpp/env/agent/golden_trajectory.h"

#include "rlpp/core/error.h"
#include "rlpp/env/agent/case_format.h"
#include "rlpp/env/agent/case_validation.h"

namespace rlpp::env::agent {

using json = nlohmann::json;

namespace {

// The assistant texts of a task's segment: the clarify question (first assistant message, when the
// task asks) and the final answer (last assistant message).
std::string segment_text(const std::vector<json>& seg, bool last, const std::string& fallback) {
  const json* found = nullptr;
  for (const json& m : seg)
    if (m.is_object() && m.value("role", "") == "assistant" && m.contains("content") && m.at("content").is_string()) {
      if (!found || last) found = &m;
    }
  return found ? found->at("content").get<std::string>() : fallback;
}

}  // namespace

json golden_messages(const json& c) {
  const auto problems = validate_case(c);
  if (!problems.empty()) throw core::UserError("case " + c.value("id", std::string("?")) + " is malformed: " + problems.front());
  json out = json::array({{{"role", "system"}, {"content", system_prompt(c)}}});
  const auto segments = message_segments(c.at("messages"));
  int next_id = 0;
  for (size_t t = 0; t < c.at("task").size(); ++t) {
    const json& nodes = c.at("answer_list")[t];
    out.push_back({{"role", "user"}, {"content", c.at("task")[t]}});
    const std::vector<json>& seg = segments[t];
    for (const json& n : nodes)
      if (n.at("action").at("name") == kAskUser) {
        std::string missing = "missing details";
        const json& args = n.at("action").value("arguments", json::object());
        if (args.contains("missing_parameters") && args.at("missing_parameters").is_array() && !args.at("missing_parameters").empty())
          missing = args.at("missing_parameters")[0].dump();
        out.push_back({{"role", "assistant"}, {"content", segment_text(seg, /*last=*/false, "Could you tell me the " + missing + "?")}});
        out.push_back({{"role", "user"}, {"content", n.at("user_input")}});
      }
    for (const auto& layer : golden_tool_layers(nodes)) {
      json calls = json::array(), results = json::array();
      for (int i : layer) {
        const std::string id = "call_" + std::to_string(next_id++);
        const json& action = nodes[i].at("action");
        calls.push_back({{"id", id}, {"type", "function"},
                         {"function", {{"name", action.at("name")}, {"arguments", action.value("arguments", json::object())}}}});
        results.push_back({{"role", "tool"}, {"tool_call_id", id}, {"content", nodes[i].at("observation")}});
      }
      out.push_back({{"role", "assistant"}, {"content", ""}, {"tool_calls", calls}});
      for (auto& r : results) out.push_back(std::move(r));
    }
    out.push_back({{"role", "assistant"}, {"content", segment_text(seg, /*last=*/true, "Done.")}});
  }
  return out;
}

std::vector<SftExample> golden_sft_examples(const json& c, nn::ChatFormat format, nn::ToolStyle style) {
  const std::vector<nn::ChatMessage> chat = nn::chat_messages_with_tools(golden_messages(c), c.at("tools"), style);
  std::vector<SftExample> out;
  for (size_t k = 0; k < chat.size(); ++k) {
    if (chat[k].role != "assistant") continue;
    const std::vector<nn::ChatMessage> before(chat.begin(), chat.begin() + static_cast<std::ptrdiff_t>(k));
    out.push_back({nn::apply_chat_template(format, before, /*add_generation_prompt=*/true), chat[k].content});
  }
  return out;
}

std::string sft_jsonl_line(const SftExample& ex) { return json{{"prompt", ex.prompt}, {"response", ex.response}}.dump(); }

}  // namespace rlpp::env::agent
