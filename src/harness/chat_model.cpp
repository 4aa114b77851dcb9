#include "rlpp/harness/chat_model.h"

namespace rlpp::harness {

using nlohmann::json;

json normalize_assistant_message(const json& message) {
  if (!message.is_object()) throw ModelError("assistant message is not a JSON object: " + message.dump());
  json out{{"role", "assistant"}, {"content", ""}, {"tool_calls", json::array()}};
  if (message.contains("content") && message["content"].is_string()) out["content"] = message["content"];
  if (message.contains("tool_calls") && message["tool_calls"].is_array()) {
    int i = 0;
    for (const auto& c : message["tool_calls"]) {
      if (!c.is_object() || !c.contains("function") || !c["function"].is_object() ||
          !c["function"].contains("name") || !c["function"]["name"].is_string())
        throw ModelError("tool call " + std::to_string(i) + " lacks function.name: " + c.dump());
      const json& f = c["function"];
      json args = f.value("arguments", json("{}"));
      if (!args.is_string()) args = args.dump();
      std::string id = c.contains("id") && c["id"].is_string() && !c["id"].get<std::string>().empty()
                           ? c["id"].get<std::string>()
                           : "call_" + std::to_string(i);
      out["tool_calls"].push_back(
          {{"id", id}, {"type", "function"}, {"function", {{"name", f["name"]}, {"arguments", args}}}});
      ++i;
    }
  }
  return out;
}

}  // namespace rlpp::harness
