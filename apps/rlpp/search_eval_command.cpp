// `rlpp search-eval`: accuracy against test-time compute of a finished LM run (search/compute_curve.h).
#include <iostream>
#include <memory>
#include <string>

#include "command.h"
#include "rlpp/search/compute_curve.h"

namespace {

struct SearchEvalArgs {
  rlpp::search::ComputeCurveRequest req;
  std::string out = "runs/search-eval";
};

int run_search_eval(const SearchEvalArgs& a) {
  const auto points = rlpp::search::compute_curve(a.req);
  std::cout << rlpp::search::compute_table(points);
  for (const auto& f : rlpp::search::write_compute_curve(points, a.out)) std::cout << "rlpp: wrote " << f << std::endl;
  return 0;
}

const bool kRegistered = rlpp::cli::register_command(
    [](CLI::App& app, const std::atomic<bool>&) {
      auto a = std::make_shared<SearchEvalArgs>();
      auto* search_eval = app.add_subcommand(
          "search-eval", "accuracy against test-time compute of an LM run: greedy, majority vote, best-of-N, beam, MCTS");
      search_eval->add_option("run_dir", a->req.run_dir, "language-model run directory (with model/)")->required();
      search_eval->add_option("--problems", a->req.problems, "fresh task problems")->check(CLI::Range(1, 100000));
      search_eval->add_option("--budgets", a->req.budgets, "budgets b (samples / expansions / 2b MCTS iterations)")
          ->delimiter(',');
      search_eval->add_option("--methods", a->req.methods, "greedy, majority, best_of_n_logp, best_of_n_verifier, beam, mcts")
          ->delimiter(',');
      search_eval->add_option("--temperature", a->req.temperature, "sampling temperature")->check(CLI::Range(0.0, 100.0));
      search_eval->add_option("--seed", a->req.seed, "seed of the problems");
      search_eval->add_option("--threads", a->req.torch_threads, "LibTorch threads")->check(CLI::Range(1, 256));
      search_eval->add_option("--task-run", a->req.task_run_dir, "run whose recipe defines the task (default: run_dir)");
      search_eval->add_option("--out", a->out, "directory for compute_curve.{md,json,png}");
      search_eval->footer(
          "Example:\n  rlpp search-eval runs/lm-arith-150 --problems 64 --budgets 1,2,4,8 --out runs/search-eval");
      return rlpp::cli::Command{search_eval, [a] { return run_search_eval(*a); }, false};
    },
    90);

}  // namespace
