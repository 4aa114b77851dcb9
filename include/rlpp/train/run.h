// What the `rlpp` program's run commands do: start a run from a recipe, resume it, evaluate it.
// Every input is validated before anything is written. A process started with torchrun's
// variables (dist/world.h: `rlpp launch`, torch.distributed.run) with WORLD_SIZE > 1 joins a
// data-parallel run: rank 0 picks the run directory and writes the recipe, and every rank must
// have resolved the same recipe.
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
  double dist_timeout_s = 300;         // data-parallel: rendezvous and each collective
};

struct RunOutcome {
  std::string run_dir;
  bool finished = false;  // reached total_steps (false: stopped early, checkpoint written)
};

RunOutcome start_run(const StartRequest& req, const std::atomic<bool>& stop);

struct ResumeRequest {
  std::string run_dir;
  std::vector<std::string> overrides;  // "section.key=value": only the keys of kResumableKeys
  int64_t stop_after_updates = 0;
  bool quiet = false;
  bool skip_damaged = false;           // continue from the newest intact checkpoint
  double dist_timeout_s = 300;         // data-parallel: rendezvous and each collective
};

// The options a resumed run may change (`rlpp resume --set`): how long it runs, how it
// checkpoints and logs. Anything else would change what the checkpoint holds (the architecture,
// the environments) or the math of the run, so it is refused before loading, naming the key.
extern const std::vector<std::string> kResumableKeys;

// Continues the run in run_dir from its newest intact checkpoint (run_loop.h); a run that never
// reached a checkpoint starts again from the beginning. The resolved recipe is rewritten when
// `overrides` change it.
RunOutcome resume_run(const ResumeRequest& req, const std::atomic<bool>& stop);
RunOutcome resume_run(const std::string& run_dir, const std::vector<std::string>& overrides,
                      int64_t stop_after_updates, bool quiet, const std::atomic<bool>& stop);

// run_dir_or_checkpoint: a run directory (its newest checkpoint) or a checkpoint file inside
// RUN_DIR/checkpoints/.
EvalResult evaluate_run(const std::string& run_dir_or_checkpoint, const EvalRequest& req);

}  // namespace rlpp::train
