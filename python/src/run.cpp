// rlpp.run: start, resume and evaluate runs exactly as `rlpp train`, `rlpp resume` and `rlpp eval`
// do. While a run is going the GIL is released and Ctrl-C / SIGTERM act as on the command line:
// the current update finishes, a checkpoint is written and the call returns (finished = False);
// Python's own handlers are restored afterwards.
#include <atomic>
#include <csignal>

#include "bindings.h"
#include "rlpp/search/trainers/trainers.h"
#include "rlpp/train/run.h"

namespace rlpp::python {

namespace {

std::atomic<bool> g_stop{false};

void on_stop_signal(int) { g_stop.store(true); }

// Installs the stop handlers for the lifetime of a run, then puts Python's back.
class StopSignals {
 public:
  StopSignals() {
    g_stop.store(false);
    old_int_ = std::signal(SIGINT, on_stop_signal);
    old_term_ = std::signal(SIGTERM, on_stop_signal);
  }
  ~StopSignals() {
    std::signal(SIGINT, old_int_);
    std::signal(SIGTERM, old_term_);
  }
  bool stopped() const { return g_stop.load(); }

 private:
  void (*old_int_)(int) = SIG_DFL;
  void (*old_term_)(int) = SIG_DFL;
};

// Runs `go` (start_run or resume_run on `req`) without the GIL under the stop handlers:
// {run_dir, finished, interrupted}.
template <class Request>
py::dict supervised(train::RunOutcome (*go)(const Request&, const std::atomic<bool>&), const Request& req) {
  StopSignals signals;
  train::RunOutcome o;
  {
    py::gil_scoped_release release;
    o = go(req, g_stop);
  }
  py::dict d;
  d["run_dir"] = o.run_dir;
  d["finished"] = o.finished;
  d["interrupted"] = signals.stopped();
  return d;
}

}  // namespace

void bind_run(py::module_& m) {
  search::register_trainers();  // mcts_dpo, mcts_value, search_pg, as in the program
  m.def(
      "start",
      [](const std::string& recipe, const std::vector<std::string>& overrides, const std::string& out,
         int64_t stop_after_updates, bool quiet) {
        train::StartRequest req;
        req.recipe_path = recipe;
        req.overrides = overrides;
        req.out_dir = out;
        req.stop_after_updates = stop_after_updates;
        req.quiet = quiet;
        return supervised(&train::start_run, req);
      },
      py::arg("recipe"), py::arg("overrides") = std::vector<std::string>{}, py::arg("out") = "",
      py::arg("stop_after_updates") = 0, py::arg("quiet") = false);
  m.def(
      "resume",
      [](const std::string& run_dir, const std::vector<std::string>& overrides, int64_t stop_after_updates, bool quiet,
         bool skip_damaged) {
        train::ResumeRequest req;
        req.run_dir = run_dir;
        req.overrides = overrides;
        req.stop_after_updates = stop_after_updates;
        req.quiet = quiet;
        req.skip_damaged = skip_damaged;
        return supervised<train::ResumeRequest>(&train::resume_run, req);
      },
      py::arg("run_dir"), py::arg("overrides") = std::vector<std::string>{}, py::arg("stop_after_updates") = 0,
      py::arg("quiet") = false, py::arg("skip_damaged") = false);
  m.def(
      "evaluate",
      [](const std::string& target, int episodes, uint64_t seed, int samples, double temperature,
         const std::string& samples_path) {
        train::EvalRequest req;
        req.episodes = episodes;
        req.seed = seed;
        req.samples = samples;
        req.temperature = temperature;
        req.samples_path = samples_path;
        train::EvalResult r;
        {
          py::gil_scoped_release release;
          r = train::evaluate_run(target, req);
        }
        py::dict d;
        d["score_name"] = r.score_name;
        d["episodes"] = r.episodes;
        d["mean"] = r.mean_return;
        d["std"] = r.std_return;
        d["mean_length"] = r.mean_length;
        for (const auto& [k, v] : r.extra) d[py::str(k)] = v;
        return d;
      },
      py::arg("target"), py::arg("episodes") = 10, py::arg("seed") = 12345, py::arg("samples") = 0,
      py::arg("temperature") = 1.0, py::arg("samples_path") = "");
}

}  // namespace rlpp::python
