// A training algorithm as the `rlpp` program sees it: built from a recipe, run until done or
// stopped, checkpointed and resumed, evaluated. Algorithms register under their recipe name
// (`run.algorithm`).
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/core/registry.h"

namespace rlpp::dist {
class Comm;
}

namespace rlpp::train {

// Options of the [run] section, common to every algorithm.
struct RunOptions {
  std::string algorithm = "ppo";
  int64_t seed = 1;
  int64_t total_steps = 500000;   // environment steps (all copies together)
  int64_t checkpoint_every = 0;   // updates between checkpoints; 0 = only at the end / on stop
  int keep_checkpoints = 2;       // newest checkpoints kept
  int torch_threads = 1;          // LibTorch intra-op threads (small networks run best on 1)
  double log_interval_s = 10.0;   // seconds between plain progress lines when not on a terminal

  void bind(core::Binder& b);
};

// Where a run writes, and how it was started.
struct RunContext {
  std::string run_dir;          // holds recipe.toml, metrics.*, events.*, checkpoints/
  bool resume = false;          // continue from the newest checkpoint in run_dir
  int64_t stop_after_updates = 0;  // > 0: checkpoint and stop after this many updates in this call
  bool quiet = false;           // no progress output
  bool skip_damaged = false;    // resume: skip damaged checkpoints for the newest intact one
  // Data-parallel runs (docs/distributed.md): this rank's process group; {} or one rank = a
  // single process. Rank 0 writes the metrics, the recipe and the checkpoints.
  std::shared_ptr<dist::Comm> comm;
};

// What `rlpp eval` asks for. Control runs use episodes and seed; language-model runs also draw
// `samples` responses per problem at `temperature` (pass@k, maj@k) and may write them to
// `samples_path` (JSONL).
struct EvalRequest {
  int episodes = 10;           // episodes (control) or held-out problems (language)
  uint64_t seed = 12345;
  int samples = 0;             // language: sampled responses per problem (0 = greedy only)
  double temperature = 1.0;    // language: sampling temperature of those responses
  std::string samples_path;    // language: JSONL of every problem with its responses ("" = none)
};

struct EvalResult {
  std::string score_name = "return";  // what mean_return holds: "return" (control), "accuracy" (language tasks)
  int episodes = 0;
  double mean_return = 0;
  double std_return = 0;
  double mean_length = 0;
  std::vector<std::pair<std::string, double>> extra;  // further named results (pass@k, maj@k, ...)
};

class Trainer {
 public:
  virtual ~Trainer() = default;

  // The recipe with every option resolved (defaults filled in), as written to recipe.toml.
  virtual std::string resolved_recipe() const = 0;
  // Trains until total_steps, `stop` becomes true, or stop_after_updates; always leaves a final
  // checkpoint. Returns true when total_steps was reached.
  virtual bool run(const std::atomic<bool>& stop) = 0;
  // Deterministic-policy evaluation on fresh environments (or held-out problems) seeded from req.seed.
  virtual EvalResult evaluate(const EvalRequest& req) = 0;
  // Loads model (and normaliser) state from a checkpoint file, for evaluation.
  virtual void load_checkpoint(const std::string& path) = 0;
  // Whether the algorithm trains data-parallel over the ranks of RunContext::comm (the others
  // are refused when started with more than one rank).
  virtual bool data_parallel() const { return false; }
};

using TrainerFactory = std::function<std::unique_ptr<Trainer>(const core::Recipe&, const RunContext&)>;

// Registry of algorithms (`rlpp list algorithms`).
core::Registry<TrainerFactory>& algorithm_registry();

// Builds the trainer named by the recipe's run.algorithm; validates the whole recipe (unknown
// sections and keys are errors) before anything is written.
std::unique_ptr<Trainer> make_trainer(const core::Recipe& recipe, const RunContext& ctx);

// The newest checkpoint file in run_dir/checkpoints, or "" if none.
std::string latest_checkpoint(const std::string& run_dir);

}  // namespace rlpp::train
