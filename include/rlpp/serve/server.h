// `rlpp serve`: an OpenAI-compatible HTTP server for one model.
//
//   GET  /health               {"status": "ok"} (no key needed)
//   GET  /v1/models            {"object": "list", "data": [{id, object: "model", created, owned_by}]}
//   POST /v1/chat/completions  protocol.h; prompts built by nn::chat_messages_with_tools +
//                              apply_chat_template (or raw), generated through the BatchScheduler
//
// Every failure is a JSON error (protocol.h): 400 bad request, 401 key, 404 path or model, 413 body
// too large, 500 generation failed (the server keeps running). Needs cpp-httplib: without it
// (RLPP_HAVE_HTTPLIB undefined) start()/listen() throw core::UserError.
#pragma once
#include <cstdint>
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
  size_t max_body_bytes = 1 << 20;
  int http_threads = 0;            // 0 = max(8, 2 * max_batch + 2): a handler waits for its batch
};

class Server {
 public:
  Server(std::shared_ptr<Backend> backend, ServerOptions opts);
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds host:port (throws core::UserError when it cannot) and serves on a background thread.
  void start();
  // Binds and serves on the calling thread until stop().
  void listen();
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
