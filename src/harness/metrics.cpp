#include "rlpp/harness/metrics.h"

#include <map>
#include <string>

namespace rlpp::harness {

using nlohmann::json;

double binomial(int n, int k) {
  if (k < 0 || k > n) return 0.0;
  double v = 1.0;
  for (int i = 1; i <= k; ++i) v = v * (n - k + i) / i;
  return v;
}

double pass_hat_k(const std::vector<int>& successes, int n, int k) {
  if (successes.empty()) return 0.0;
  double sum = 0.0;
  for (int c : successes) sum += binomial(c, k) / binomial(n, k);
  return sum / successes.size();
}

namespace {

// Running counts of one cell of a table.
struct Acc {
  int n = 0, action = 0, args = 0;
  void add(const TaskResult& r) {
    ++n;
    action += r.action_ok;
    args += r.args_ok;
  }
  double action_acc() const { return n ? static_cast<double>(action) / n : 0.0; }
  double args_acc() const { return n ? static_cast<double>(args) / n : 0.0; }
  json to_json() const { return {{"n", n}, {"action_acc", action_acc()}, {"args_acc", args_acc()}}; }
};

template <class Map>
json table(const Map& m) {
  json j = json::object();
  for (const auto& [k, v] : m) j[k] = v.to_json();
  return j;
}

const char* turn_name(TurnType t) {
  return t == TurnType::kTrue ? "true" : t == TurnType::kFalse ? "false" : "unknown";
}

double population_variance(const std::vector<double>& v) {
  if (v.empty()) return 0.0;
  double mean = 0.0;
  for (double x : v) mean += x;
  mean /= v.size();
  double s = 0.0;
  for (double x : v) s += (x - mean) * (x - mean);
  return s / v.size();
}

}  // namespace

json compute_metrics(const std::vector<TaskResult>& results, int trials) {
  Acc overall;
  std::map<std::string, std::map<std::string, Acc>> pos_type;
  std::map<std::string, Acc> by_pos, by_type, by_shape, paths, prefixes, turns, subtypes;
  std::map<std::string, std::pair<double, int>> progress_by_type;
  std::map<std::string, int> action_errors, arg_errors;
  for (int e = 1; e < kNumActionErrors; ++e) action_errors[action_error_name(static_cast<ActionError>(e))] = 0;
  for (int e = 1; e <= static_cast<int>(ArgError::kValueError); ++e) arg_errors[arg_error_name(static_cast<ArgError>(e))] = 0;
  double progress = 0.0;
  int optimal = 0, solved = 0, multi_n = 0, multi_opt = 0, failed = 0, arg_failed = 0, request_errors = 0;
  std::map<std::string, std::pair<int, int>> per_task_success;  // (case, position) -> (trials, successes)

  for (const auto& r : results) {
    const std::string type(task_type_name(r.type)), pos = std::to_string(r.position + 1);
    overall.add(r);
    pos_type[pos][type].add(r);
    by_pos[pos].add(r);
    by_type[type].add(r);
    by_shape[dag_shape_name(r.shape)].add(r);
    paths[r.type_path].add(r);
    prefixes[r.prefix].add(r);
    turns[turn_name(r.turn_type)].add(r);
    for (const auto& s : r.turn_subtypes) subtypes[s].add(r);
    progress += r.progress;
    progress_by_type[type].first += r.progress;
    progress_by_type[type].second += 1;
    optimal += r.optimal;
    solved += r.action_ok;
    if (r.n_tool_nodes >= 2) {
      ++multi_n;
      multi_opt += r.optimal;
    }
    if (!r.action_ok) {
      ++failed;
      ++action_errors[action_error_name(r.action_error)];
      request_errors += r.action_error == ActionError::kRequestFailed;
    } else if (!r.args_ok) {
      ++arg_failed;
      for (ArgError e : r.arg_errors) ++arg_errors[arg_error_name(e)];
    }
    auto& ps = per_task_success[r.case_id + "#" + pos];
    ps.first += 1;
    ps.second += r.args_ok;
  }

  const int n = overall.n;
  json m;
  m["trials"] = trials;
  m["overall"] = overall.to_json();
  m["overall"]["progress"] = n ? progress / n : 0.0;
  m["overall"]["optimal_rate"] = n ? static_cast<double>(optimal) / n : 0.0;
  m["overall"]["solved"] = solved;
  json pt = json::object();
  for (const auto& [p, row] : pos_type) pt[p] = table(row);
  m["by_position_type"] = pt;
  m["by_position"] = table(by_pos);
  m["by_type"] = table(by_type);
  m["by_shape"] = table(by_shape);
  json pbt = json::object();
  for (const auto& [t, v] : progress_by_type) pbt[t] = v.first / v.second;
  m["progress_by_type"] = pbt;
  m["optimal_path"] = {{"rate", n ? static_cast<double>(optimal) / n : 0.0},
                       {"among_solved", solved ? static_cast<double>(optimal) / solved : 0.0},
                       {"multi_tool_rate", multi_n ? static_cast<double>(multi_opt) / multi_n : 0.0},
                       {"multi_tool_n", multi_n}};
  m["type_paths"] = table(paths);
  std::vector<double> pa, pg;
  for (const auto& [k, v] : paths) pa.push_back(v.action_acc()), pg.push_back(v.args_acc());
  m["type_path_variance"] = {{"action", population_variance(pa)}, {"args", population_variance(pg)}};
  m["prefix_accuracy"] = table(prefixes);
  m["multi_turn"] = table(turns);
  m["turn_subtypes"] = table(subtypes);
  m["errors"] = {{"action", action_errors}, {"argument", arg_errors},
                 {"failed_tasks", failed}, {"arg_failed_tasks", arg_failed}};
  m["request_errors"] = request_errors;
  json pk = json::object();
  std::vector<int> succ;
  int n_trials = trials;
  for (const auto& [k, v] : per_task_success) n_trials = std::min(n_trials, v.first);
  for (const auto& [k, v] : per_task_success) succ.push_back(std::min(v.second, n_trials));
  if (!succ.empty() && n_trials >= 1)
    for (int k = 1; k <= n_trials; ++k) pk[std::to_string(k)] = pass_hat_k(succ, n_trials, k);
  m["pass_hat_k"] = pk;
  return m;
}

}  // namespace rlpp::harness
