#include "rlpp/serve/protocol.h"

#include <limits>

#include "rlpp/core/error.h"

namespace rlpp::serve {

using nlohmann::json;

json ApiError::body() const {
  json e = {{"message", message_}, {"type", type_}, {"param", nullptr}, {"code", nullptr}};
  if (!param_.empty()) e["param"] = param_;
  if (!code_.empty()) e["code"] = code_;
  return json{{"error", e}};
}

namespace {

ApiError bad(const std::string& param, const std::string& message, const std::string& code = "invalid_value") {
  return ApiError(400, message, "invalid_request_error", param, code);
}

// The field, or nullptr when absent or null (OpenAI clients send null for "not set").
const json* field(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

double number_in(const json& obj, const char* name, double def, double lo, double hi, bool lo_open) {
  const json* v = field(obj, name);
  if (!v) return def;
  if (!v->is_number()) throw bad(name, std::string("'") + name + "' must be a number", "invalid_type");
  const double x = v->get<double>();
  if (!(lo_open ? x > lo : x >= lo) || !(x <= hi))
    throw bad(name, std::string("'") + name + "' must be in " + (lo_open ? "(" : "[") + std::to_string(lo) + ", " +
                        std::to_string(hi) + "], got " + v->dump());
  return x;
}

std::optional<int64_t> integer_in(const json& obj, const char* name, int64_t lo, int64_t hi) {
  const json* v = field(obj, name);
  if (!v) return std::nullopt;
  if (!v->is_number_integer()) throw bad(name, std::string("'") + name + "' must be an integer", "invalid_type");
  // an unsigned value above int64's range is out of range as well
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(hi))
    throw bad(name, std::string("'") + name + "' must be in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                        "], got " + v->dump());
  const int64_t x = v->get<int64_t>();
  if (x < lo || x > hi)
    throw bad(name, std::string("'") + name + "' must be in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                        "], got " + v->dump());
  return x;
}

}  // namespace

ChatRequest parse_chat_request(const std::string& body, const RequestLimits& limits) {
  // nlohmann parses iteratively but copies and serialises recursively, one stack frame chain per
  // level: a body of 10^5 '[' (200 KB, under the server's 1 MiB limit) overflowed the stack when the
  // messages were copied. Real requests nest a few levels (tool schemas a dozen or so).
  const json doc = json::parse(
      body,
      [](int depth, json::parse_event_t, json&) {
        if (depth > kMaxRequestDepth)
          throw bad("", "the request body nests deeper than " + std::to_string(kMaxRequestDepth) + " levels",
                    "invalid_json");
        return true;
      },
      /*allow_exceptions=*/false);
  if (doc.is_discarded()) throw bad("", "the request body is not valid JSON", "invalid_json");
  if (!doc.is_object()) throw bad("", "the request body must be a JSON object", "invalid_json");

  ChatRequest r;
  const json* model = field(doc, "model");
  if (!model) throw bad("model", "'model' is required", "missing_field");
  if (!model->is_string()) throw bad("model", "'model' must be a string", "invalid_type");
  r.model = model->get<std::string>();

  const json* messages = field(doc, "messages");
  if (!messages) throw bad("messages", "'messages' is required", "missing_field");
  if (!messages->is_array() || messages->empty())
    throw bad("messages", "'messages' must be a non-empty array", "invalid_type");
  for (size_t i = 0; i < messages->size(); ++i) {
    if (!(*messages)[i].is_object())
      throw bad("messages", "messages[" + std::to_string(i) + "] must be an object", "invalid_type");
  }
  r.messages = *messages;

  if (const json* tools = field(doc, "tools")) {
    try {
      nn::validate_tools(*tools);
    } catch (const core::UserError& e) {
      throw bad("tools", e.what(), "invalid_tools");
    }
    r.tools = *tools;
  }
  std::string choice = "auto";
  if (const json* tc = field(doc, "tool_choice")) {
    if (!tc->is_string() || (*tc != "auto" && *tc != "none"))
      throw bad("tool_choice", "'tool_choice' must be \"auto\" or \"none\" (forcing a tool is not supported)",
                "unsupported_value");
    choice = tc->get<std::string>();
  }
  r.use_tools = !r.tools.empty() && choice == "auto";

  r.max_tokens = integer_in(doc, "max_completion_tokens", 1, limits.max_new_tokens);
  if (auto m = integer_in(doc, "max_tokens", 1, limits.max_new_tokens)) r.max_tokens = m;
  r.temperature = number_in(doc, "temperature", 1.0, 0.0, 2.0, /*lo_open=*/false);
  r.top_p = number_in(doc, "top_p", 1.0, 0.0, 1.0, /*lo_open=*/true);
  if (auto s = integer_in(doc, "seed", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()))
    r.seed = static_cast<uint64_t>(*s);
  r.n = integer_in(doc, "n", 1, limits.max_n).value_or(1);

  if (const json* stop = field(doc, "stop")) {
    if (stop->is_string()) {
      r.stop.push_back(stop->get<std::string>());
    } else if (stop->is_array()) {
      for (const json& s : *stop) {
        if (!s.is_string()) throw bad("stop", "'stop' must be a string or an array of strings", "invalid_type");
        r.stop.push_back(s.get<std::string>());
      }
    } else {
      throw bad("stop", "'stop' must be a string or an array of strings", "invalid_type");
    }
    if (static_cast<int64_t>(r.stop.size()) > limits.max_stop)
      throw bad("stop", "'stop' has " + std::to_string(r.stop.size()) + " strings; at most " +
                            std::to_string(limits.max_stop));
    for (const std::string& s : r.stop)
      if (s.empty()) throw bad("stop", "'stop' strings must not be empty");
  }
  if (const json* s = field(doc, "stream")) {
    if (!s->is_boolean()) throw bad("stream", "'stream' must be true or false", "invalid_type");
    r.stream = s->get<bool>();
  }
  return r;
}

Choice make_choice(const nn::Tokenizer& tok, const std::vector<int64_t>& tokens, bool stopped,
                   const std::vector<std::string>& stop, bool use_tools) {
  Choice c;
  c.completion_tokens = static_cast<int64_t>(tokens.size());
  std::vector<int64_t> body = tokens;
  if (stopped && !body.empty()) body.pop_back();
  std::string text = tok.decode(body, /*skip_special=*/true);
  c.finish_reason = stopped ? "stop" : "length";
  size_t cut = std::string::npos;
  for (const std::string& s : stop) cut = std::min(cut, text.find(s));
  if (cut != std::string::npos) {
    text.resize(cut);
    c.finish_reason = "stop";
  }
  if (use_tools) {
    nn::AssistantReply reply = nn::parse_assistant_reply(text);
    c.content = std::move(reply.content);
    c.tool_calls = std::move(reply.tool_calls);
    if (!c.tool_calls.empty()) c.finish_reason = "tool_calls";
  } else {
    c.content = std::move(text);
  }
  return c;
}

json tool_calls_json(const std::vector<nn::ToolCall>& calls) {
  json out = json::array();
  for (const nn::ToolCall& t : calls) {
    out.push_back({{"id", t.id},
                   {"type", "function"},
                   {"function", {{"name", t.name}, {"arguments", t.arguments.dump()}}}});
  }
  return out;
}

namespace {

json message_json(const Choice& c) {
  json m = {{"role", "assistant"}, {"content", c.content}};
  if (!c.tool_calls.empty()) {
    if (c.content.empty()) m["content"] = nullptr;  // as OpenAI sends a pure tool-call turn
    m["tool_calls"] = tool_calls_json(c.tool_calls);
  }
  return m;
}

json chunk(const std::string& id, int64_t created, const std::string& model, int64_t index, json delta,
           const json& finish_reason) {
  return {{"id", id},
          {"object", "chat.completion.chunk"},
          {"created", created},
          {"model", model},
          {"choices", json::array({{{"index", index}, {"delta", std::move(delta)}, {"finish_reason", finish_reason}}})}};
}

}  // namespace

json completion_json(const std::string& id, int64_t created, const std::string& model,
                     const std::vector<Choice>& choices, int64_t prompt_tokens) {
  json cs = json::array();
  int64_t completion = 0;
  for (size_t i = 0; i < choices.size(); ++i) {
    cs.push_back({{"index", i}, {"message", message_json(choices[i])}, {"finish_reason", choices[i].finish_reason}});
    completion += choices[i].completion_tokens;
  }
  return {{"id", id},
          {"object", "chat.completion"},
          {"created", created},
          {"model", model},
          {"choices", cs},
          {"usage",
           {{"prompt_tokens", prompt_tokens},
            {"completion_tokens", completion},
            {"total_tokens", prompt_tokens + completion}}}};
}

std::string completion_stream(const std::string& id, int64_t created, const std::string& model,
                              const std::vector<Choice>& choices,
                              const std::vector<std::vector<std::string>>& pieces) {
  std::string out;
  auto emit = [&](const json& j) { out += "data: " + j.dump() + "\n\n"; };
  for (size_t i = 0; i < choices.size(); ++i) {
    const Choice& c = choices[i];
    const int64_t idx = static_cast<int64_t>(i);
    emit(chunk(id, created, model, idx, {{"role", "assistant"}, {"content", ""}}, nullptr));
    const std::vector<std::string> parts =
        i < pieces.size() && !pieces[i].empty() ? pieces[i] : std::vector<std::string>{c.content};
    for (const std::string& p : parts) {
      if (!p.empty()) emit(chunk(id, created, model, idx, {{"content", p}}, nullptr));
    }
    if (!c.tool_calls.empty()) {
      json calls = tool_calls_json(c.tool_calls);
      for (size_t k = 0; k < calls.size(); ++k) calls[k]["index"] = k;  // stream deltas carry an index
      emit(chunk(id, created, model, idx, {{"tool_calls", calls}}, nullptr));
    }
    emit(chunk(id, created, model, idx, json::object(), c.finish_reason));
  }
  out += "data: [DONE]\n\n";
  return out;
}

std::vector<std::string> content_pieces(const nn::Tokenizer& tok, const std::vector<int64_t>& tokens,
                                        const std::string& content) {
  std::vector<std::string> pieces;
  std::vector<int64_t> prefix;
  size_t done = 0;  // bytes of content already in pieces
  for (int64_t t : tokens) {
    if (done >= content.size()) break;
    prefix.push_back(t);
    const std::string text = tok.decode(prefix, /*skip_special=*/true);
    if (text.compare(0, std::min(text.size(), content.size()), content, 0, std::min(text.size(), content.size())) != 0)
      return {content};  // content is not a prefix of the decoded text (e.g. trimmed)
    const size_t upto = std::min(text.size(), content.size());
    // wait while the decoded text ends inside a UTF-8 sequence
    if (upto > done && (upto == content.size() || (static_cast<unsigned char>(content[upto]) & 0xC0) != 0x80)) {
      pieces.push_back(content.substr(done, upto - done));
      done = upto;
    }
  }
  if (done < content.size()) pieces.push_back(content.substr(done));
  return pieces;
}

}  // namespace rlpp::serve
