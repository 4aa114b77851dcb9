// `rlpp serve-bench`: load test of an OpenAI-compatible chat endpoint (rlpp/serve/load_test.h).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "command.h"
#include "rlpp/core/error.h"
#include "rlpp/serve/load_test.h"

namespace {

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
}, 240);

}  // namespace
