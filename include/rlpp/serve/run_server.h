// The `rlpp serve` command: load a model, serve it until `stop` turns true (SIGINT / SIGTERM), then
// shut down gracefully (stop accepting, finish the requests in flight).
#pragma once
#include <atomic>
#include <cstdint>
#include <ostream>
#include <string>

namespace rlpp::serve {

struct ServeRequest {
  std::string model_path;           // run directory or model directory
  std::string name;                 // model id; "" = the directory's name
  std::string host = "127.0.0.1";
  int port = 8000;
  std::string api_key;
  int64_t max_batch = 8;
  int64_t batch_wait_ms = 5;
  int64_t max_prompt_tokens = 0;    // 0 = the model's context length - 1
  int64_t max_new_tokens = 256;     // largest max_tokens a request may ask for
  std::string chat_format = "auto";  // auto | raw | plain | chatml | llama3
  std::string tool_style = "compact";
  int threads = 1;                  // LibTorch threads
  int64_t max_body_kb = 1024;
  int64_t max_connections = 256;    // open connections; more are answered 503
  int64_t read_timeout_s = 10;      // silence while a request arrives (then 408)
  int64_t request_timeout_s = 30;   // a whole request must arrive within this (then 408)
  uint64_t seed = 0;                // seeds of unseeded sampled batches
};

// Returns the exit code (0 after a graceful stop); core::UserError on bad input or when the address
// cannot be bound (nothing is printed then). The "serving ... on http://HOST:PORT/v1" line goes to
// `out` (default std::cout) once the socket listens, with the bound port.
int run_server(const ServeRequest& req, const std::atomic<bool>& stop, std::ostream* out = nullptr);

}  // namespace rlpp::serve
