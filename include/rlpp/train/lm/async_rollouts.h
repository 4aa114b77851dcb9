// Asynchronous rollouts with bounded staleness for the rlvr trainer (rl.max_staleness = s > 0).
//
// Design.
// * Version. The policy's version is the number of RL steps the learner has taken: version v is the
//   weights after v policy updates (one publication per RL step, whatever its number of
//   mini-batch optimizer steps; staleness is counted in these versions).
// * Worker. One worker thread samples from its own copy of the policy. The learner publishes each
//   new version as a snapshot: a clone of every parameter and buffer (WeightSnapshot), handed over
//   under a mutex; a published snapshot is never written again, and the worker copies it into its
//   own model before sampling, so no tensor is read while it is being written.
// * Schedule (a deterministic pipeline). Batch k (the batch the learner trains at RL step k) is
//   sampled from version v(k) = max(0, k − s) exactly. The worker starts batch k only once version
//   k − s is published, so it is never more than s versions ahead of the learner: like AReaL's
//   staleness control (arXiv 2505.24298), the worker pauses instead of producing data that would be
//   dropped, and nothing is ever dropped. The learner takes batch k at step k (waiting if the worker
//   has not finished it); its staleness is k − v(k) = min(k, s) versions for every token of it.
//   While the learner trains batch k (version k → k + 1), the worker samples batches up to k + s
//   from versions up to k: generation and training overlap whenever s ≥ 1.
// * Determinism. Which version produced which batch does not depend on thread timing, and the worker
//   draws its prompts from a generator of its own and reseeds the sampler from (seed, batch index),
//   so with fixed seeds an asynchronous run is reproducible to the bit, and a run split by a
//   checkpoint equals an uninterrupted one. s = 0 is not this pipeline: the trainer takes its
//   synchronous code path, bit-identical to a run without the key.
// * Queue entries. A finished batch is stamped with its sampling version per token ((B, N) int64;
//   one value per batch in this pipeline, per token so that partial rollouts could mix versions) and
//   keeps the sampler's recorded log-probs (behaviour log q, and log π at T = 1 under the sampling
//   weights).
// * Checkpoint. At a checkpoint after step t the worker is paused at a batch boundary once batches
//   t .. t + s − 1 are queued (they were sampled from versions older than the checkpointed weights);
//   the queue, the worker's next batch index and the worker's state (prompt generator, prompt order,
//   success trackers) are saved. On resume the worker continues from there with version t, which
//   is the checkpointed model.
// * Partial rollouts (rl.partial_rollouts = true, needs s ≥ 2; AReaL's interruptible generation,
//   arXiv 2505.24298): batch k is generated in chunks of C = rl.partial_chunk_tokens new tokens, and
//   chunk j (tokens j·C … j·C + C − 1 of every response) is sampled from version
//       chunk_version(k, j) = min(v(k) + j, max(k − 1, v(k))).
//   At a chunk boundary whose version is newer than the one loaded, the worker waits until that
//   version is published, loads it, and the generator discards its KV cache and re-encodes each
//   unfinished response's prefix (prompt + tokens so far) under the new weights; every token keeps
//   the version that sampled it and its behaviour log-prob under that version's sampling
//   distribution, so one response mixes versions, non-decreasing along it. Responses that ended
//   before a switch are unchanged. The schedule is a fixed function of (k, j), never of thread
//   timing. Staleness per token is k − chunk_version(k, j) ∈ [1, s] for k ≥ 1 (0 at k = 0): the cap
//   k − 1 (not k) is what keeps the overlap. Version k − 1 is published after step k − 2, which the
//   learner trains while the worker is still making batch k − 1, so the worker never waits on the
//   step whose batch it is making; the learner trains step k − 1 while the worker finishes batch k.
//   A cap of k would make the tail of batch k wait for step k − 1 (no overlap left there); s = 1
//   would give every chunk version k − 1, the same as without partial rollouts (refused).
//   Checkpoint: a batch is queued only when complete, so the queue format does not change. A
//   worker waiting for an unpublished version when the learner pauses it abandons that batch (its
//   prompt state rolled back by the trainer) and starts it again after the pause; the checkpoint
//   then also holds the older published versions that the unfinished batches start from
//   (version_of(next) … t − 1, at most s − 2 of them).
// * Worker kinds (rl.rollout_worker). "thread": this pipeline. "rank": the worker is rank 1 of a
//   2-process run and the learner rank 0 (remote_rollouts.h): the same schedule and state, the
//   weights broadcast over the process group after each step instead of published as snapshots, and
//   each finished batch sent to the learner as bytes together with the worker's state; the rows and
//   the model equal the thread worker's, and a checkpoint of either kind resumes with either.
//   Partial rollouts need the thread worker.
// * Not implemented: a free-running worker whose staleness depends on timing.
#pragma once
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "rlpp/core/metrics.h"

namespace rlpp::train::lm {

// The weights of one policy version: clones of every parameter, then every buffer, in the module's
// order. Immutable once made.
struct WeightSnapshot {
  int64_t version = 0;
  std::vector<torch::Tensor> tensors;
};
WeightSnapshot take_snapshot(const torch::nn::Module& module, int64_t version);
// Copies `s` into `module` (same architecture), without gradient.
void load_snapshot(const WeightSnapshot& s, torch::nn::Module* module);

// The version batch `index` is sampled from: max(0, index − max_staleness).
inline int64_t sampling_version(int64_t index, int64_t max_staleness) {
  return index > max_staleness ? index - max_staleness : 0;
}

// Partial rollouts: the version chunk `chunk` (0, 1, …) of batch `index` is sampled from,
// min(v + chunk, max(index − 1, v)) with v = sampling_version(index, max_staleness).
inline int64_t chunk_version(int64_t index, int64_t chunk, int64_t max_staleness) {
  const int64_t v = sampling_version(index, max_staleness);
  return std::min(v + chunk, std::max(index - 1, v));
}

// Thrown by RolloutPipeline::acquire on the worker thread when the pipeline stops, or pauses while
// the version asked for is not published: the batch being made is abandoned (made again later).
struct RolloutInterrupted {};

// The staleness metrics of a trained batch: the share of trained tokens at each staleness
// 0 .. max_staleness (async/staleness_frac_<j>), their mean (async/staleness_mean) and maximum
// (async/staleness_max). staleness = learner_version − version per token.
core::MetricRow staleness_metrics(const torch::Tensor& version,  // (B, N) int64 sampling version per token
                                  const torch::Tensor& trained,  // (B, N) 0/1 tokens that enter the loss
                                  int64_t learner_version, int64_t max_staleness);

// The worker thread, the queue of finished batches and the staleness gate. `Item` is the trainer's
// batch; `produce(index, snapshot)` makes batch `index` on the worker thread from the weights of
// version sampling_version(index, s).
template <class Item>
class RolloutPipeline {
 public:
  using Produce = std::function<Item(int64_t index, const WeightSnapshot& weights)>;

  // Batches with index ≥ limit are never started.
  RolloutPipeline(int64_t max_staleness, int64_t limit, Produce produce)
      : s_(max_staleness), limit_(limit), produce_(std::move(produce)) {}
  RolloutPipeline(const RolloutPipeline&) = delete;
  RolloutPipeline& operator=(const RolloutPipeline&) = delete;
  ~RolloutPipeline() { stop(); }

  // Starts the worker at batch `next` with `queued` (index, batch) already made (from a checkpoint),
  // and `weights` the learner's current version. No batch is sampled from a version older than it:
  // a run resumed from a checkpoint without queued batches (written by a synchronous run) samples
  // its first ones from the resumed weights.
  // `older`: versions below it that the unfinished batches still start from (partial rollouts).
  void start(int64_t next, std::deque<std::pair<int64_t, Item>> queued, WeightSnapshot weights,
             std::vector<WeightSnapshot> older = {}) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      next_ = next;
      queue_ = std::move(queued);
      floor_ = weights.version;
      snapshots_[weights.version] = std::make_shared<const WeightSnapshot>(std::move(weights));
      for (auto& o : older) {
        floor_ = std::min(floor_, o.version);
        snapshots_[o.version] = std::make_shared<const WeightSnapshot>(std::move(o));
      }
    }
    const int threads = at::get_num_threads();
    worker_ = std::thread([this, threads] { run_worker(threads); });
  }

  bool started() const { return worker_.joinable(); }

  // The learner's new version (after an update).
  void publish(WeightSnapshot weights) {
    std::lock_guard<std::mutex> lk(mu_);
    const int64_t v = weights.version;
    snapshots_[v] = std::make_shared<const WeightSnapshot>(std::move(weights));
    prune_locked();
    cv_.notify_all();
  }

  // Batch `index` (the learner's step), waiting for the worker; `waited_s` gets the seconds waited.
  // Rethrows an error of the worker once no made batch is left.
  Item take(int64_t index, double* waited_s) {
    const auto t0 = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> lk(mu_);
    const auto ready = [&] { return !queue_.empty() && queue_.front().first == index; };
    cv_.wait(lk, [&] { return error_ || ready(); });
    if (!ready()) std::rethrow_exception(error_);  // batches made before a worker error still come first
    Item out = std::move(queue_.front().second);
    queue_.pop_front();
    cv_.notify_all();
    *waited_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
  }

  // Pauses the worker at a batch boundary once it has started every batch below `target` (capped at
  // the limit), or abandoned the one it was making for want of an unpublished version (partial
  // rollouts), calls f(queue, next index) while it stays paused, then lets it continue.
  void paused(int64_t target, const std::function<void(const std::deque<std::pair<int64_t, Item>>&, int64_t)>& f) {
    std::unique_lock<std::mutex> lk(mu_);
    pause_target_ = std::min(target, limit_);
    paused_ = true;
    cv_.notify_all();
    cv_.wait(lk, [&] { return error_ || (!busy_ && (next_ >= pause_target_ || blocked_)); });
    if (error_) {
      paused_ = false;
      std::rethrow_exception(error_);
    }
    f(queue_, next_);
    paused_ = false;
    blocked_ = false;
    cv_.notify_all();
  }

  // Only inside paused's f (the lock is held): the published versions older than `below` that the
  // batches from the worker's next one on may still be sampled from (partial rollouts).
  std::vector<std::shared_ptr<const WeightSnapshot>> kept_below_locked(int64_t below) const {
    std::vector<std::shared_ptr<const WeightSnapshot>> out;
    for (const auto& [v, w] : snapshots_) {
      if (v >= version_of(next_) && v < below) out.push_back(w);
    }
    return out;
  }

  // Partial rollouts, on the worker thread inside produce(index, …): the weights of chunk `chunk`
  // of batch `index` (chunk_version, never below the starting floor), waiting until they are
  // published. Throws RolloutInterrupted when the pipeline stops, or is paused while they are not.
  std::shared_ptr<const WeightSnapshot> acquire(int64_t index, int64_t chunk) {
    std::unique_lock<std::mutex> lk(mu_);
    const int64_t v = std::max(chunk_version(index, chunk, s_), floor_);
    const auto have = [&] { return snapshots_.count(v) > 0; };
    if (!have() && !stop_ && !paused_) {
      const auto w0 = std::chrono::steady_clock::now();
      ++chunk_waits_;
      cv_.wait(lk, [&] { return stop_ || paused_ || have(); });
      chunk_wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
    }
    if (stop_ || !have()) throw RolloutInterrupted{};
    return snapshots_.at(v);
  }
  // Times a chunk boundary found its version not yet published, and the seconds waited there.
  int64_t chunk_waits() const {
    std::lock_guard<std::mutex> lk(mu_);
    return chunk_waits_;
  }
  double chunk_wait_seconds() const {
    std::lock_guard<std::mutex> lk(mu_);
    return chunk_wait_seconds_;
  }

  // Seconds the worker spent producing batches, and the batches queued now.
  double worker_busy_seconds() const {
    std::lock_guard<std::mutex> lk(mu_);
    return busy_seconds_;
  }
  // Times the worker found its next batch's version not yet published (the staleness gate held it),
  // and the seconds it waited there.
  int64_t gate_waits() const {
    std::lock_guard<std::mutex> lk(mu_);
    return gate_waits_;
  }
  double gate_wait_seconds() const {
    std::lock_guard<std::mutex> lk(mu_);
    return gate_wait_seconds_;
  }
  int64_t queued() const {
    std::lock_guard<std::mutex> lk(mu_);
    return static_cast<int64_t>(queue_.size());
  }

  // Stops the worker after the batch it is making (if any).
  void stop() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
      cv_.notify_all();
    }
    if (worker_.joinable()) worker_.join();
  }

 private:
  // The worker may start batch next_ when not paused (or still short of the pause target) and its
  // version is published.
  bool can_start_locked() const {
    if (next_ >= limit_) return false;
    if (paused_ && (next_ >= pause_target_ || blocked_)) return false;
    return snapshots_.count(version_of(next_)) > 0;
  }

  int64_t version_of(int64_t index) const { return std::max(sampling_version(index, s_), floor_); }

  // Drops the versions no future batch is sampled from (the learner's current one is always kept).
  void prune_locked() {
    const int64_t needed = version_of(next_);
    const int64_t newest = snapshots_.empty() ? 0 : snapshots_.rbegin()->first;
    for (auto it = snapshots_.begin(); it != snapshots_.end();) {
      it = it->first < needed && it->first < newest ? snapshots_.erase(it) : std::next(it);
    }
  }

  void run_worker(int threads) {
    at::set_num_threads(threads);  // the learner's intra-op thread count (OpenMP's is per thread)
    for (;;) {
      std::shared_ptr<const WeightSnapshot> w;
      int64_t index = 0;
      {
        std::unique_lock<std::mutex> lk(mu_);
        const bool gated = !stop_ && next_ < limit_ && !(paused_ && (next_ >= pause_target_ || blocked_)) &&
                           snapshots_.count(version_of(next_)) == 0;
        const auto w0 = std::chrono::steady_clock::now();
        cv_.wait(lk, [&] { return stop_ || can_start_locked(); });
        if (stop_) return;
        if (gated) {
          ++gate_waits_;
          gate_wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
        }
        index = next_;
        w = snapshots_.at(version_of(index));
        busy_ = true;
      }
      const auto t0 = std::chrono::steady_clock::now();
      try {
        Item item = produce_(index, *w);
        std::lock_guard<std::mutex> lk(mu_);
        queue_.emplace_back(index, std::move(item));
        ++next_;
        busy_ = false;
        busy_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        prune_locked();
        cv_.notify_all();
      } catch (const RolloutInterrupted&) {  // abandoned (pause or stop): made again from its start
        std::lock_guard<std::mutex> lk(mu_);
        busy_ = false;
        if (stop_) return;
        blocked_ = true;
        cv_.notify_all();
      } catch (...) {
        std::lock_guard<std::mutex> lk(mu_);
        error_ = std::current_exception();
        busy_ = false;
        cv_.notify_all();
        return;
      }
    }
  }

  const int64_t s_;
  const int64_t limit_;
  Produce produce_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<int64_t, std::shared_ptr<const WeightSnapshot>> snapshots_;  // version -> weights
  std::deque<std::pair<int64_t, Item>> queue_;                          // (batch index, batch), ascending
  int64_t next_ = 0;                                                    // the next batch the worker makes
  int64_t floor_ = 0;                                                   // the version the worker started at
  bool busy_ = false;
  bool paused_ = false;
  bool blocked_ = false;  // the worker abandoned batch next_ during the current pause
  int64_t pause_target_ = 0;
  bool stop_ = false;
  double busy_seconds_ = 0;
  int64_t gate_waits_ = 0;
  double gate_wait_seconds_ = 0;
  int64_t chunk_waits_ = 0;
  double chunk_wait_seconds_ = 0;
  std::exception_ptr error_;
  std::thread worker_;
};

}  // namespace rlpp::train::lm
