// `rlpp mcts-dpo`: MCTS-DPO rounds on a finished LM run, run by the mcts_dpo trainer
// (search/trainers/mcts_dpo.h). Watches the stop flag: Ctrl-C checkpoints, `rlpp resume` continues.
#include <iostream>
#include <memory>

#include "command.h"
#include "rlpp/search/trainers/mcts_dpo.h"

namespace {

int run_mcts_dpo_command(const rlpp::search::MctsDpoRequest& req, const std::atomic<bool>& stop) {
  const auto outcome = rlpp::search::run_mcts_dpo(req, stop);
  for (const auto& r : outcome.rounds)
    std::cout << "round " << r.round << "  pairs " << r.pairs << "  search_reward " << r.search_reward << "  dpo_loss "
              << r.dpo_loss_first << " -> " << r.dpo_loss_last << "  reward_accuracy " << r.reward_accuracy_last
              << "  greedy_accuracy " << r.greedy_accuracy << "  tokens " << r.tokens_generated << std::endl;
  if (outcome.finished) {
    std::cout << "rlpp: wrote " << req.out_dir << std::endl;
  } else {
    std::cout << "rlpp: stopped early; checkpoint written. Continue with: rlpp resume " << req.out_dir << std::endl;
  }
  return 0;
}

const bool kRegistered = rlpp::cli::register_command(
    [](CLI::App& app, const std::atomic<bool>& stop) {
      auto req = std::make_shared<rlpp::search::MctsDpoRequest>();
      auto* mcts_dpo =
          app.add_subcommand("mcts-dpo", "MCTS-DPO rounds on an LM run: search, step preference pairs, DPO, refresh");
      mcts_dpo->add_option("run_dir", req->run_dir, "language-model run directory (with model/)")->required();
      mcts_dpo->add_option("--out", req->out_dir, "directory for model/, recipe.toml and mcts_dpo.json")->required();
      mcts_dpo->add_option("--rounds", req->rounds, "search + DPO rounds")->check(CLI::Range(1, 1000));
      mcts_dpo->add_option("--problems", req->problems, "problems searched per round")->check(CLI::Range(1, 1000000));
      mcts_dpo->add_option("--eval-problems", req->eval_problems, "held-out problems for greedy accuracy")
          ->check(CLI::Range(1, 1000000));
      mcts_dpo->add_option("--epochs", req->epochs, "passes over a round's pairs")->check(CLI::Range(1, 1000));
      mcts_dpo->add_option("--lr", req->learning_rate, "AdamW learning rate")->check(CLI::Range(1e-9, 1.0));
      mcts_dpo->add_option("--beta", req->dpo.beta, "DPO beta")->check(CLI::Range(1e-6, 100.0));
      mcts_dpo->add_option("--nll-weight", req->nll_weight, "weight of an NLL term on the chosen steps (RPO)")
          ->check(CLI::Range(0.0, 100.0));
      mcts_dpo->add_option("--min-gap", req->min_gap, "Q gap needed for a sibling pair")->check(CLI::Range(0.0, 2.0));
      mcts_dpo->add_option("--iterations", req->mcts.iterations, "MCTS iterations per move")->check(CLI::Range(1, 100000));
      mcts_dpo->add_option("--children", req->mcts.num_children, "steps sampled per expansion")->check(CLI::Range(1, 64));
      mcts_dpo->add_option("--task-run", req->task_run_dir, "run whose recipe defines the task (default: run_dir)");
      mcts_dpo->add_option("--threads", req->torch_threads, "LibTorch threads")->check(CLI::Range(1, 256));
      mcts_dpo->footer(
          "Example:\n  rlpp mcts-dpo runs/lm-arith-150 --rounds 2 --problems 64 --out runs/lm-arith-150-mcts-dpo");
      return rlpp::cli::Command{mcts_dpo, [req, &stop] { return run_mcts_dpo_command(*req, stop); }};
    },
    110);

}  // namespace
