#include "rlpp/train/offline/episodes.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>

#include "rlpp/core/error.h"

namespace rlpp::train::offline {

std::vector<Episode> split_episodes(const D4rlDataset& d) {
  std::vector<Episode> out;
  Episode cur;
  const int64_t n = d.size();
  for (int64_t i = 0; i < n; ++i) {
    cur.ret += static_cast<double>(d.rewards[static_cast<size_t>(i)]);
    const bool term = d.terminals[static_cast<size_t>(i)] != 0, to = d.timeouts[static_cast<size_t>(i)] != 0;
    if (term || to) {
      cur.end = i + 1;
      cur.terminal = term;
      cur.timeout = to;
      out.push_back(cur);
      cur = Episode{};
      cur.begin = i + 1;
    }
  }
  if (cur.begin < n) {
    cur.end = n;
    out.push_back(cur);
  }
  return out;
}

ReturnStats return_stats(const std::vector<Episode>& episodes) {
  ReturnStats s;
  double sum = 0, sq = 0;
  for (const auto& e : episodes) {
    if (!e.complete()) {
      ++s.incomplete;
      continue;
    }
    s.min = s.episodes == 0 ? e.ret : std::min(s.min, e.ret);
    s.max = s.episodes == 0 ? e.ret : std::max(s.max, e.ret);
    ++s.episodes;
    sum += e.ret;
  }
  if (s.episodes == 0) return s;
  s.mean = sum / static_cast<double>(s.episodes);
  for (const auto& e : episodes) {
    if (e.complete()) sq += (e.ret - s.mean) * (e.ret - s.mean);
  }
  s.std = std::sqrt(sq / static_cast<double>(s.episodes));
  return s;
}

double normalized_score(double ret, double random_return, double expert_return) {
  core::require(expert_return != random_return,
                "normalized score: the expert and random reference returns are equal (" +
                    std::to_string(expert_return) + ")");
  return 100.0 * (ret - random_return) / (expert_return - random_return);
}

std::map<std::string, ReferenceReturns> read_reference_returns(const std::string& path) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    throw core::UserError("reference returns '" + path + "'" +
                          (src.begin.line ? ":" + std::to_string(src.begin.line) : std::string()) + ": " +
                          std::string(e.description()));
  }
  std::map<std::string, ReferenceReturns> out;
  for (const auto& [key, node] : root) {
    const std::string env(key.str());
    const auto* t = node.as_table();
    core::require(t != nullptr, "reference returns '" + path + "': '" + env + "' must be a table [" + env + "]");
    ReferenceReturns r;
    for (const char* field : {"random", "expert"}) {
      const auto v = (*t)[field].value<double>();
      core::require(v.has_value() && std::isfinite(*v),
                    "reference returns '" + path + "': " + env + "." + field + " must be a finite number");
      (std::string(field) == "random" ? r.random : r.expert) = *v;
    }
    core::require(r.expert != r.random,
                  "reference returns '" + path + "': " + env + ".expert equals " + env + ".random");
    out[env] = r;
  }
  return out;
}

std::string default_reference_returns_path() { return RLPP_D4RL_REFERENCE_FILE; }

}  // namespace rlpp::train::offline
