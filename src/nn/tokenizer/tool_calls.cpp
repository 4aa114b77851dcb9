#include "rlpp/nn/tokenizer/tool_calls.h"

#include <algorithm>

#include "rlpp/core/error.h"

namespace rlpp::nn {

namespace {

using nlohmann::json;

constexpr std::string_view kOpen = "<tool_call>";
constexpr std::string_view kClose = "</tool_call>";
constexpr int kMaxArgumentsDepth = 64;

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

void append_block(std::string& out, const std::string& block) {
  if (block.empty()) return;
  if (!out.empty()) out += "\n";
  out += block;
}

json call_json(const ToolCall& c) { return json{{"name", c.name}, {"arguments", c.arguments}}; }

std::string compact_signature(const json& function) {
  std::string out = function.at("name").get<std::string>() + "(";
  if (function.contains("parameters")) {
    const json& params = function.at("parameters");
    std::vector<std::string> required;
    if (params.contains("required")) required = params.at("required").get<std::vector<std::string>>();
    bool first = true;
    if (params.contains("properties")) {
      for (const auto& [key, schema] : params.at("properties").items()) {
        const bool req = std::find(required.begin(), required.end(), key) != required.end();
        std::string type = schema.contains("type") && schema.at("type").is_string()
                               ? schema.at("type").get<std::string>() : "any";
        out += (first ? "" : ",") + key + (req ? ":" : "?:") + type;
        first = false;
      }
    }
  }
  return out + ")";
}

}  // namespace

ToolStyle tool_style_from_name(std::string_view name) {
  if (name == "full") return ToolStyle::kFull;
  if (name == "compact") return ToolStyle::kCompact;
  throw core::UserError("unknown tool style '" + std::string(name) + "' (valid: full, compact)");
}

void validate_tools(const json& tools) {
  auto fail = [](const std::string& where, const std::string& what) {
    throw core::UserError("invalid tools: " + where + ": " + what);
  };
  if (!tools.is_array()) fail("tools", "must be an array");
  for (size_t i = 0; i < tools.size(); ++i) {
    const std::string where = "tools[" + std::to_string(i) + "]";
    const json& t = tools[i];
    if (!t.is_object()) fail(where, "must be an object");
    if (!t.contains("type") || t.at("type") != "function") fail(where, "type must be \"function\"");
    if (!t.contains("function") || !t.at("function").is_object()) fail(where, "function must be an object");
    const json& f = t.at("function");
    if (!f.contains("name") || !f.at("name").is_string() || f.at("name").get<std::string>().empty())
      fail(where, "function.name must be a non-empty string");
    if (f.contains("description") && !f.at("description").is_string())
      fail(where, "function.description must be a string");
    if (!f.contains("parameters")) continue;
    const json& p = f.at("parameters");
    if (!p.is_object() || !p.contains("type") || p.at("type") != "object")
      fail(where, "function.parameters must be an object schema with type \"object\"");
    if (p.contains("properties")) {
      if (!p.at("properties").is_object()) fail(where, "function.parameters.properties must be an object");
      for (const auto& [key, schema] : p.at("properties").items())
        if (!schema.is_object()) fail(where, "property '" + key + "' must be a schema object");
    }
    if (p.contains("required")) {
      if (!p.at("required").is_array()) fail(where, "function.parameters.required must be an array");
      for (const json& r : p.at("required")) {
        if (!r.is_string()) fail(where, "function.parameters.required must hold strings");
        if (!p.contains("properties") || !p.at("properties").contains(r.get<std::string>()))
          fail(where, "required parameter '" + r.get<std::string>() + "' is not in properties");
      }
    }
  }
}

std::string render_tools(const json& tools, ToolStyle style) {
  validate_tools(tools);
  std::string out;
  if (style == ToolStyle::kCompact) {
    out = "<tools>\n";
    for (const json& t : tools) out += compact_signature(t.at("function")) + "\n";
    return out + "</tools>";
  }
  out = "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n";
  for (const json& t : tools) out += t.dump() + "\n";
  out += "</tools>\n\nFor each function call, return a json object with function name and arguments "
         "within <tool_call></tool_call> XML tags:\n<tool_call>\n"
         "{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>";
  return out;
}

std::string render_tool_calls(const std::vector<ToolCall>& calls) {
  std::string out;
  for (const auto& c : calls)
    append_block(out, std::string(kOpen) + "\n" + call_json(c).dump() + "\n" + std::string(kClose));
  return out;
}

AssistantReply parse_assistant_reply(std::string_view text, int first_id) {
  AssistantReply reply;
  std::string content;
  size_t pos = 0;
  int next_id = first_id;
  while (pos < text.size()) {
    const size_t open = text.find(kOpen, pos);
    if (open == std::string_view::npos) {
      content += text.substr(pos);
      break;
    }
    content += text.substr(pos, open - pos);
    const size_t body = open + kOpen.size();
    const size_t close = text.find(kClose, body);
    if (close == std::string_view::npos) {
      reply.errors.push_back("unclosed <tool_call> block");
      content += text.substr(open);
      break;
    }
    const std::string_view block = text.substr(body, close - body);
    const size_t end = close + kClose.size();
    json j = json::parse(block, nullptr, /*allow_exceptions=*/false);
    std::string error;
    if (j.is_discarded()) error = "tool call is not valid JSON";
    else if (!j.is_object() || !j.contains("name") || !j.at("name").is_string() ||
             j.at("name").get<std::string>().empty())
      error = "tool call has no \"name\" string";
    else if (j.contains("arguments") && !j.at("arguments").is_object() && !j.at("arguments").is_null())
      error = "tool call \"arguments\" is not an object";
    if (!error.empty()) {
      reply.errors.push_back(error + ": " + trim(block));
      content += text.substr(open, end - open);
    } else {
      ToolCall call;
      call.id = "call_" + std::to_string(next_id++);
      call.name = j.at("name").get<std::string>();
      if (j.contains("arguments") && j.at("arguments").is_object()) call.arguments = j.at("arguments");
      reply.tool_calls.push_back(std::move(call));
    }
    pos = end;
  }
  reply.content = trim(content);
  return reply;
}

std::vector<ChatMessage> chat_messages_with_tools(const json& messages, const json& tools, ToolStyle style) {
  if (!messages.is_array()) throw core::UserError("messages must be an array");
  const bool have_tools = tools.is_array() && !tools.empty();
  const std::string tool_text = have_tools ? render_tools(tools, style) : "";
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string where = "messages[" + std::to_string(i) + "]";
    const json& m = messages[i];
    if (!m.is_object() || !m.contains("role") || !m.at("role").is_string())
      throw core::UserError(where + " has no role");
    const std::string role = m.at("role").get<std::string>();
    const bool has_calls = role == "assistant" && m.contains("tool_calls") && !m.at("tool_calls").is_null();
    std::string content;
    if (m.contains("content") && m.at("content").is_string()) content = m.at("content").get<std::string>();
    else if (!(m.contains("content") && m.at("content").is_null() && has_calls) &&
             !(!m.contains("content") && has_calls))
      throw core::UserError(where + ".content must be a string");
    if (role == "system" || role == "user") {
      out.push_back({role, content});
    } else if (role == "assistant") {
      if (has_calls) {
        const json& tc = m.at("tool_calls");
        if (!tc.is_array()) throw core::UserError(where + ".tool_calls must be an array");
        std::vector<ToolCall> calls;
        for (size_t k = 0; k < tc.size(); ++k) {
          const std::string cw = where + ".tool_calls[" + std::to_string(k) + "]";
          if (!tc[k].is_object() || !tc[k].contains("function") || !tc[k].at("function").is_object() ||
              !tc[k].at("function").contains("name") || !tc[k].at("function").at("name").is_string())
            throw core::UserError(cw + " needs function.name");
          ToolCall call;
          call.name = tc[k].at("function").at("name").get<std::string>();
          json args = tc[k].at("function").value("arguments", json::object());
          if (args.is_string()) {
            // bounded like a request body (serve::kMaxRequestDepth): rendering copies and dumps recursively
            args = json::parse(
                args.get<std::string>(),
                [&](int depth, json::parse_event_t, json&) {
                  if (depth > kMaxArgumentsDepth)
                    throw core::UserError(cw + ".function.arguments nests deeper than " +
                                          std::to_string(kMaxArgumentsDepth) + " levels");
                  return true;
                },
                /*allow_exceptions=*/false);
            if (args.is_discarded()) throw core::UserError(cw + ".function.arguments is not valid JSON");
          }
          if (!args.is_object()) throw core::UserError(cw + ".function.arguments must be a JSON object");
          call.arguments = std::move(args);
          calls.push_back(std::move(call));
        }
        std::string text = trim(content);
        append_block(text, render_tool_calls(calls));
        out.push_back({"assistant", text});
      } else {
        out.push_back({"assistant", content});
      }
    } else if (role == "tool") {
      out.push_back({"tool", "<tool_response>\n" + content + "\n</tool_response>"});
    } else {
      throw core::UserError(where + " has role '" + role + "' (valid: system, user, assistant, tool)");
    }
  }
  if (have_tools) {
    if (!out.empty() && out.front().role == "system") out.front().content += "\n\n" + tool_text;
    else out.insert(out.begin(), ChatMessage{"system", tool_text});
  }
  return out;
}

}  // namespace rlpp::nn
