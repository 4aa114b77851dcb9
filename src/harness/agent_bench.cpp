#include "rlpp/harness/agent_bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <mutex>
#include <ostream>
#include <sstream>

#include "rlpp/core/error.h"
#include "rlpp/core/fs.h"
#include "rlpp/core/plot.h"
#include "rlpp/harness/http_chat_model.h"
#include "rlpp/harness/metrics.h"
#include "rlpp/harness/step_paths.h"

namespace rlpp::harness {

using nlohmann::json;
namespace fs = std::filesystem;

CaseFile load_cases_checked(const std::string& path, const CaseReadOptions& read, const PathOptions& paths,
                            std::ostream& log) {
  CaseFile f = read_cases(path, read);
  std::vector<Case> kept;
  for (auto& c : f.cases) {
    try {
      for (const auto& t : c.tasks) {
        PathOptions node_level = paths;
        node_level.dedupe_by_names = false;
        enumerate_step_paths(t.nodes, node_level);
      }
      kept.push_back(std::move(c));
    } catch (const std::length_error& e) {
      f.problems.push_back({c.line, c.id, e.what()});
    }
  }
  f.cases = std::move(kept);
  std::sort(f.problems.begin(), f.problems.end(), [](const CaseProblem& a, const CaseProblem& b) { return a.line < b.line; });
  for (const auto& p : f.problems)
    log << "agent-bench: skipping " << path << ":" << p.line << (p.id.empty() ? "" : " (id " + p.id + ")") << ": "
        << p.message << "\n";
  return f;
}

namespace {

std::string pct(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", 100.0 * v);
  return buf;
}

std::string num(double v, int digits = 3) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

const std::vector<std::string>& type_names() {
  static const std::vector<std::string> k{"single_tool", "multi_tool", "clarify", "chat"};
  return k;
}

// "12.5 / 10.0 (8)": action / with-arguments accuracy in percent, and the task count.
std::string cell(const json& c) {
  if (!c.is_object() || c.value("n", 0) == 0) return "–";
  return pct(c["action_acc"].get<double>()) + " / " + pct(c["args_acc"].get<double>()) + " (" +
         std::to_string(c["n"].get<int>()) + ")";
}

void table_rows(std::ostringstream& md, const json& t, const std::string& head) {
  md << "| " << head << " | n | action acc % | with args % |\n| --- | ---: | ---: | ---: |\n";
  for (auto it = t.begin(); it != t.end(); ++it)
    md << "| " << it.key() << " | " << it.value()["n"].get<int>() << " | " << pct(it.value()["action_acc"].get<double>())
       << " | " << pct(it.value()["args_acc"].get<double>()) << " |\n";
  md << "\n";
}

void write_plots(const json& m, const std::string& dir, std::vector<std::string>* notes) {
  // Accuracy (with arguments) by task position, one curve per task type.
  std::vector<core::Curve> curves;
  for (const auto& type : type_names()) {
    core::Curve c{type, {}, {}};
    for (auto it = m["by_position_type"].begin(); it != m["by_position_type"].end(); ++it)
      if (it.value().contains(type)) {
        c.x.push_back(std::stod(it.key()));
        c.y.push_back(it.value()[type]["args_acc"].get<double>());
      }
    if (!c.x.empty()) curves.push_back(std::move(c));
  }
  // A plot that cannot be drawn becomes a note in the report, not a failed run.
  const auto draw = [&](const std::vector<core::Curve>& cs, const std::string& title, const std::string& xlabel,
                        const std::string& ylabel, const std::string& file) {
    try {
      core::PlotOptions po;
      po.title = title;
      po.xlabel = xlabel;
      po.ylabel = ylabel;
      core::plot_curves(cs, po, dir + "/" + file);
    } catch (const core::UserError& e) {
      notes->push_back(file + " not drawn: " + e.what());
    }
  };
  draw(curves, "accuracy (with arguments) by task position", "task position in the dialogue", "accuracy",
       "accuracy_by_position.png");
  // Error taxonomy as bars: each category a closed rectangle outline of height = its count.
  std::vector<core::Curve> bars;
  double x = 0.0;
  for (const char* group : {"action", "argument"})
    for (auto it = m["errors"][group].begin(); it != m["errors"][group].end(); ++it, x += 1.0) {
      const double h = it.value().get<int>();
      bars.push_back({it.key() + " (" + std::to_string(static_cast<int>(h)) + ")",
                      {x - 0.35, x - 0.35, x + 0.35, x + 0.35},
                      {0.0, h, h, 0.0}});
    }
  draw(bars, "error taxonomy (failed tasks; argument errors per call)", "category", "count", "error_taxonomy.png");
}

// Creates the output directory up front (so that an unwritable --out fails before any request)
// and, unless keep() is called, removes on destruction the levels it created, innermost first:
// a stopped or failed run leaves no empty directory behind. remove() refuses a non-empty
// directory, so nothing written there by anyone else is lost.
class OutputDir {
 public:
  explicit OutputDir(const std::string& dir) {
    std::error_code ec;
    for (fs::path p(dir); !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
      created_.push_back(p);
      if (p == p.parent_path()) break;
    }
    core::ensure_output_dir(dir);
  }
  OutputDir(const OutputDir&) = delete;
  OutputDir& operator=(const OutputDir&) = delete;
  ~OutputDir() {
    if (keep_) return;
    std::error_code ec;
    for (const auto& p : created_) fs::remove(p, ec);
  }
  void keep() { keep_ = true; }

 private:
  std::vector<fs::path> created_;
  bool keep_ = false;
};

}  // namespace

std::string render_report(const json& m) {
  std::ostringstream md;
  const json& o = m["overall"];
  md << "# Agent benchmark report\n\n";
  md << "Model `" << m.value("model", std::string("?")) << "`, cases `" << m.value("cases_path", std::string("?"))
     << "`: " << m.value("cases", 0) << " dialogues (" << m.value("skipped", 0) << " malformed, skipped), "
     << o["n"].get<int>() << " task replays over " << m["trials"].get<int>() << " trial(s).\n\n";
  md << "| metric | value |\n| --- | ---: |\n";
  md << "| action accuracy | " << pct(o["action_acc"].get<double>()) << " % |\n";
  md << "| accuracy with arguments | " << pct(o["args_acc"].get<double>()) << " % |\n";
  md << "| accomplish progress | " << pct(o["progress"].get<double>()) << " % |\n";
  md << "| optimal-path rate (all tasks) | " << pct(m["optimal_path"]["rate"].get<double>()) << " % |\n";
  md << "| optimal-path rate (solved tasks) | " << pct(m["optimal_path"]["among_solved"].get<double>()) << " % |\n";
  md << "| optimal-path rate (tasks with >= 2 calls) | " << pct(m["optimal_path"]["multi_tool_rate"].get<double>())
     << " % |\n";
  md << "| variance of accuracy across type paths (action / args) | " << num(m["type_path_variance"]["action"].get<double>(), 4)
     << " / " << num(m["type_path_variance"]["args"].get<double>(), 4) << " |\n";
  md << "| failed requests | " << m["request_errors"].get<int>() << " |\n\n";

  md << "## Accuracy by task position × type\n\nEach cell: action accuracy % / accuracy with arguments % (tasks).\n\n";
  md << "| position |";
  for (const auto& t : type_names()) md << " " << t << " |";
  md << " all |\n| --- |";
  for (size_t i = 0; i <= type_names().size(); ++i) md << " ---: |";
  md << "\n";
  for (auto it = m["by_position_type"].begin(); it != m["by_position_type"].end(); ++it) {
    md << "| " << it.key() << " |";
    for (const auto& t : type_names()) md << " " << cell(it.value().value(t, json())) << " |";
    md << " " << cell(m["by_position"][it.key()]) << " |\n";
  }
  md << "| all |";
  for (const auto& t : type_names()) md << " " << cell(m["by_type"].value(t, json())) << " |";
  md << " " << cell(o) << " |\n\n";

  md << "## Multi-tool success by dependency shape\n\n";
  table_rows(md, m["by_shape"], "shape");
  md << "## Accomplish progress by type\n\n| type | progress % |\n| --- | ---: |\n";
  for (auto it = m["progress_by_type"].begin(); it != m["progress_by_type"].end(); ++it)
    md << "| " << it.key() << " | " << pct(it.value().get<double>()) << " |\n";
  md << "\n## True vs false multi-turn\n\n";
  table_rows(md, m["multi_turn"], "turn type");
  if (!m["turn_subtypes"].empty()) table_rows(md, m["turn_subtypes"], "turn subtype");

  md << "## Error taxonomy\n\nAction errors count failed tasks; argument errors count calls below 0.7 in "
        "tasks whose actions were right.\n\n| kind | error | count | share % |\n| --- | --- | ---: | ---: |\n";
  const int failed = m["errors"]["failed_tasks"].get<int>();
  int arg_total = 0;
  for (auto it = m["errors"]["argument"].begin(); it != m["errors"]["argument"].end(); ++it) arg_total += it.value().get<int>();
  for (auto it = m["errors"]["action"].begin(); it != m["errors"]["action"].end(); ++it)
    md << "| action | " << it.key() << " | " << it.value().get<int>() << " | "
       << (failed ? pct(it.value().get<double>() / failed) : "–") << " |\n";
  for (auto it = m["errors"]["argument"].begin(); it != m["errors"]["argument"].end(); ++it)
    md << "| argument | " << it.key() << " | " << it.value().get<int>() << " | "
       << (arg_total ? pct(it.value().get<double>() / arg_total) : "–") << " |\n";

  md << "\n## pass^k (with arguments)\n\n| k | pass^k |\n| ---: | ---: |\n";
  for (auto it = m["pass_hat_k"].begin(); it != m["pass_hat_k"].end(); ++it)
    md << "| " << it.key() << " | " << num(it.value().get<double>()) << " |\n";

  md << "\n## Accuracy per type path\n\n";
  table_rows(md, m["type_paths"], "type path");
  md << "## Accuracy per path prefix (the prefix's last task)\n\n";
  table_rows(md, m["prefix_accuracy"], "prefix");
  if (m.contains("skipped_cases") && !m["skipped_cases"].empty()) {
    md << "## Skipped cases\n\n";
    for (const auto& s : m["skipped_cases"])
      md << "* line " << s["line"].get<int>() << " " << s["id"].get<std::string>() << ": " << s["problem"].get<std::string>()
         << "\n";
    md << "\n";
  }
  if (m.contains("plots")) {
    md << "## Plots\n\n";
    for (const auto& p : m["plots"]) md << "![" << p.get<std::string>() << "](" << p.get<std::string>() << ")\n";
    md << "\n";
  }
  if (m.contains("notes"))
    for (const auto& n : m["notes"]) md << "Note: " << n.get<std::string>() << "\n";
  return md.str();
}

BenchResult run_agent_bench(ChatModel& model, const BenchOptions& opts, std::ostream& log, const std::atomic<bool>* stop) {
  core::require(opts.trials >= 1, "--trials must be >= 1, got " + std::to_string(opts.trials));
  core::require(opts.concurrency >= 1, "--concurrency must be >= 1, got " + std::to_string(opts.concurrency));
  core::require(opts.replay.paths.max_paths >= 1, "--max-paths must be >= 1");
  core::require(!opts.out_dir.empty(), "--out must not be empty");
  CaseFile f = load_cases_checked(opts.cases_path, opts.read, opts.replay.paths, log);
  core::require(!f.cases.empty(), "no valid case in '" + opts.cases_path + "' (" + std::to_string(f.problems.size()) +
                                      " malformed)");
  OutputDir out_dir(opts.out_dir);

  const auto t0 = std::chrono::steady_clock::now();
  std::mutex log_mu;
  int last_pct = -1;
  auto on_done = [&](int done, int total) {
    const int p = 100 * done / total;
    if (p / 10 != last_pct / 10 || done == total) {
      last_pct = p;
      const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::lock_guard<std::mutex> lock(log_mu);
      log << "agent-bench: " << done << "/" << total << " dialogues (" << p << "%), " << num(el, 1) << " s\n";
    }
  };
  ReplayRun run = replay_all(model, f.cases, opts.trials, opts.concurrency, opts.replay, on_done, stop);
  BenchResult out;
  out.cases = static_cast<int>(f.cases.size());
  out.skipped = static_cast<int>(f.problems.size());
  out.complete = run.complete;
  if (!run.complete) {
    log << "agent-bench: stopped before the end; nothing written\n";
    return out;
  }
  // A model that never answered (a wrong --base-url, a dead server) scores 0 %, which reads as a
  // result: refuse it, with the first error, instead of writing a report.
  const auto answered = std::find_if(run.transcript.begin(), run.transcript.end(),
                                     [](const json& l) { return l.contains("response"); });
  if (!run.transcript.empty() && answered == run.transcript.end()) {
    const json& first = run.transcript.front();
    throw core::UserError("agent-bench: none of the " + std::to_string(run.transcript.size()) +
                          " model requests succeeded; the first failed with: " +
                          (first.contains("error") && first["error"].is_string() ? first["error"].get<std::string>()
                                                                                  : std::string("no reply")));
  }

  json m = compute_metrics(run.results, opts.trials);
  m["model"] = model.name();
  m["cases_path"] = opts.cases_path;
  m["cases"] = out.cases;
  m["skipped"] = out.skipped;
  m["skipped_cases"] = json::array();
  for (const auto& p : f.problems) m["skipped_cases"].push_back({{"line", p.line}, {"id", p.id}, {"problem", p.message}});
  m["wall_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const HttpStats hs = http_model_stats(model);
  m["http"] = {{"requests", hs.requests}, {"retries", hs.retries}, {"failures", hs.failures}};
  json tasks = json::array();
  for (const auto& r : run.results) {
    json e{{"case_id", r.case_id}, {"trial", r.trial}, {"position", r.position + 1}, {"type", task_type_name(r.type)},
           {"shape", dag_shape_name(r.shape)}, {"action_ok", r.action_ok}, {"args_ok", r.args_ok},
           {"steps_done", r.steps_done}, {"min_steps", r.min_steps}, {"progress", r.progress},
           {"optimal", r.optimal}, {"paths", r.n_paths}, {"action_error", action_error_name(r.action_error)},
           {"call_scores", r.call_scores}, {"detail", r.detail}};
    json ae = json::array();
    for (ArgError a : r.arg_errors) ae.push_back(arg_error_name(a));
    e["arg_errors"] = ae;
    tasks.push_back(std::move(e));
  }
  m["tasks"] = tasks;

  std::vector<std::string> notes;
  if (opts.plots) {
    write_plots(m, opts.out_dir, &notes);
    json plots = json::array();
    for (const char* p : {"accuracy_by_position.png", "error_taxonomy.png"}) {
      bool missing = false;
      for (const auto& n : notes) missing |= n.rfind(p, 0) == 0;
      if (!missing) plots.push_back(p);
    }
    m["plots"] = plots;
  }
  if (!notes.empty()) m["notes"] = notes;
  for (const auto& n : notes) log << "agent-bench: " << n << "\n";

  std::string transcript;
  for (const auto& l : run.transcript) transcript += l.dump() + "\n";
  const std::string report = render_report(m);
  core::atomic_write_file(opts.out_dir + "/transcripts.jsonl", transcript);
  core::atomic_write_file(opts.out_dir + "/metrics.json", m.dump(2) + "\n");
  core::atomic_write_file(opts.out_dir + "/report.md", report);
  out_dir.keep();
  log << "agent-bench: action accuracy " << pct(m["overall"]["action_acc"].get<double>()) << "%, with arguments "
      << pct(m["overall"]["args_acc"].get<double>()) << "%; wrote " << opts.out_dir << "/{report.md,metrics.json,transcripts.jsonl}\n";
  out.metrics = std::move(m);
  return out;
}

}  // namespace rlpp::harness
