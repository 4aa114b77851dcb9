// Tool use in chat text: the Hermes / Qwen2.5 convention, used by every rlpp model that calls tools
// (the OpenAI-compatible server, agent SFT data and agent RL rollouts all go through this file).
//
//   tools        appended to the system message (one is created when the dialogue has none):
//                  full     "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
//                           "You are provided with function signatures within <tools></tools> XML tags:\n"
//                           "<tools>\n{schema}\n{schema}\n</tools>\n\n"
//                           "For each function call, return a json object with function name and arguments "
//                           "within <tool_call></tool_call> XML tags:\n<tool_call>\n"
//                           "{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>"
//                  compact  "<tools>\nname(req:type,opt?:type)\n...\n</tools>"   (short, for small models)
//   a tool call  "<tool_call>\n{\"name\": NAME, \"arguments\": {...}}\n</tool_call>"; several blocks in one
//                reply are parallel calls; text before the first block is the reply's content.
//   a result     a "tool" message whose content is "<tool_response>\n{content}\n</tool_response>".
// Arguments are always rendered with nlohmann::json::dump() (keys sorted, no spaces), so training
// data and parsing agree byte for byte.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlpp/nn/tokenizer/chat_template.h"

namespace rlpp::nn {

enum class ToolStyle { kFull, kCompact };

// "full" | "compact"; anything else -> core::UserError listing the valid names.
ToolStyle tool_style_from_name(std::string_view name);

struct ToolCall {
  std::string id;        // "call_<n>" when produced by the parser; echoed back by tool messages
  std::string name;
  nlohmann::json arguments = nlohmann::json::object();
};

// A parsed assistant completion. `errors` lists malformed <tool_call> blocks (bad JSON, no name,
// arguments not an object, unclosed block); a malformed block is not a call and stays in content.
struct AssistantReply {
  std::string content;
  std::vector<ToolCall> tool_calls;
  std::vector<std::string> errors;
};

// Throws core::UserError naming the index and the problem unless `tools` is an array of OpenAI
// function tools: {type: "function", function: {name: non-empty string, description?: string,
// parameters?: {type: "object", properties?: object of objects, required?: [names in properties]}}}.
void validate_tools(const nlohmann::json& tools);

// The text appended to the system message for `tools` (validated first).
std::string render_tools(const nlohmann::json& tools, ToolStyle style);

// "<tool_call>\n{...}\n</tool_call>" per call, joined by "\n".
std::string render_tool_calls(const std::vector<ToolCall>& calls);

// Splits a completion into content and tool calls; never throws. Call ids are "call_<i>" with i
// counted from `first_id`.
AssistantReply parse_assistant_reply(std::string_view text, int first_id = 0);

// OpenAI chat messages -> ChatMessage list for apply_chat_template: tools are rendered into the
// system message; an assistant message's tool_calls ({id, type, function: {name, arguments: JSON
// string or object}}) become rendered blocks after its content; a "tool" message becomes a tool
// turn wrapped in <tool_response>. Throws core::UserError on a message without a role, unknown
// roles, content that is not a string (or null for assistants with tool calls), or arguments
// that are not a JSON object.
std::vector<ChatMessage> chat_messages_with_tools(const nlohmann::json& messages, const nlohmann::json& tools,
                                                  ToolStyle style);

}  // namespace rlpp::nn
