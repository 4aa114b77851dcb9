// The one run loop every trainer uses. It owns what is the same for all of them:
//   * the metrics logger (metrics.jsonl, metrics.csv, TensorBoard; rows past the checkpoint are
//     dropped on resume) and the progress display;
//   * stopping: Ctrl-C / SIGTERM (`stop`), a split after `stop_after_updates`, the end of the run —
//     each leaves a final checkpoint;
//   * checkpoints: periodic (`run.checkpoint_every`), atomic, the newest `run.keep_checkpoints`
//     kept, with the trainer's version number checked on load;
//   * resume: the newest checkpoint, verified (CRC-32 of every entry) — a damaged one is refused
//     naming the file, or skipped for the newest intact one when the run asks (`skip_damaged`);
//     stale temp files of a killed writer are removed; a run that never reached a checkpoint
//     starts again from the beginning;
//   * the fully resolved recipe (recipe.toml).
// A trainer derives from LoopTrainer and supplies one update (step()), where it stands
// (position()), its checkpoint state and, optionally, hooks at the start and the end.
//
//   class MyTrainer : public LoopTrainer {
//    public:
//     MyTrainer(const core::Recipe& r, const RunContext& ctx) : LoopTrainer(ctx) {
//       run_ = core::read_options<RunOptions>(r, "run");   // + the trainer's own sections
//       r.check_all_used();
//       ...build...
//       finish_setup(resolved_text);                       // last: resumes when ctx.resume
//     }
//    private:
//     LoopPosition position() const override;               // updates done / total, x-axis step
//     core::MetricRow step() override;                      // one update and its metrics
//     int64_t checkpoint_version() const override { return 1; }
//     void save_state(CheckpointWriter& w) override;        // everything a bit-identical resume needs
//     void load_state(CheckpointReader& r, bool full) override;  // full = false: weights for eval
//   };
//
// Data-parallel runs (ctx.comm): the ranks agree on stopping after every update (a signal that
// reached one rank stops all of them at the same update); rank 0 alone logs metrics and shows
// progress; a checkpoint is one file written by rank 0 holding the shared state (save_state) and
// each rank's own part (save_rank_state: its environments, generators), sent to rank 0. On resume
// rank 0 reads the file and sends it to every rank, so the ranks need not share a file system; a
// checkpoint resumes only with the number of ranks that wrote it.

#pragma once
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rlpp/core/metrics.h"
#include "rlpp/train/checkpoint.h"
#include "rlpp/train/trainer.h"

namespace rlpp::train {

struct LoopPosition {
  int64_t update = 0;         // updates done; checkpoints are named after it
  int64_t total_updates = 0;  // the run is finished when update reaches this
  int64_t step = 0;           // x of metric rows and of the progress line (env steps, optimizer steps, ...)
  int64_t total_steps = 0;    // end of the progress bar
};

class LoopTrainer : public Trainer {
 public:
  std::string resolved_recipe() const final { return resolved_; }
  bool run(const std::atomic<bool>& stop) final;
  void load_checkpoint(const std::string& path) final;

 protected:
  explicit LoopTrainer(const RunContext& ctx) : ctx_(ctx) {}
  // Call last in the most-derived constructor: records the resolved recipe and, when resuming,
  // restores the newest checkpoint.
  void finish_setup(std::string resolved_recipe);

  virtual LoopPosition position() const = 0;
  // One update; position().update grows by one. Returns the row logged at position().step.
  virtual core::MetricRow step() = 0;
  virtual int64_t checkpoint_version() const = 0;
  virtual void save_state(CheckpointWriter& w) = 0;
  // full = false: only what evaluation needs (weights, normaliser statistics).
  virtual void load_state(CheckpointReader& r, bool full) = 0;
  // What differs between the ranks of a data-parallel run (a single process has one rank).
  virtual void save_rank_state(CheckpointWriter& w) {}
  virtual void load_rank_state(CheckpointReader& r) {}
  // Why checkpoint `r` resumes only with the number of ranks that wrote it ("": it resumes with
  // any number: its state is all shared, or each rank's part can be made anew).
  virtual std::string why_ranks_fixed(CheckpointReader& r) const { return "each rank's own state is in it"; }
  // What must be the same on every rank (e.g. a checksum of the weights and optimizer state), or
  // "". At each checkpoint rank 0 compares the ranks' values (a UserError naming the ranks that
  // diverged) and stores them as replica.<rank>.
  virtual std::string replica_fingerprint() { return ""; }
  // Before the first update of this call (e.g. an evaluation row at step 0 of a fresh run).
  virtual void on_start(core::MetricsLogger& metrics) {}
  // After the final checkpoint of a finished run (e.g. exporting the model).
  virtual void on_finish() {}
  // Shown on the progress line (e.g. the mean return of the last episodes).
  virtual std::optional<double> progress_value() const { return std::nullopt; }
  // The progress line's rate: "sps" (steps per second) unless a trainer names its unit.
  virtual const char* rate_label() const { return "sps"; }

  // CRC-32 of the bytes of `tensors` (contiguous copies), continuing `crc`; adds their size to
  // *bytes. For replica_fingerprint.
  static uint32_t tensors_crc32(const std::vector<torch::Tensor>& tensors, uint32_t crc, int64_t* bytes);

  // The process group of a data-parallel run; nullptr for a single process.
  dist::Comm* comm() const;
  int rank() const;
  int world_size() const;

  RunContext ctx_;
  RunOptions run_;

 private:
  void save_checkpoint();
  void restore_newest();
  // Rank 0: the newest intact checkpoint file's path and bytes ("" when there is none).
  std::pair<std::string, std::string> read_newest();
  bool agreed_stop(const std::atomic<bool>& stop) const;

  std::string resolved_;
};

// The checkpoint files of run_dir, newest first.
std::vector<std::string> checkpoints_newest_first(const std::string& run_dir);

}  // namespace rlpp::train
