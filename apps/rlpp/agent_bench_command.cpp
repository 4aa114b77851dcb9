// `rlpp agent-bench`: the C³-Bench-style evaluation of a tool-using chat model (docs/agent-bench.md).
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include "command.h"
#include "rlpp/core/error.h"
#include "rlpp/harness/agent_bench.h"
#include "rlpp/harness/http_chat_model.h"
#include "rlpp/harness/scripted_model.h"

namespace {

struct AgentBenchRequest {
  rlpp::harness::BenchOptions bench;
  rlpp::harness::HttpModelOptions http;
  std::string scripted;
  std::optional<double> temperature;
  std::optional<int64_t> seed;
  std::optional<int> max_tokens;
  size_t max_paths = rlpp::harness::PathOptions{}.max_paths;
  bool no_env_info = false;
  bool no_plots = false;
};

int run_agent_bench_command(AgentBenchRequest req, const std::atomic<bool>& stop) {
  using namespace rlpp::harness;
  req.bench.replay.paths.max_paths = req.max_paths;
  req.bench.read.env_info_in_system = !req.no_env_info;
  req.bench.plots = !req.no_plots;
  if (req.scripted.empty() && req.http.model == "oracle" && req.http.base_url.empty()) req.scripted = "oracle";
  std::unique_ptr<ChatModel> model;
  if (!req.scripted.empty()) {
    rlpp::core::require(req.scripted == "oracle", "--scripted: unknown model '" + req.scripted + "' (valid: oracle)");
    // The oracle needs the cases themselves to know the golden replies.
    std::ostringstream quiet;
    auto cases = load_cases_checked(req.bench.cases_path, req.bench.read, req.bench.replay.paths, quiet);
    model = std::make_unique<OracleModel>(std::move(cases.cases));
  } else {
    rlpp::core::require(!req.http.base_url.empty(), "--base-url is required (or --scripted oracle)");
    req.http.temperature = req.temperature;
    req.http.seed = req.seed;
    req.http.max_tokens = req.max_tokens;
    model = make_http_chat_model(req.http);
  }
  const BenchResult r = run_agent_bench(*model, req.bench, std::cerr, &stop);
  if (!r.complete) return 130;
  std::cout << "rlpp: wrote " << req.bench.out_dir << "/report.md" << std::endl;
  return 0;
}

const bool kRegistered = rlpp::cli::register_command([](CLI::App& app, const std::atomic<bool>& stop) {
  auto req = std::make_shared<AgentBenchRequest>();
  auto* sub = app.add_subcommand("agent-bench", "C3-Bench-style evaluation of a tool-calling chat model over a case file");
  sub->add_option("--cases", req->bench.cases_path, "case file (C3 JSONL, one dialogue per line)")->required();
  sub->add_option("--out", req->bench.out_dir, "directory for report.md, metrics.json, transcripts.jsonl, *.png")->required();
  sub->add_option("--base-url", req->http.base_url, "OpenAI-compatible server, e.g. http://127.0.0.1:8080 (or .../v1)");
  sub->add_option("--api-key", req->http.api_key, "sent as 'Authorization: Bearer KEY'");
  sub->add_option("--model", req->http.model, "model name sent in each request ('oracle' without --base-url: the in-process oracle)");
  sub->add_option("--scripted", req->scripted, "in-process scripted model instead of a server: oracle");
  sub->add_option("--trials", req->bench.trials, "repeated trials per case (pass^k for k = 1..trials)")->check(CLI::Range(1, 1000));
  sub->add_option("--concurrency", req->bench.concurrency, "cases in flight at once")->check(CLI::Range(1, 1024));
  sub->add_option("--timeout", req->http.timeout_s, "seconds per request attempt")->check(CLI::Range(0.001, 86400.0));
  sub->add_option("--retries", req->http.retries, "extra attempts on 429 / 5xx / connection errors (exponential back-off)")->check(CLI::Range(0, 100));
  sub->add_option("--backoff", req->http.backoff_s, "first back-off in seconds (doubles per retry)")->check(CLI::Range(0.0, 600.0));
  sub->add_option("--temperature", req->temperature, "sampling temperature passed to the server");
  sub->add_option("--seed", req->seed, "seed passed to the server");
  sub->add_option("--max-tokens", req->max_tokens, "max_tokens passed to the server")->check(CLI::Range(1, 1 << 20));
  sub->add_option("--max-paths", req->max_paths, "cases whose tasks have more step paths are skipped")->check(CLI::Range(1, 10000000));
  sub->add_flag("--no-env-info", req->no_env_info, "do not put env_info (the date) in a system message");
  sub->add_flag("--no-plots", req->no_plots, "skip the PNG plots");
  sub->footer("Examples:\n  rlpp agent-bench --cases cases.jsonl --base-url http://127.0.0.1:8080 --model tiny --out runs/bench\n"
              "  rlpp agent-bench --cases cases.jsonl --scripted oracle --out runs/bench-oracle");
  return rlpp::cli::Command{sub, [req, &stop] { return run_agent_bench_command(*req, stop); }};
}, 200);

}  // namespace
