// `rlpp train`: start a run from a TOML recipe (train/run.h). Watches the stop flag: the first
// Ctrl-C or SIGTERM writes a checkpoint and exits; `rlpp resume` continues.
#include <memory>

#include "command.h"
#include "rlpp/train/run.h"

namespace {

const bool kRegistered = rlpp::cli::register_command(
    [](CLI::App& app, const std::atomic<bool>& stop) {
      auto start = std::make_shared<rlpp::train::StartRequest>();
      auto* train = app.add_subcommand("train", "train from a TOML recipe");
      train->add_option("recipe", start->recipe_path, "recipe file (see configs/)")->required();
      train->add_option("--set", start->overrides, "override a recipe value: section.key=value (repeatable)");
      train->add_option("--out", start->out_dir, "run directory (default: runs/<recipe>-s<seed>-<time>)");
      train->add_option("--stop-after-updates", start->stop_after_updates,
                        "checkpoint and stop after this many updates (resume later)");
      train->add_flag("--quiet", start->quiet, "no progress output");
      train->add_option("--dist-timeout", start->dist_timeout_s,
                        "data-parallel runs: seconds a rank waits for the others (rendezvous, each collective)")
          ->check(CLI::Range(1.0, 86400.0));
      train->footer(
          "Examples:\n  rlpp train configs/cartpole_ppo.toml\n"
          "  rlpp train configs/cartpole_ppo.toml --set run.seed=3 --set ppo.learning_rate=1e-3 --out runs/cp3\n"
          "Ctrl-C writes a checkpoint and exits; 'rlpp resume RUN_DIR' continues.");
      return rlpp::cli::Command{train, [start, &stop] {
                                  rlpp::train::start_run(*start, stop);
                                  return 0;
                                }};
    },
    10);

}  // namespace
