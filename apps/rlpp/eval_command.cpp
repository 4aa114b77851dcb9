// `rlpp eval`: the deterministic policy of a run or checkpoint on fresh episodes (control) or
// held-out problems (language models), one summary line and the extra metrics.
#include <iostream>
#include <memory>
#include <string>

#include "command.h"
#include "rlpp/train/run.h"

namespace {

struct EvalArgs {
  std::string target;
  rlpp::train::EvalRequest req;
};

int run_eval(const EvalArgs& a) {
  const auto r = rlpp::train::evaluate_run(a.target, a.req);
  if (r.score_name == "return") {
    std::cout << "episodes " << r.episodes << "  mean_return " << r.mean_return << "  std_return " << r.std_return
              << "  mean_length " << r.mean_length << std::endl;
  } else {
    std::cout << "examples " << r.episodes << "  " << r.score_name << " " << r.mean_return << "  mean_length "
              << r.mean_length << std::endl;
  }
  for (const auto& [name, value] : r.extra) std::cout << name << " " << value << std::endl;
  return 0;
}

const bool kRegistered = rlpp::cli::register_command(
    [](CLI::App& app, const std::atomic<bool>&) {
      auto a = std::make_shared<EvalArgs>();
      auto* eval = app.add_subcommand("eval", "evaluate the deterministic policy of a run or checkpoint");
      eval->add_option("target", a->target, "run directory or checkpoint file")->required();
      eval->add_option("--episodes", a->req.episodes, "episodes to run (language models: held-out problems)")
          ->check(CLI::Range(1, 1000000));
      eval->add_option("--seed", a->req.seed, "seed of the evaluation environments / held-out problems");
      eval->add_option("--samples", a->req.samples, "language models: sampled responses per problem for pass@k and maj@k")
          ->check(CLI::Range(0, 4096));
      eval->add_option("--temperature", a->req.temperature, "language models: temperature of the sampled responses")
          ->check(CLI::Range(0.0, 100.0));
      eval->add_option("--samples-out", a->req.samples_path, "language models: write every problem and response (JSONL)");
      eval->footer("Examples:\n  rlpp eval runs/cp3 --episodes 20\n"
                   "  rlpp eval runs/lm-arith --episodes 500 --samples 8 --samples-out samples.jsonl");
      return rlpp::cli::Command{eval, [a] { return run_eval(*a); }, false};
    },
    30);

}  // namespace
