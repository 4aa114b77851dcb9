// `rlpp serve`: an OpenAI-compatible HTTP server for one model.
//
//   GET  /health               {"status": "ok"} (no key needed)
//   GET  /v1/models            {"object": "list", "data": [{id, object: "model", created, owned_by}]}
//   POST /v1/chat/completions  protocol.h; prompts built by nn::chat_messages_with_tools +
//                              apply_chat_template (or raw), generated through the BatchScheduler
//
// Every failure is a JSON error (protocol.h): 400 bad request, 401 key, 404 path or model, 413 body
// too large, 500 generation failed (the server keeps running); malformed or slow HTTP is refused by
// the connection layer (src/serve/http_guard.h: 400, 408, 411, 413, 414, 431, 501, 503) and the
// connection closed. Needs cpp-httplib: without it (RLPP_HAVE_HTTPLIB undefined) start()/listen()
// throw core::UserError.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "rlpp/nn/tokenizer/tool_calls.h"
#include "rlpp/serve/backend.h"
#include "rlpp/serve/lm_backend.h"
#include "rlpp/serve/protocol.h"
#include "rlpp/serve/scheduler.h"

namespace rlpp::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";  // loopback unless asked otherwise
  int port = 8000;                 // 0 = any free port (see Server::port)
  std::string model_name = "rlpp";
  std::string api_key;             // "" = no key; else "Authorization: Bearer <key>" is required
  PromptFormat format;
  nn::ToolStyle tool_style = nn::ToolStyle::kCompact;
  SchedulerOptions scheduler;
  RequestLimits limits;            // max_tokens / n / stop bounds
  int64_t max_prompt_tokens = 0;   // 0 = the model's context length
  int64_t default_max_tokens = 0;  // when a request gives none; 0 = limits.max_new_tokens
  size_t max_body_bytes = 1 << 20;  // decoded body, chunked or not (larger: 413)
  // Each open connection has a thread, so a request still arriving delays no other; past
  // max_connections a new connection is answered 503.
  int max_connections = 256;
  int read_timeout_ms = 10000;     // longest silence while a request arrives (then 408)
  int request_timeout_ms = 30000;  // a request's line, headers and body must arrive within this
  int keep_alive_ms = 5000;        // an idle connection is closed after this
};

class Server {
 public:
  Server(std::shared_ptr<Backend> backend, ServerOptions opts);
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds host:port (throws core::UserError when it cannot) and serves on a background thread.
  void start();
  // Binds (throws core::UserError when it cannot), calls on_listening with the bound port (the
  // free port chosen for port 0), then serves on the calling thread until stop().
  void listen(const std::function<void(int port)>& on_listening = {});
  // Stops accepting, lets in-flight requests finish, then stops the scheduler. Idempotent; may be
  // called from any thread (e.g. a signal watcher).
  void stop();
  int port() const;  // the bound port (after start/listen bound)
  SchedulerStats stats() const;
  const ServerOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rlpp::serve
