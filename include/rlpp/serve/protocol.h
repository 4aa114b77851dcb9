// The OpenAI chat-completions wire format: request JSON -> ChatRequest (every field checked, the
// first problem reported as an ApiError that names the field), and completions -> the response
// object or the server-sent-event stream of chunks.
//
// Response:  {id, object: "chat.completion", created, model, choices: [{index, message: {role:
//            "assistant", content, tool_calls?: [{id, type: "function", function: {name, arguments:
//            JSON string}}]}, finish_reason: "stop" | "length" | "tool_calls"}], usage:
//            {prompt_tokens, completion_tokens, total_tokens}}
// Stream:    "data: {chunk}\n\n" per chat.completion.chunk (the role, then content pieces, then the
//            tool calls whole, then an empty delta with the finish_reason), then "data: [DONE]\n\n".
// Error:     {error: {message, type, param, code}} with an HTTP status.
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlpp/nn/tokenizer/tool_calls.h"
#include "rlpp/nn/tokenizer/tokenizer.h"

namespace rlpp::serve {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string message, std::string type = "invalid_request_error", std::string param = "",
           std::string code = "")
      : std::runtime_error(message), status_(status), message_(std::move(message)), type_(std::move(type)),
        param_(std::move(param)), code_(std::move(code)) {}
  int status() const { return status_; }
  // The whole message: what() stops at a NUL byte that came with the request's text.
  const std::string& message() const { return message_; }
  // {"error": {"message", "type", "param" (null when empty), "code" (null when empty)}}
  nlohmann::json body() const;

 private:
  int status_;
  std::string message_, type_, param_, code_;
};

// Server-side bounds a request is checked against.
struct RequestLimits {
  int64_t max_new_tokens = 256;  // largest max_tokens
  int64_t max_n = 8;             // largest n
  int64_t max_stop = 4;          // most stop strings (OpenAI: 4)
};

struct ChatRequest {
  std::string model;
  nlohmann::json messages = nlohmann::json::array();
  nlohmann::json tools = nlohmann::json::array();  // validated function tools ([] = none)
  bool use_tools = false;          // tools given and tool_choice != "none"
  std::optional<int64_t> max_tokens;  // max_tokens or max_completion_tokens; nullopt = server default
  double temperature = 1.0;        // [0, 2]
  double top_p = 1.0;              // (0, 1]
  std::optional<uint64_t> seed;
  int64_t n = 1;
  std::vector<std::string> stop;   // non-empty strings; the completion ends before the first one
  bool stream = false;
};

// Deepest JSON nesting a request may have (objects and arrays; deeper is a 400).
constexpr int kMaxRequestDepth = 64;

// Throws ApiError (400, param = the field) on malformed JSON, nesting deeper than kMaxRequestDepth,
// a body that is not an object, a missing or mistyped field, values out of range, invalid tool
// schemas (nn::validate_tools) or a tool_choice other than "auto", "none" or absent.
ChatRequest parse_chat_request(const std::string& body, const RequestLimits& limits);

// One finished choice, before formatting.
struct Choice {
  std::string content;                  // text before the first tool call (stop strings applied)
  std::vector<nn::ToolCall> tool_calls;
  std::string finish_reason;            // "stop" | "length" | "tool_calls"
  int64_t completion_tokens = 0;        // tokens generated (the stop token included)
};

// The text of generated tokens: the final stop token dropped when `stopped`, special tokens
// skipped; cut before the earliest stop string (which makes the finish reason "stop"); split into
// content and tool calls when use_tools (call ids "call_<i>", i from 0 within the choice); any
// tool call makes the finish reason "tool_calls".
Choice make_choice(const nn::Tokenizer& tok, const std::vector<int64_t>& tokens, bool stopped,
                   const std::vector<std::string>& stop, bool use_tools);

nlohmann::json tool_calls_json(const std::vector<nn::ToolCall>& calls);  // [{id, type, function}]

nlohmann::json completion_json(const std::string& id, int64_t created, const std::string& model,
                               const std::vector<Choice>& choices, int64_t prompt_tokens);

// The whole event stream of a finished completion (see the top of the file). Content is split into
// `pieces` (their concatenation must equal the choice's content; empty = one piece).
std::string completion_stream(const std::string& id, int64_t created, const std::string& model,
                              const std::vector<Choice>& choices,
                              const std::vector<std::vector<std::string>>& pieces);

// Content split at token boundaries: the growth of decode(tokens[0..k]) for k = 1.., clipped to
// `content` when it is a prefix of the decoded text; else {content}.
std::vector<std::string> content_pieces(const nn::Tokenizer& tok, const std::vector<int64_t>& tokens,
                                        const std::string& content);

}  // namespace rlpp::serve
