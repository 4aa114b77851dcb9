// The model under evaluation: OpenAI chat messages + tools in, one assistant message out.
#pragma once
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace rlpp::harness {

// A request that could not be answered (transport failure after all retries, HTTP error, a
// response that is not a chat completion). The harness records it and fails the task.
class ModelError : public std::runtime_error {
 public:
  explicit ModelError(const std::string& what) : std::runtime_error(what) {}
};

class ChatModel {
 public:
  virtual ~ChatModel() = default;
  // messages: [{role, content, tool_calls?, tool_call_id?}]; tools: OpenAI function tools.
  // Returns {"role": "assistant", "content": string|null, "tool_calls": [{id, type: "function",
  // function: {name, arguments: JSON string}}]} (tool_calls may be absent or empty). Must be safe to
  // call from several threads at once. Throws ModelError.
  virtual nlohmann::json complete(const nlohmann::json& messages, const nlohmann::json& tools) = 0;
  virtual std::string name() const = 0;
};

// Normalises an assistant message from any OpenAI-compatible server: content null -> "", tool_calls
// always an array, every call gets an id ("call_<i>" when missing), arguments kept as the JSON
// string the server sent (objects are dumped). Throws ModelError when it is not an object or a
// call lacks function.name.
nlohmann::json normalize_assistant_message(const nlohmann::json& message);

}  // namespace rlpp::harness
