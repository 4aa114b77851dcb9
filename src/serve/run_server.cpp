#include "rlpp/serve/run_server.h"

#include <torch/torch.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "rlpp/core/error.h"
#include "rlpp/serve/lm_backend.h"
#include "rlpp/serve/server.h"

namespace rlpp::serve {

int run_server(const ServeRequest& req, const std::atomic<bool>& stop, std::ostream* out) {
  if (!out) out = &std::cout;
  core::require(req.max_new_tokens >= 1, "--max-new-tokens must be >= 1, got " + std::to_string(req.max_new_tokens));
  core::require(req.max_batch >= 1, "--max-batch must be >= 1, got " + std::to_string(req.max_batch));
  core::require(req.batch_wait_ms >= 0, "--batch-wait-ms must be >= 0, got " + std::to_string(req.batch_wait_ms));
  core::require(req.port >= 0 && req.port <= 65535, "--port must be in [0, 65535], got " + std::to_string(req.port));
  core::require(req.read_timeout_s > 0, "--read-timeout-s must be > 0, got " + std::to_string(req.read_timeout_s));
  core::require(req.request_timeout_s > 0,
                "--request-timeout-s must be > 0, got " + std::to_string(req.request_timeout_s));
  core::require(req.max_connections >= 1, "--max-connections must be >= 1, got " + std::to_string(req.max_connections));
  torch::set_num_threads(req.threads);
  LoadedModel loaded = load_model(req.model_path, req.chat_format);

  ServerOptions o;
  o.host = req.host;
  o.port = req.port;
  o.model_name = req.name.empty() ? loaded.name : req.name;
  o.api_key = req.api_key;
  o.format = loaded.format;
  o.tool_style = nn::tool_style_from_name(req.tool_style);
  o.scheduler.max_batch = req.max_batch;
  o.scheduler.batch_wait_ms = req.batch_wait_ms;
  o.scheduler.base_seed = req.seed;
  o.limits.max_new_tokens = req.max_new_tokens;
  o.limits.max_n = req.max_batch;
  o.max_prompt_tokens = req.max_prompt_tokens;
  o.max_body_bytes = static_cast<size_t>(req.max_body_kb) * 1024;
  o.read_timeout_ms = static_cast<int>(req.read_timeout_s * 1000);
  o.request_timeout_ms = static_cast<int>(req.request_timeout_s * 1000);
  o.max_connections = static_cast<int>(req.max_connections);

  Server server(loaded.backend, o);
  std::atomic<bool> done{false};
  // The watcher turns the signal flag into server.stop(); stop() is repeated until listen returns,
  // so a signal that comes before the accept loop started is not lost.
  std::thread watcher([&] {
    while (!done.load()) {
      if (stop.load()) server.stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  // the address is printed once the socket listens, with the port it got (port 0: a free one)
  const auto announce = [&](int port) {
    *out << "serving '" << o.model_name << "' (" << prompt_format_name(o.format) << " prompts) on http://" << o.host
         << ":" << port << "/v1  (max batch " << o.scheduler.max_batch << ", batch wait " << o.scheduler.batch_wait_ms
         << " ms; Ctrl-C stops)" << std::endl;
  };
  try {
    server.listen(announce);
  } catch (...) {
    done = true;
    watcher.join();
    throw;
  }
  done = true;
  watcher.join();
  const SchedulerStats s = server.stats();
  *out << "stopped: " << s.jobs << " requests in " << s.batches << " batches (largest " << s.largest_batch
       << " rows)" << std::endl;
  return 0;
}

}  // namespace rlpp::serve
