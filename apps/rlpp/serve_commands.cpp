// `rlpp serve` (an OpenAI-compatible server for a language model) and `rlpp serve-bench` (its load
// test); the work is in rlpp/serve/.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "command.h"
#include "rlpp/core/error.h"
#include "rlpp/serve/load_test.h"
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
});

const bool kBench = rlpp::cli::register_command([](CLI::App& app, const std::atomic<bool>& stop) {
  auto opts = std::make_shared<rlpp::serve::LoadTestOptions>();
  auto prompts_file = std::make_shared<std::string>();
  auto json_out = std::make_shared<std::string>();
  auto* sub = app.add_subcommand("serve-bench", "load-test an OpenAI-compatible chat endpoint: requests/s, latency percentiles");
  sub->add_option("--base-url", opts->base_url, "e.g. http://127.0.0.1:8000 (or .../v1)");
  sub->add_option("--model", opts->model, "model id")->required();
  sub->add_option("--api-key", opts->api_key, "sent as 'Authorization: Bearer KEY'");
  sub->add_option("--requests", opts->requests, "requests to send")->check(CLI::Range(1, 100000000));
  sub->add_option("--concurrency", opts->concurrency, "requests in flight")->check(CLI::Range(1, 4096));
  sub->add_option("--max-tokens", opts->max_tokens, "max_tokens of each request")->check(CLI::Range(1, 1000000));
  sub->add_option("--temperature", opts->temperature, "temperature of each request")->check(CLI::Range(0.0, 2.0));
  sub->add_option("--duration-limit", opts->duration_limit_s, "send nothing new after this many seconds")
      ->check(CLI::PositiveNumber);
  sub->add_option("--timeout", opts->timeout_s, "per-request timeout in seconds")->check(CLI::PositiveNumber);
  sub->add_option("--prompts", *prompts_file, "file of user messages, one per line (default: a+b= problems)");
  sub->add_option("--json", *json_out, "also write the report as JSON here");
  sub->add_option("--seed", opts->seed, "seed of the default prompts");
  return rlpp::cli::Command{sub, [opts, prompts_file, json_out, &stop] {
                              if (!prompts_file->empty()) {
                                std::ifstream in(*prompts_file);
                                rlpp::core::require(static_cast<bool>(in), "--prompts: cannot read '" + *prompts_file + "'");
                                for (std::string line; std::getline(in, line);)
                                  if (!line.empty()) opts->prompts.push_back(line);
                                rlpp::core::require(!opts->prompts.empty(), "--prompts: '" + *prompts_file + "' has no lines");
                              }
                              const rlpp::serve::LoadTestReport rep = rlpp::serve::run_load_test(*opts, &stop);
                              std::cout << rep.to_text();
                              if (!json_out->empty()) {
                                const std::string tmp = *json_out + ".tmp";
                                {
                                  std::ofstream out(tmp);
                                  rlpp::core::require(static_cast<bool>(out), "--json: cannot write '" + *json_out + "'");
                                  out << rep.to_json().dump(2) << "\n";
                                }
                                std::filesystem::rename(tmp, *json_out);
                              }
                              return rep.errors == 0 ? 0 : 1;
                            }};
});

}  // namespace
