#include "rlpp/train/sweep.h"

#include <spawn.h>
#include <sys/wait.h>
#include <fcntl.h>

#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>

#include "rlpp/core/error.h"
#include "rlpp/core/fs.h"
#include "rlpp/core/plot.h"
#include "rlpp/core/strings.h"

extern char** environ;

namespace rlpp::train {

namespace fs = std::filesystem;

namespace {

// ---- the sweep file ------------------------------------------------------------------------------

struct FieldReader {
  std::string file;
  std::string where(const toml::node& n, const std::string& key) const {
    const auto& src = n.source();
    return file + (src.begin ? ":" + std::to_string(src.begin.line) : std::string()) + ": " + key;
  }
  std::vector<std::string> strings(const toml::table& t, const std::string& key, const std::string& name) const {
    std::vector<std::string> out;
    const toml::node* n = t.get(key);
    if (!n) return out;
    const toml::array* a = n->as_array();
    core::require(a != nullptr, where(*n, name) + " must be an array of strings");
    for (const auto& e : *a) {
      auto s = e.value_exact<std::string>();
      core::require(s.has_value(), where(e, name) + " must contain only strings");
      out.push_back(*s);
    }
    return out;
  }
  void only(const toml::table& t, const std::set<std::string>& keys, const std::string& section) const {
    for (const auto& [k, v] : t) {
      core::require(keys.count(std::string(k.str())) > 0,
                    where(v, section + "." + std::string(k.str())) + ": unknown key (known: " +
                        core::join(std::vector<std::string>(keys.begin(), keys.end()), ", ") + ")");
    }
  }
};

// "name" or "name:window" -> (name, window or 0).
std::pair<std::string, int64_t> metric_window(const std::string& spec) {
  const auto colon = spec.rfind(':');
  if (colon == std::string::npos) return {spec, 0};
  return {spec.substr(0, colon), std::stoll(spec.substr(colon + 1))};
}

bool plain_name(const std::string& s) {
  if (s.empty() || s == "." || s == "..") return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
  }
  return true;
}

}  // namespace

SweepSpec read_sweep(const std::string& path) {
  toml::table doc;
  try {
    doc = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    throw core::UserError(path + ":" + std::to_string(src.begin.line) + ": " + std::string(e.description()));
  }
  const FieldReader r{path};
  SweepSpec s;
  s.path = path;
  r.only(doc, {"sweep", "variant"}, "sweep file");
  const toml::table* sw = doc["sweep"].as_table();
  core::require(sw != nullptr, path + ": needs a [sweep] section");
  r.only(*sw, {"base", "seeds", "set", "metrics", "final_window", "smoothing", "show_start"}, "sweep");
  auto base = (*sw)["base"].value<std::string>();
  core::require(base.has_value(), path + ": sweep.base (the base recipe) is required");
  s.base = (fs::path(path).parent_path() / *base).lexically_normal().string();
  core::require(fs::exists(s.base), r.where(*sw->get("base"), "sweep.base") + ": no such recipe: " + s.base);
  if (const toml::node* n = sw->get("seeds")) {
    const toml::array* a = n->as_array();
    core::require(a && !a->empty(), r.where(*n, "sweep.seeds") + " must be a non-empty array of integers");
    for (const auto& e : *a) {
      auto v = e.value_exact<int64_t>();
      core::require(v.has_value() && *v >= 0, r.where(e, "sweep.seeds") + " must hold integers >= 0");
      s.seeds.push_back(*v);
    }
  } else {
    s.seeds = {1};
  }
  s.overrides = r.strings(*sw, "set", "sweep.set");
  s.metrics = r.strings(*sw, "metrics", "sweep.metrics");
  core::require(!s.metrics.empty(), path + ": sweep.metrics must name at least one metric");
  for (const auto& m : s.metrics) {
    const auto colon = m.rfind(':');
    if (colon == std::string::npos) continue;
    const std::string w = m.substr(colon + 1);
    core::require(!w.empty() && w.find_first_not_of("0123456789") == std::string::npos && std::stoll(w) >= 1 &&
                      colon > 0,
                  path + ": sweep.metrics: '" + m + "' must be NAME or NAME:WINDOW with WINDOW >= 1");
  }
  for (const auto& [key, out] : {std::pair<const char*, int64_t*>{"final_window", &s.final_window},
                                 std::pair<const char*, int64_t*>{"smoothing", &s.smoothing}}) {
    if (const toml::node* n = sw->get(key)) {
      auto v = n->value_exact<int64_t>();
      core::require(v.has_value() && *v >= 1, r.where(*n, std::string("sweep.") + key) + " must be an integer >= 1");
      *out = *v;
    }
  }
  if (const toml::node* n = sw->get("show_start")) {
    auto v = n->value_exact<bool>();
    core::require(v.has_value(), r.where(*n, "sweep.show_start") + " must be true or false");
    s.show_start = *v;
  }
  const toml::array* vars = doc["variant"].as_array();
  core::require(vars && !vars->empty(), path + ": needs at least one [[variant]]");
  std::set<std::string> names;
  for (const auto& v : *vars) {
    const toml::table* t = v.as_table();
    core::require(t != nullptr, r.where(v, "variant") + " must be a table ([[variant]])");
    r.only(*t, {"name", "set"}, "variant");
    SweepVariant var;
    auto name = (*t)["name"].value<std::string>();
    core::require(name.has_value() && plain_name(*name),
                  r.where(v, "variant.name") + " is required and must be a plain name (letters, digits, _ - .)");
    core::require(names.insert(*name).second, r.where(v, "variant.name") + ": '" + *name + "' appears twice");
    var.name = *name;
    var.overrides = r.strings(*t, "set", "variant.set");
    s.variants.push_back(var);
  }
  return s;
}

std::string sweep_run_dir(const std::string& out_dir, const std::string& variant, int64_t seed) {
  return (fs::path(out_dir) / variant / ("seed_" + std::to_string(seed))).string();
}

namespace {

// ---- running ---------------------------------------------------------------------------------------

struct Job {
  std::string variant, dir;
  int64_t seed = 0;
  std::vector<std::string> args;
};

bool finished(const std::string& dir) { return fs::exists(fs::path(dir) / "model"); }

pid_t spawn(const Job& job, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> argv;
  for (const auto& a : job.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  core::require(rc == 0, "sweep: cannot start " + job.args[0] + ": " + std::strerror(rc));
  return pid;
}

}  // namespace

SweepSummary run_sweep(const SweepSpec& spec, const SweepRequest& req) {
  core::require(req.jobs >= 1, "sweep: --jobs must be >= 1");
  std::vector<Job> todo;
  for (const auto& v : spec.variants) {
    for (int64_t seed : spec.seeds) {
      Job j{v.name, sweep_run_dir(req.out_dir, v.name, seed), seed, {}};
      if (req.summary_only || finished(j.dir)) continue;
      j.args = {req.exe, "train", spec.base};
      for (const auto* list : {&spec.overrides, &v.overrides}) {
        for (const auto& o : *list) j.args.insert(j.args.end(), {"--set", o});
      }
      j.args.insert(j.args.end(), {"--set", "run.seed=" + std::to_string(seed), "--out", j.dir, "--quiet"});
      todo.push_back(j);
    }
  }
  SweepSummary failed_runs;
  if (!todo.empty()) {
    core::require(!req.exe.empty(), "sweep: no rlpp program to run");
    const size_t total = todo.size();
    size_t next = 0, done = 0;
    std::map<pid_t, std::pair<Job, std::chrono::steady_clock::time_point>> running;
    while (done < total) {
      while (next < total && static_cast<int64_t>(running.size()) < req.jobs) {
        const Job& j = todo[next++];
        fs::remove_all(j.dir);  // an unfinished run starts again
        fs::create_directories(fs::path(j.dir).parent_path());
        running[spawn(j, j.dir + ".log")] = {j, std::chrono::steady_clock::now()};
      }
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, 0);
      if (pid < 0) break;
      auto it = running.find(pid);
      if (it == running.end()) continue;
      const auto& [job, t0] = it->second;
      ++done;
      const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!ok) failed_runs.failed.push_back(job.dir);
      if (!req.quiet) {
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::cout << "sweep: [" << done << "/" << total << "] " << job.variant << " seed " << job.seed
                  << (ok ? " done" : " FAILED (see " + job.dir + ".log)") << " in " << std::fixed << std::setprecision(1)
                  << secs << " s" << std::endl;
      }
      running.erase(it);
    }
  }
  SweepSummary s = summarize_sweep(spec, req.out_dir);
  s.failed = failed_runs.failed;
  return s;
}

namespace {

// ---- summary ---------------------------------------------------------------------------------------

// (step, value) of every metrics.jsonl row holding `metric` as a number.
std::vector<std::pair<double, double>> series(const std::string& run_dir, const std::string& metric) {
  std::vector<std::pair<double, double>> out;
  std::ifstream in(run_dir + "/metrics.jsonl");
  int64_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      throw core::UserError(run_dir + "/metrics.jsonl:" + std::to_string(line_no) + ": not a JSON object");
    }
    if (j.contains(metric) && j[metric].is_number() && j.contains("step") && j["step"].is_number()) {
      out.emplace_back(j["step"].get<double>(), j[metric].get<double>());
    }
  }
  return out;
}

std::string fmt(double v) {
  std::ostringstream o;
  o << std::setprecision(4) << v;
  return o.str();
}

}  // namespace

SweepSummary summarize_sweep(const SweepSpec& spec, const std::string& out_dir) {
  SweepSummary s;
  nlohmann::json doc = {{"format", "rlpp.sweep_summary"}, {"version", 1}, {"base", spec.base},
                        {"seeds", spec.seeds}, {"variants", nlohmann::json::object()}};
  std::map<std::string, std::vector<core::Curve>> curves;  // metric -> one curve per variant
  for (const auto& v : spec.variants) {
    for (const auto& m : spec.metrics) {
      const auto [name, w] = metric_window(m);
      const int64_t window = w > 0 ? w : spec.final_window;
      std::vector<double> finals, starts;
      std::map<double, std::pair<double, int>> by_step;  // step -> (sum, count) over seeds
      nlohmann::json per_seed = nlohmann::json::object();
      for (int64_t seed : spec.seeds) {
        const std::string dir = sweep_run_dir(out_dir, v.name, seed);
        if (!fs::exists(dir + "/metrics.jsonl")) continue;
        const auto xs = series(dir, name);
        if (xs.empty()) continue;
        const size_t n = std::min(xs.size(), static_cast<size_t>(window));
        double sum = 0, start = 0;
        for (size_t i = 0; i < n; ++i) {
          start += xs[i].second;
          sum += xs[xs.size() - n + i].second;
        }
        finals.push_back(sum / static_cast<double>(n));
        starts.push_back(start / static_cast<double>(n));
        per_seed[std::to_string(seed)] = finals.back();
        for (const auto& [x, y] : xs) {
          if (!std::isfinite(y)) continue;
          by_step[x].first += y;
          by_step[x].second += 1;
        }
      }
      SweepCell c;
      c.n = static_cast<int64_t>(finals.size());
      for (double f : finals) c.mean += f / static_cast<double>(c.n);
      for (double f : starts) c.start_mean += f / static_cast<double>(c.n);
      if (c.n > 1) {
        double ss = 0;
        for (double f : finals) ss += (f - c.mean) * (f - c.mean);
        c.std = std::sqrt(ss / static_cast<double>(c.n - 1));
      }
      if (c.n > 0) {
        s.cells[v.name][name] = c;
        doc["variants"][v.name][name] = {{"mean", c.mean}, {"std", c.std}, {"n", c.n}, {"window", window},
                                         {"start_mean", c.start_mean}, {"per_seed", per_seed}};
      }
      core::Curve curve{v.name, {}, {}};
      for (const auto& [x, sc] : by_step) {
        curve.x.push_back(x);
        curve.y.push_back(sc.first / sc.second);
      }
      if (!curve.x.empty()) curves[name].push_back(curve);
    }
  }
  core::ensure_output_dir(out_dir);
  // summary.md: one row per variant, mean ± std over seeds of each metric's final value.
  std::ostringstream md;
  md << "| variant |";
  for (const auto& m : spec.metrics) md << " " << metric_window(m).first << " |";
  md << "\n| --- |";
  for (size_t i = 0; i < spec.metrics.size(); ++i) md << " --- |";
  md << "\n";
  for (const auto& v : spec.variants) {
    md << "| " << v.name << " |";
    for (const auto& m : spec.metrics) {
      const auto name = metric_window(m).first;
      auto it = s.cells[v.name].find(name);
      if (it == s.cells[v.name].end()) {
        md << " – |";
      } else {
        md << " ";
        if (spec.show_start) md << fmt(it->second.start_mean) << " → ";
        md << fmt(it->second.mean) << " ± " << fmt(it->second.std) << " (" << it->second.n << ") |";
      }
    }
    md << "\n";
  }
  md << "\nFinal value of a run: the mean of its last " << spec.final_window
     << " logged values of the metric (NAME:W overrides W); mean ± sample std over seeds (number of seeds)"
     << (spec.show_start ? "; before the arrow: the seeds' mean of the first values, taken the same way" : "")
     << ".\n";
  const std::string md_path = (fs::path(out_dir) / "summary.md").string();
  const std::string json_path = (fs::path(out_dir) / "summary.json").string();
  core::atomic_write_file(md_path, md.str());
  core::atomic_write_file(json_path, doc.dump(2) + "\n");
  s.files = {md_path, json_path};
  for (auto& [metric, cs] : curves) {
    std::string file = metric;
    for (char& c : file) {
      if (c == '/' || c == ':') c = '_';
    }
    const std::string png = (fs::path(out_dir) / (file + ".png")).string();
    core::PlotOptions po;
    po.title = metric + " (mean over " + std::to_string(spec.seeds.size()) + " seeds)";
    po.ylabel = metric;
    // A metric logged at a few points only (an evaluation every 20 or 50 steps) is drawn as logged:
    // a moving average over a handful of points would move its last value far from the table's.
    size_t points = 0;
    for (const auto& c : cs) points = std::max(points, c.x.size());
    po.smoothing = points >= 4 * static_cast<size_t>(spec.smoothing) ? static_cast<int>(spec.smoothing) : 1;
    try {
      core::plot_curves(cs, po, png);
      s.files.push_back(png);
    } catch (const core::UserError& e) {  // e.g. built without PLplot: the tables still stand
      std::cerr << "sweep: no plot for " << metric << ": " << e.what() << "\n";
    }
  }
  return s;
}

}  // namespace rlpp::train
