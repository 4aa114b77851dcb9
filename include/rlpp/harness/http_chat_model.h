// A ChatModel served by any OpenAI-compatible endpoint: POST <base>/v1/chat/completions with
// {model, messages, tools, temperature?, seed?, max_tokens?}; the reply's choices[0].message is
// the assistant message. Built only with cpp-httplib (RLPP_HAVE_HTTPLIB); without it
// make_http_chat_model throws core::UserError.
#pragma once
#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "rlpp/harness/chat_model.h"

namespace rlpp::harness {

struct HttpModelOptions {
  std::string base_url;         // "http://127.0.0.1:8080" or ".../v1" (both reach /v1/chat/completions)
  std::string api_key;          // sent as "Authorization: Bearer <key>" when not empty
  std::string model;
  double timeout_s = 60.0;      // connect, read and write timeout of one attempt
  int retries = 3;              // extra attempts after a 429, a 5xx or a connection error/timeout
  double backoff_s = 1.0;       // wait before retry r (0-based): min(backoff_s * 2^r, max_backoff_s)
  double max_backoff_s = 30.0;
  std::optional<double> temperature;
  std::optional<int64_t> seed;
  std::optional<int> max_tokens;
};

// Splits a base URL into "scheme://host[:port]" and the request path of chat completions.
// UserError for a URL without http:// or https:// or without a host.
struct Endpoint {
  std::string scheme_host_port;
  std::string path;             // e.g. "/v1/chat/completions"
};
Endpoint chat_completions_endpoint(const std::string& base_url);

// Validates the options (UserError naming the bad one) and returns the client.
std::unique_ptr<ChatModel> make_http_chat_model(const HttpModelOptions& opts);

// Request counters of an HTTP model (for the report), read via http_model_stats.
struct HttpStats {
  long requests = 0;            // attempts sent
  long retries = 0;             // attempts after the first of a request
  long failures = 0;            // requests that raised ModelError
};
// Counters of a model made by make_http_chat_model; all zero for any other model.
HttpStats http_model_stats(const ChatModel& model);

}  // namespace rlpp::harness
