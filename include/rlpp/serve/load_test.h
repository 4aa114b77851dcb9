// `rlpp serve-bench`: a closed-loop load test of an OpenAI-compatible chat endpoint. C client
// threads each keep one request in flight (keep-alive connections) until N requests were sent or the
// time limit passed; a request counts as ok when the answer is HTTP 200 with a choices array.
//   requests/s = ok / wall seconds;  tokens/s = sum of usage.completion_tokens / wall seconds
//   latency percentiles: nearest rank over the ok requests (p-th = the ceil(p/100 · n)-th smallest)
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rlpp::serve {

struct LoadTestOptions {
  std::string base_url = "http://127.0.0.1:8000";  // with or without a trailing /v1
  std::string model = "rlpp";
  std::string api_key;
  int64_t requests = 100;
  int64_t concurrency = 4;
  int64_t max_tokens = 16;
  double temperature = 0.0;
  double duration_limit_s = 60;  // no new request after this many seconds
  double timeout_s = 60;         // per request
  // User messages sent in turn; empty = "a+b=" problems with a, b in [0, 99] (seeded), which the
  // arithmetic models of configs/lm_arithmetic.toml understand.
  std::vector<std::string> prompts;
  uint64_t seed = 0;
};

struct LoadTestReport {
  int64_t sent = 0, ok = 0, errors = 0;
  double seconds = 0;
  double requests_per_s = 0, tokens_per_s = 0;
  int64_t prompt_tokens = 0, completion_tokens = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0, mean_ms = 0;
  std::vector<std::string> error_samples;  // the first few error messages
  nlohmann::json to_json() const;
  std::string to_text() const;
};

// Nearest-rank percentile of `sorted` (ascending, non-empty), p in (0, 100].
double nearest_rank(const std::vector<double>& sorted, double p);

// Throws core::UserError on a malformed base URL or bounds (requests, concurrency >= 1). Stops
// sending when `stop` turns true.
LoadTestReport run_load_test(const LoadTestOptions& opts, const std::atomic<bool>* stop = nullptr);

}  // namespace rlpp::serve
