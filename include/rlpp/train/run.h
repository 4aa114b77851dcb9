// What the `rlpp` program's run commands do: start a run from a recipe, resume it, evaluate it.
// Every input is validated before anything is written.
#pragma once
#include <atomic>
#include <string>
#include <vector>

#include "rlpp/train/trainer.h"

namespace rlpp::train {

struct StartRequest {
  std::string recipe_path;
  std::vector<std::string> overrides;  // "section.key=value"
  std::string out_dir;                 // "" = runs/<recipe name>-s<seed>-<date-time>
  int64_t stop_after_updates = 0;
  bool quiet = false;
};

struct RunOutcome {
  std::string run_dir;
  bool finished = false;  // reached total_steps (false: stopped early, checkpoint written)
};

RunOutcome start_run(const StartRequest& req, const std::atomic<bool>& stop);

// Continues the run in run_dir from its newest checkpoint; `overrides` may change options such
// as run.total_steps (the resolved recipe is rewritten).
RunOutcome resume_run(const std::string& run_dir, const std::vector<std::string>& overrides,
                      int64_t stop_after_updates, bool quiet, const std::atomic<bool>& stop);

// run_dir_or_checkpoint: a run directory (its newest checkpoint) or a checkpoint file inside
// RUN_DIR/checkpoints/.
EvalResult evaluate_run(const std::string& run_dir_or_checkpoint, const EvalRequest& req);

}  // namespace rlpp::train
