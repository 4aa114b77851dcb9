// `rlpp rm-bon`: a Bradley-Terry reward model on an LM run's samples, and best-of-N by it: proxy
// against true reward (search/reward_model_bon.h).
#include <iostream>
#include <memory>

#include "command.h"
#include "rlpp/search/reward_model_bon.h"

namespace {

int run_rm_bon(const rlpp::search::RewardModelBonRequest& req) {
  const auto r = rlpp::search::run_reward_model_bon(req);
  std::cout << "train_pairs " << r.train_pairs << "  pair_accuracy train " << r.train_pair_accuracy << " held-out "
            << r.heldout_pair_accuracy << std::endl;
  for (const auto& p : r.points)
    std::cout << "N " << p.n << "  proxy " << p.proxy << "  true " << p.true_accuracy << "  oracle " << p.oracle_accuracy
              << std::endl;
  std::cout << "rlpp: wrote " << req.out_dir << std::endl;
  return 0;
}

const bool kRegistered = rlpp::cli::register_command(
    [](CLI::App& app, const std::atomic<bool>&) {
      auto req = std::make_shared<rlpp::search::RewardModelBonRequest>();
      auto* rm_bon = app.add_subcommand(
          "rm-bon", "train a Bradley-Terry reward model on an LM run's samples; best-of-N by it: proxy vs true reward");
      rm_bon->add_option("run_dir", req->run_dir, "language-model run directory (with model/)")->required();
      rm_bon->add_option("--out", req->out_dir, "directory for rm_bon.{md,json,png}")->required();
      rm_bon->add_option("--train-problems", req->train_problems, "problems whose samples train the reward model")
          ->check(CLI::Range(1, 1000000));
      rm_bon->add_option("--eval-problems", req->eval_problems, "fresh problems for best-of-N")
          ->check(CLI::Range(1, 1000000));
      rm_bon->add_option("--samples", req->samples, "samples per training problem")->check(CLI::Range(2, 4096));
      rm_bon->add_option("--max-n", req->max_n, "largest N (powers of two from 1)")->check(CLI::Range(1, 4096));
      rm_bon->add_option("--steps", req->steps, "Adam steps of the reward head")->check(CLI::Range(1, 1000000));
      rm_bon->add_option("--task-run", req->task_run_dir, "run whose recipe defines the task (default: run_dir)");
      rm_bon->add_option("--threads", req->torch_threads, "LibTorch threads")->check(CLI::Range(1, 256));
      rm_bon->footer("Example:\n  rlpp rm-bon runs/lm-arith-150 --train-problems 128 --max-n 32 --out runs/rm-bon-150");
      return rlpp::cli::Command{rm_bon, [req] { return run_rm_bon(*req); }, false};
    },
    120);

}  // namespace
