// The rollout worker as a separate rank (rl.rollout_worker = "rank", with rl.max_staleness = s > 0):
// the transport between the learner (rank 0) and the rollout worker (rank 1) of a 2-process run
// (`rlpp launch --nproc-per-node 2`), on the run's c10d process group (dist/comm.h, Gloo).
//
// The schedule is the thread worker's (async_rollouts.h): batch k is sampled from version
// max(0, k − s). The two ranks go through the run loop together, one RL step per iteration
// (the loop's stop agreement and checkpoints are collectives of both ranks), and in iteration k
//
//   learner (rank 0)                                worker (rank 1)
//   takes batch k from its queue, trains it         samples batch k + s from version k
//   ── weights(): broadcast of version k + 1 (one flat buffer per dtype) ──────────────────────▶
//   ◀── batches(): the finished batch and the worker's state after it, as bytes ────────────────
//
// so training and generation overlap exactly as with the thread worker once the worker is s
// batches ahead. The first iteration of a process starts with one more exchange: version k (the
// learner's weights, so the worker never relies on its own initialisation) and the batches
// k .. k + s − 1 not queued yet (s of them on a fresh start, none when resuming a checkpoint that
// holds the queue). Each batch message carries the worker's state after its last batch (prompt
// order and generator, success trackers, next index): the learner keeps them, so its checkpoint
// holds exactly what the thread version's holds (the queue and the worker's state at a batch
// boundary), with no extra pause; either worker kind resumes it.
//
// Stopping: the run's end, a split (--stop-after-updates) and a signal are agreed by both ranks in
// the run loop; an error on either rank makes the other fail in its next broadcast (bounded by
// --dist-timeout), and both exit non-zero.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "rlpp/dist/comm.h"

namespace rlpp::train::lm {

class RolloutLink {
 public:
  static constexpr int kLearner = 0;
  static constexpr int kWorker = 1;

  // `comm` must have exactly two ranks.
  explicit RolloutLink(dist::Comm* comm);

  bool worker() const { return comm_->rank() == kWorker; }

  // Collective: the learner's parameters and buffers of `module` (in the module's order) overwrite
  // the worker's (same architecture). Tensors of one dtype travel as one flat buffer.
  void weights(torch::nn::Module* module);

  // Collective: the worker's `message` reaches the learner, which gets it back (the worker gets
  // its own).
  std::string batches(std::string message);

  // Payload bytes moved by the last weights() / batches() call, and the seconds this rank spent in
  // all calls so far (waiting for the other rank included).
  int64_t last_weight_bytes() const { return weight_bytes_; }
  int64_t last_batch_bytes() const { return batch_bytes_; }
  double wait_seconds() const { return wait_s_; }

 private:
  dist::Comm* comm_;
  int64_t weight_bytes_ = 0;
  int64_t batch_bytes_ = 0;
  double wait_s_ = 0;
};

// The batches the worker makes before iteration `step`'s exchange, when its next batch is `next`:
// [next, min(step + s + 1, limit)) during the iteration; [next, min(step + s, limit)) before the
// first one of a process (`before_first`). Empty ranges are {b, b}.
struct BatchRange {
  int64_t begin = 0;
  int64_t end = 0;
};
BatchRange worker_batches(int64_t step, int64_t next, int64_t max_staleness, int64_t limit, bool before_first);

}  // namespace rlpp::train::lm
