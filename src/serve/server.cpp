#include "rlpp/serve/server.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "rlpp/core/error.h"

#ifdef RLPP_HAVE_HTTPLIB
#include "http_guard.h"
#endif

namespace rlpp::serve {

using nlohmann::json;

#ifdef RLPP_HAVE_HTTPLIB

namespace {

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void send_error(httplib::Response& res, const ApiError& e) { send_json(res, e.status(), e.body()); }

constexpr const char* kChatPath = "/v1/chat/completions";

detail::GuardLimits guard_limits(const ServerOptions& o) {
  detail::GuardLimits g;
  g.max_body_bytes = o.max_body_bytes;
  g.max_connections = static_cast<size_t>(std::max(1, o.max_connections));
  g.read_timeout_ms = std::max(1, o.read_timeout_ms);
  g.request_timeout_ms = std::max(1, o.request_timeout_ms);
  g.keep_alive_ms = std::max(1, o.keep_alive_ms);
  return g;
}

int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct Server::Impl {
  std::shared_ptr<Backend> backend;
  ServerOptions opts;
  BatchScheduler scheduler;
  detail::GuardedServer http;
  std::thread thread;
  std::atomic<bool> thread_done{false};  // the background accept loop returned
  std::atomic<int> port{-1};
  std::atomic<uint64_t> next_id{0};
  int64_t created = unix_seconds();
  std::mutex stop_mu;

  Impl(std::shared_ptr<Backend> b, ServerOptions o)
      : backend(std::move(b)),
        opts(std::move(o)),
        scheduler(*backend, opts.scheduler),
        http(guard_limits(opts), detail::GuardRoutes{{"/health", "/v1/models"}, kChatPath}) {
    routes();
  }

  void check_key(const httplib::Request& req) const {
    if (opts.api_key.empty()) return;
    if (req.get_header_value("Authorization") != "Bearer " + opts.api_key)
      throw ApiError(401, "missing or wrong API key (send 'Authorization: Bearer <key>')", "invalid_request_error", "",
                     "invalid_api_key");
  }

  // messages (+ tools) -> prompt text, through the one chat/tool format of nn/tokenizer/tool_calls.h
  std::string prompt_text(const ChatRequest& r) const {
    std::vector<nn::ChatMessage> turns;
    try {
      turns = nn::chat_messages_with_tools(r.messages, r.use_tools ? r.tools : json::array(), opts.tool_style);
      for (nn::ChatMessage& m : turns)
        if (m.role == "assistant") m.content += opts.format.turn_end;
      if (opts.format.chat) return nn::apply_chat_template(*opts.format.chat, turns, /*add_generation_prompt=*/true);
    } catch (const core::UserError& e) {
      throw ApiError(400, e.what(), "invalid_request_error", "messages", "invalid_messages");
    }
    std::string raw;  // raw: the contents alone, as bare task prompts were trained
    for (const nn::ChatMessage& m : turns) raw += m.content;
    return raw;
  }

  void chat(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    check_key(req);  // before the body is read: an unauthorized upload is not taken in
    const ChatRequest r = parse_chat_request(detail::read_body(reader, opts.max_body_bytes), opts.limits);
    if (r.model != opts.model_name)
      throw ApiError(404, "the model '" + r.model + "' does not exist (this server serves '" + opts.model_name + "')",
                     "invalid_request_error", "model", "model_not_found");
    const nn::Tokenizer& tok = backend->tokenizer();
    std::vector<int64_t> prompt;
    if (opts.format.add_bos && tok.bos_id >= 0) prompt.push_back(tok.bos_id);
    try {
      const std::vector<int64_t> ids = tok.encode(prompt_text(r));
      prompt.insert(prompt.end(), ids.begin(), ids.end());
    } catch (const core::UserError& e) {
      throw ApiError(400, std::string("the prompt cannot be tokenized: ") + e.what(), "invalid_request_error",
                     "messages", "unencodable_text");
    }
    if (prompt.empty()) throw ApiError(400, "the prompt is empty", "invalid_request_error", "messages", "empty_prompt");
    const int64_t n_prompt = static_cast<int64_t>(prompt.size());
    const int64_t ctx = backend->context_length();
    const int64_t max_prompt = opts.max_prompt_tokens > 0 ? opts.max_prompt_tokens : (ctx > 0 ? ctx - 1 : 0);
    if (max_prompt > 0 && n_prompt > max_prompt)
      throw ApiError(400, "the prompt has " + std::to_string(n_prompt) + " tokens; this server accepts at most " +
                              std::to_string(max_prompt),
                     "invalid_request_error", "messages", "context_length_exceeded");
    const int64_t def = opts.default_max_tokens > 0 ? opts.default_max_tokens : opts.limits.max_new_tokens;
    int64_t max_tokens = r.max_tokens.value_or(def);
    if (ctx > 0) {
      const int64_t room = ctx - n_prompt;
      if (r.max_tokens && *r.max_tokens > room)
        throw ApiError(400, "prompt (" + std::to_string(n_prompt) + " tokens) + max_tokens (" +
                                std::to_string(*r.max_tokens) + ") exceed the model's context of " +
                                std::to_string(ctx) + " tokens",
                       "invalid_request_error", "max_tokens", "context_length_exceeded");
      max_tokens = std::min(max_tokens, room);  // an unset max_tokens fills the context
    }

    GenerationJob job{prompt, r.n, max_tokens, r.temperature, r.top_p, r.seed};
    std::vector<RowOutput> rows;
    try {
      rows = scheduler.submit(std::move(job)).get();
    } catch (const std::exception& e) {
      throw ApiError(500, std::string("generation failed: ") + e.what(), "server_error", "", "generation_failed");
    }
    std::vector<Choice> choices;
    std::vector<std::vector<std::string>> pieces;
    for (const RowOutput& row : rows) {
      choices.push_back(make_choice(tok, row.tokens, row.stopped, r.stop, r.use_tools));
      if (r.stream) pieces.push_back(content_pieces(tok, row.tokens, choices.back().content));
    }
    char id[40];
    std::snprintf(id, sizeof(id), "chatcmpl-%016llx%06llx", static_cast<unsigned long long>(created),
                  static_cast<unsigned long long>(next_id.fetch_add(1)));
    const int64_t now = unix_seconds();
    if (r.stream) {
      res.status = 200;
      res.set_header("Cache-Control", "no-cache");
      res.set_content(completion_stream(id, now, opts.model_name, choices, pieces), "text/event-stream");
    } else {
      send_json(res, 200, completion_json(id, now, opts.model_name, choices, n_prompt));
    }
  }

  // Runs a handler; every failure becomes a JSON error and the server goes on.
  template <typename F>
  void guarded(httplib::Response& res, F&& f) {
    try {
      f();
    } catch (const ApiError& e) {
      send_error(res, e);
    } catch (const std::exception& e) {
      send_error(res, ApiError(500, std::string("internal error: ") + e.what(), "server_error"));
    }
  }

  void models(const httplib::Request& req, httplib::Response& res) {
    check_key(req);
    json m = {{"id", opts.model_name}, {"object", "model"}, {"created", created}, {"owned_by", "rlpp"}};
    send_json(res, 200, {{"object", "list"}, {"data", json::array({m})}});
  }

  void health(const httplib::Request&, httplib::Response& res) { send_json(res, 200, {{"status", "ok"}}); }

  void routes() {
    // health never waits: it takes no key, no body and no scheduler, and its connection has a
    // thread of its own (http_guard.h)
    http.Get("/health", [this](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&] { health(req, res); });
    });
    http.Get("/v1/models", [this](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&] { models(req, res); });
    });
    // the body is read by the handler, so that its size is checked while it arrives (chunked too)
    http.Post(kChatPath, [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& rd) {
      guarded(res, [&] { chat(req, res, rd); });
    });
    // statuses httplib sets itself get a JSON body from the connection layer's error handler
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unknown exception";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      send_error(res, ApiError(500, "internal error: " + what, "server_error"));
    });
  }

  void bind() {
    errno = 0;
    const int p = http.bind_and_listen(opts.host, opts.port);
    if (p <= 0) {
      // the failing bind()/getaddrinfo() leaves errno (EADDRINUSE, EADDRNOTAVAIL, EACCES) when it can
      const std::string why = errno != 0 ? std::strerror(errno) : "in use, or not an address of this machine";
      throw core::UserError("cannot listen on " + opts.host + ":" + std::to_string(opts.port) + ": " + why +
                            " (--host/--port)");
    }
    port = p;
  }
};

Server::Server(std::shared_ptr<Backend> backend, ServerOptions opts)
    : impl_(std::make_unique<Impl>(std::move(backend), std::move(opts))) {}

Server::~Server() {
  stop();
  impl_->scheduler.stop();
}

void Server::start() {
  impl_->bind();
  impl_->thread = std::thread([this] {
    impl_->http.listen_after_bind();
    impl_->thread_done = true;
  });
}

void Server::listen(const std::function<void(int port)>& on_listening) {
  impl_->bind();
  if (on_listening) on_listening(impl_->port);
  impl_->http.listen_after_bind();
  impl_->scheduler.stop();  // after the handlers in flight finished
}

void Server::stop() {
  // Stops accepting; listen_after_bind returns once the handlers in flight have finished, and
  // they still have the scheduler. Safe to repeat (a watcher may call it until listen returns).
  impl_->http.stop();
  std::lock_guard<std::mutex> lk(impl_->stop_mu);
  if (impl_->thread.joinable()) {
    // httplib's stop() does nothing until the accept loop has begun: a stop that comes right after
    // start() is repeated until the background thread returns
    while (!impl_->thread_done.load()) {
      impl_->http.stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    impl_->thread.join();
    impl_->scheduler.stop();
  }
}

int Server::port() const { return impl_->port; }
SchedulerStats Server::stats() const { return impl_->scheduler.stats(); }
const ServerOptions& Server::options() const { return impl_->opts; }

#else  // no cpp-httplib: the class exists so that callers compile; serving is refused

struct Server::Impl {
  ServerOptions opts;
};

Server::Server(std::shared_ptr<Backend>, ServerOptions opts) : impl_(std::make_unique<Impl>(Impl{std::move(opts)})) {}
Server::~Server() = default;
void Server::start() { throw core::UserError("rlpp was built without cpp-httplib: `rlpp serve` is unavailable"); }
void Server::listen(const std::function<void(int port)>&) { start(); }
void Server::stop() {}
int Server::port() const { return -1; }
SchedulerStats Server::stats() const { return {}; }
const ServerOptions& Server::options() const { return impl_->opts; }

#endif

}  // namespace rlpp::serve
