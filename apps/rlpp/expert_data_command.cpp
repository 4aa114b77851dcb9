// `rlpp expert-data`: rejection sampling, a run's verified solutions to fresh problems as SFT JSONL
// (search/expert_data.h).
#include <iostream>
#include <memory>

#include "command.h"
#include "rlpp/search/expert_data.h"

namespace {

int run_expert_data(const rlpp::search::ExpertDataRequest& req) {
  const auto r = rlpp::search::write_expert_data(req);
  std::cout << "problems " << r.problems << "  solved " << r.solved << "  examples " << r.examples
            << "  tokens_generated " << r.tokens_generated << std::endl;
  std::cout << "rlpp: wrote " << req.out_path << std::endl;
  return 0;
}

const bool kRegistered = rlpp::cli::register_command(
    [](CLI::App& app, const std::atomic<bool>&) {
      auto req = std::make_shared<rlpp::search::ExpertDataRequest>();
      auto* expert = app.add_subcommand(
          "expert-data", "rejection sampling: a run's verified solutions to fresh problems as SFT data (JSONL)");
      expert->add_option("run_dir", req->run_dir, "language-model run directory (with model/)")->required();
      expert->add_option("--out", req->out_path, "JSONL file to write")->required();
      expert->add_option("--problems", req->problems, "fresh task problems")->check(CLI::Range(1, 10000000));
      expert->add_option("--samples", req->samples, "samples per problem")->check(CLI::Range(1, 4096));
      expert->add_option("--temperature", req->temperature, "sampling temperature")->check(CLI::Range(0.0, 100.0));
      expert->add_option("--seed", req->seed, "seed of the problems");
      expert->add_option("--task-run", req->task_run_dir, "run whose recipe defines the task (default: run_dir)");
      expert->add_option("--threads", req->torch_threads, "LibTorch threads")->check(CLI::Range(1, 256));
      expert->footer("Example:\n  rlpp expert-data runs/lm-arith-150 --problems 2000 --samples 8 --out runs/expert.jsonl");
      return rlpp::cli::Command{expert, [req] { return run_expert_data(*req); }, false};
    },
    100);

}  // namespace
