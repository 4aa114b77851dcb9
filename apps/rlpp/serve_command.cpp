// `rlpp serve`: an OpenAI-compatible server for a language model (rlpp/serve/run_server.h); its
// load test is `rlpp serve-bench` (serve_bench_command.cpp).
#include <memory>

#include "command.h"
#include "rlpp/serve/run_server.h"

namespace {

const bool kServe = rlpp::cli::register_command([](CLI::App& app, const std::atomic<bool>& stop) {
  auto req = std::make_shared<rlpp::serve::ServeRequest>();
  auto* sub = app.add_subcommand("serve", "OpenAI-compatible HTTP server (/v1/chat/completions, /v1/models) for an LM");
  sub->add_option("--model", req->model_path, "run directory (with model/) or model directory")->required();
  sub->add_option("--name", req->name, "model id clients send (default: the directory's name)");
  sub->add_option("--host", req->host, "address to bind (default loopback)");
  sub->add_option("--port", req->port, "port (0: any free one)")->check(CLI::Range(0, 65535));
  sub->add_option("--api-key", req->api_key, "require 'Authorization: Bearer KEY'");
  sub->add_option("--max-batch", req->max_batch, "most rows generated together")->check(CLI::Range(1, 1024));
  sub->add_option("--batch-wait-ms", req->batch_wait_ms, "longest wait for a batch to fill")->check(CLI::Range(0, 10000));
  sub->add_option("--max-prompt-tokens", req->max_prompt_tokens, "longest prompt (0: the model's context - 1)")
      ->check(CLI::Range(0, 10000000));
  sub->add_option("--max-new-tokens", req->max_new_tokens, "largest max_tokens of a request")->check(CLI::Range(1, 1000000));
  sub->add_option("--chat-format", req->chat_format, "auto | raw | plain | chatml | llama3");
  sub->add_option("--tool-style", req->tool_style, "how tools are rendered into the prompt: compact | full");
  sub->add_option("--threads", req->threads, "LibTorch threads")->check(CLI::Range(1, 256));
  sub->add_option("--max-body-kb", req->max_body_kb, "largest request body, chunked or not (larger: 413)")
      ->check(CLI::Range(1, 1 << 20));
  sub->add_option("--max-connections", req->max_connections, "open connections (each has a thread); more: 503")
      ->check(CLI::Range(1, 4096));
  sub->add_option("--read-timeout-s", req->read_timeout_s, "longest silence while a request arrives (then 408)")
      ->check(CLI::Range(1, 3600));
  sub->add_option("--request-timeout-s", req->request_timeout_s, "a request's headers and body must arrive within this")
      ->check(CLI::Range(1, 3600));
  sub->add_option("--seed", req->seed, "seed of unseeded sampled batches");
  sub->footer("Example:\n  rlpp serve --model runs/lm-arith-150 --port 8000\n"
              "  curl -s localhost:8000/v1/chat/completions -d '{\"model\": \"lm-arith-150\", "
              "\"messages\": [{\"role\": \"user\", \"content\": \"12+34=\"}], \"temperature\": 0}'");
  return rlpp::cli::Command{sub, [req, &stop] { return rlpp::serve::run_server(*req, stop); }};
}, 230);

}  // namespace
