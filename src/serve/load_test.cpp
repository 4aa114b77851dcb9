#include "rlpp/serve/load_test.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "rlpp/core/error.h"

#ifdef RLPP_HAVE_HTTPLIB
#include <httplib.h>
#endif

namespace rlpp::serve {

using nlohmann::json;

double nearest_rank(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const double n = static_cast<double>(sorted.size());
  const int64_t rank = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(p / 100.0 * n)));
  return sorted[std::min<int64_t>(rank, sorted.size()) - 1];
}

json LoadTestReport::to_json() const {
  return {{"sent", sent},
          {"ok", ok},
          {"errors", errors},
          {"seconds", seconds},
          {"requests_per_s", requests_per_s},
          {"tokens_per_s", tokens_per_s},
          {"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"latency_ms", {{"p50", p50_ms}, {"p90", p90_ms}, {"p99", p99_ms}, {"max", max_ms}, {"mean", mean_ms}}},
          {"error_samples", error_samples}};
}

std::string LoadTestReport::to_text() const {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(1);
  o << "requests " << sent << "  ok " << ok << "  errors " << errors << "  seconds " << seconds << "\n"
    << "requests/s " << requests_per_s << "  completion tokens/s " << tokens_per_s << "  (completion tokens "
    << completion_tokens << ", prompt tokens " << prompt_tokens << ")\n"
    << "latency ms  p50 " << p50_ms << "  p90 " << p90_ms << "  p99 " << p99_ms << "  max " << max_ms << "  mean "
    << mean_ms << "\n";
  for (const std::string& e : error_samples) o << "error: " << e << "\n";
  return o.str();
}

#ifdef RLPP_HAVE_HTTPLIB

namespace {

// "http://host:port[/prefix]" -> ("http://host:port", "/prefix/v1" or "/v1")
std::pair<std::string, std::string> split_url(const std::string& url) {
  const size_t scheme = url.find("://");
  core::require(scheme != std::string::npos && url.compare(0, scheme, "http") == 0,
                "--base-url: '" + url + "' must start with http:// (e.g. http://127.0.0.1:8000)");
  const size_t path = url.find('/', scheme + 3);
  std::string host = url.substr(0, path);
  std::string prefix = path == std::string::npos ? "" : url.substr(path);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  core::require(host.size() > scheme + 3, "--base-url: '" + url + "' has no host");
  if (prefix.size() < 3 || prefix.compare(prefix.size() - 3, 3, "/v1") != 0) prefix += "/v1";
  return {host, prefix};
}

}  // namespace

LoadTestReport run_load_test(const LoadTestOptions& opts, const std::atomic<bool>* stop) {
  core::require(opts.requests >= 1, "--requests must be >= 1, got " + std::to_string(opts.requests));
  core::require(opts.concurrency >= 1, "--concurrency must be >= 1, got " + std::to_string(opts.concurrency));
  core::require(opts.max_tokens >= 1, "--max-tokens must be >= 1, got " + std::to_string(opts.max_tokens));
  const auto [host, prefix] = split_url(opts.base_url);
  std::vector<std::string> prompts = opts.prompts;
  if (prompts.empty()) {
    std::mt19937_64 rng(opts.seed);
    for (int i = 0; i < 256; ++i) prompts.push_back(std::to_string(rng() % 100) + "+" + std::to_string(rng() % 100) + "=");
  }

  std::atomic<int64_t> next{0};
  std::mutex mu;
  LoadTestReport rep;
  std::vector<double> latencies;
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };

  auto worker = [&] {
    httplib::Client cli(host);
    cli.set_keep_alive(true);
    const auto to = std::chrono::duration<double>(opts.timeout_s);
    cli.set_read_timeout(std::chrono::duration_cast<std::chrono::microseconds>(to));
    cli.set_write_timeout(std::chrono::duration_cast<std::chrono::microseconds>(to));
    httplib::Headers headers;
    if (!opts.api_key.empty()) headers.emplace("Authorization", "Bearer " + opts.api_key);
    while (true) {
      if (stop && stop->load()) return;
      if (elapsed() > opts.duration_limit_s) return;
      const int64_t i = next.fetch_add(1);
      if (i >= opts.requests) return;
      json body = {{"model", opts.model},
                   {"messages", json::array({{{"role", "user"}, {"content", prompts[i % prompts.size()]}}})},
                   {"max_tokens", opts.max_tokens},
                   {"temperature", opts.temperature}};
      const auto s = std::chrono::steady_clock::now();
      auto res = cli.Post(prefix + "/chat/completions", headers, body.dump(), "application/json");
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s).count();
      std::string error;
      int64_t ptok = 0, ctok = 0;
      if (!res) {
        error = "request " + std::to_string(i) + ": " + httplib::to_string(res.error());
      } else if (res->status != 200) {
        error = "request " + std::to_string(i) + ": HTTP " + std::to_string(res->status) + " " + res->body.substr(0, 200);
      } else {
        const json doc = json::parse(res->body, nullptr, false);
        if (doc.is_discarded() || !doc.contains("choices") || !doc["choices"].is_array()) {
          error = "request " + std::to_string(i) + ": not a chat completion: " + res->body.substr(0, 200);
        } else if (doc.contains("usage")) {
          ptok = doc["usage"].value("prompt_tokens", int64_t{0});
          ctok = doc["usage"].value("completion_tokens", int64_t{0});
        }
      }
      std::lock_guard<std::mutex> lk(mu);
      ++rep.sent;
      if (error.empty()) {
        ++rep.ok;
        latencies.push_back(ms);
        rep.prompt_tokens += ptok;
        rep.completion_tokens += ctok;
      } else {
        ++rep.errors;
        if (rep.error_samples.size() < 5) rep.error_samples.push_back(error);
      }
    }
  };
  std::vector<std::thread> threads;
  for (int64_t c = 0; c < opts.concurrency; ++c) threads.emplace_back(worker);
  for (auto& t : threads) t.join();

  rep.seconds = elapsed();
  std::sort(latencies.begin(), latencies.end());
  if (!latencies.empty()) {
    rep.p50_ms = nearest_rank(latencies, 50);
    rep.p90_ms = nearest_rank(latencies, 90);
    rep.p99_ms = nearest_rank(latencies, 99);
    rep.max_ms = latencies.back();
    double sum = 0;
    for (double x : latencies) sum += x;
    rep.mean_ms = sum / latencies.size();
  }
  if (rep.seconds > 0) {
    rep.requests_per_s = rep.ok / rep.seconds;
    rep.tokens_per_s = rep.completion_tokens / rep.seconds;
  }
  return rep;
}

#else

LoadTestReport run_load_test(const LoadTestOptions&, const std::atomic<bool>*) {
  throw core::UserError("rlpp was built without cpp-httplib: `rlpp serve-bench` is unavailable");
}

#endif

}  // namespace rlpp::serve
