// `rlpp resume`: continue a run from its newest checkpoint (train/run.h). Watches the stop flag like
// `rlpp train`.
#include <memory>

#include "command.h"
#include "rlpp/train/run.h"

namespace {

const bool kRegistered = rlpp::cli::register_command(
    [](CLI::App& app, const std::atomic<bool>& stop) {
      auto req = std::make_shared<rlpp::train::ResumeRequest>();
      auto* resume = app.add_subcommand("resume", "continue a run from its newest checkpoint");
      resume->add_option("run_dir", req->run_dir, "run directory")->required();
      resume->add_option("--set", req->overrides,
                         "change a recipe value: run.total_steps, run.checkpoint_every, run.keep_checkpoints, "
                         "run.torch_threads, run.log_interval_s or rl.rollout_worker");
      resume->add_option("--stop-after-updates", req->stop_after_updates, "checkpoint and stop after this many updates");
      resume->add_flag("--quiet", req->quiet, "no progress output");
      resume->add_option("--dist-timeout", req->dist_timeout_s,
                        "data-parallel runs: seconds a rank waits for the others (rendezvous, each collective)")
          ->check(CLI::Range(1.0, 86400.0));
      resume->add_flag("--skip-damaged", req->skip_damaged,
                       "continue from the newest intact checkpoint when newer ones are damaged");
      resume->footer("Example:\n  rlpp resume runs/cp3 --set run.total_steps=1000000");
      return rlpp::cli::Command{resume, [req, &stop] {
                                  rlpp::train::resume_run(*req, stop);
                                  return 0;
                                }};
    },
    20);

}  // namespace
