#include "rlpp/harness/http_chat_model.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "rlpp/core/error.h"

#ifdef RLPP_HAVE_HTTPLIB
#include <httplib.h>
#endif

namespace rlpp::harness {

using nlohmann::json;

Endpoint chat_completions_endpoint(const std::string& base_url) {
  std::string url = base_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos || (url.compare(0, scheme_end, "http") != 0 && url.compare(0, scheme_end, "https") != 0))
    throw core::UserError("--base-url must start with http:// or https://, got '" + base_url + "'");
  const auto path_start = url.find('/', scheme_end + 3);
  Endpoint e;
  e.scheme_host_port = url.substr(0, path_start);
  if (e.scheme_host_port.size() <= scheme_end + 3) throw core::UserError("--base-url has no host: '" + base_url + "'");
  std::string prefix = path_start == std::string::npos ? "" : url.substr(path_start);
  const bool has_v1 = prefix.size() >= 3 && prefix.compare(prefix.size() - 3, 3, "/v1") == 0;
  e.path = prefix + (has_v1 ? "/chat/completions" : "/v1/chat/completions");
  return e;
}

#ifdef RLPP_HAVE_HTTPLIB
namespace {

class HttpChatModel final : public ChatModel {
 public:
  explicit HttpChatModel(HttpModelOptions opts) : opts_(std::move(opts)), ep_(chat_completions_endpoint(opts_.base_url)) {}

  std::string name() const override { return opts_.model; }

  json complete(const json& messages, const json& tools) override {
    json body{{"model", opts_.model}, {"messages", messages}};
    if (tools.is_array() && !tools.empty()) body["tools"] = tools;
    if (opts_.temperature) body["temperature"] = *opts_.temperature;
    if (opts_.seed) body["seed"] = *opts_.seed;
    if (opts_.max_tokens) body["max_tokens"] = *opts_.max_tokens;
    const std::string payload = body.dump();
    httplib::Headers headers;
    if (!opts_.api_key.empty()) headers.emplace("Authorization", "Bearer " + opts_.api_key);

    std::string last_error;
    for (int attempt = 0; attempt <= opts_.retries; ++attempt) {
      if (attempt > 0) {
        ++stats_retries;
        const double wait = std::min(opts_.backoff_s * std::pow(2.0, attempt - 1), opts_.max_backoff_s);
        std::this_thread::sleep_for(std::chrono::duration<double>(wait));
      }
      ++stats_requests;
      // One client per attempt: requests from several threads never share a connection.
      httplib::Client cli(ep_.scheme_host_port);
      const auto sec = static_cast<time_t>(opts_.timeout_s);
      const auto usec = static_cast<time_t>((opts_.timeout_s - sec) * 1e6);
      cli.set_connection_timeout(sec, usec);
      cli.set_read_timeout(sec, usec);
      cli.set_write_timeout(sec, usec);
      auto res = cli.Post(ep_.path, headers, payload, "application/json");
      if (!res) {
        last_error = "no response from " + ep_.scheme_host_port + ep_.path + " (" + httplib::to_string(res.error()) + ")";
        continue;
      }
      if (res->status == 429 || res->status >= 500) {
        last_error = "HTTP " + std::to_string(res->status) + ": " + res->body.substr(0, 200);
        continue;
      }
      if (res->status != 200) {
        ++stats_failures;
        throw ModelError("HTTP " + std::to_string(res->status) + " from " + ep_.path + ": " + res->body.substr(0, 500));
      }
      try {
        const json r = json::parse(res->body);
        return normalize_assistant_message(r.at("choices").at(0).at("message"));
      } catch (const json::exception& e) {
        ++stats_failures;
        throw ModelError(std::string("response is not a chat completion (") + e.what() + "): " + res->body.substr(0, 300));
      } catch (const ModelError&) {
        ++stats_failures;
        throw;
      }
    }
    ++stats_failures;
    throw ModelError("gave up after " + std::to_string(opts_.retries + 1) + " attempts: " + last_error);
  }

  std::atomic<long> stats_requests{0}, stats_retries{0}, stats_failures{0};

 private:
  HttpModelOptions opts_;
  Endpoint ep_;
};

}  // namespace
#endif

std::unique_ptr<ChatModel> make_http_chat_model(const HttpModelOptions& opts) {
  core::require(!opts.model.empty(), "--model must not be empty");
  core::require(opts.timeout_s > 0 && std::isfinite(opts.timeout_s),
                "--timeout must be > 0 seconds, got " + std::to_string(opts.timeout_s));
  core::require(opts.retries >= 0, "--retries must be >= 0, got " + std::to_string(opts.retries));
  core::require(opts.backoff_s >= 0, "retry back-off must be >= 0");
  chat_completions_endpoint(opts.base_url);  // validates the URL
#ifdef RLPP_HAVE_HTTPLIB
  return std::make_unique<HttpChatModel>(opts);
#else
  throw core::UserError("rlpp was built without cpp-httplib: HTTP models are unavailable (use --scripted oracle)");
#endif
}

HttpStats http_model_stats(const ChatModel& model) {
  HttpStats s;
#ifdef RLPP_HAVE_HTTPLIB
  if (const auto* m = dynamic_cast<const HttpChatModel*>(&model)) {
    s.requests = m->stats_requests.load();
    s.retries = m->stats_retries.load();
    s.failures = m->stats_failures.load();
  }
#else
  (void)model;
#endif
  return s;
}

}  // namespace rlpp::harness
