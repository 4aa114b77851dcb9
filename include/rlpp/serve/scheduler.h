// Continuous collection of concurrent requests into batches for one Backend.
//
// HTTP handlers submit() jobs and wait on the returned future; one scheduler thread takes the
// oldest waiting job, waits up to batch_wait_ms for others to arrive (or until max_batch rows are
// waiting), and runs the compatible ones together as one backend batch:
//   * rows of a batch share top_p and the seed; temperature and max_tokens are per row;
//   * a greedy job (temperature 0) fits any batch that is not seeded (its tokens do not depend on
//     the draw);
//   * a sampled job with its own seed runs in a batch of its own seeded with it, so its output
//     depends only on (prompt, parameters, seed), not on what else was waiting;
//   * unseeded sampled jobs share a batch with equal top_p; the batch seed is base_seed + batch index.
// A job with n choices is n rows (the prompt repeated). Jobs that do not fit wait for the next batch
// in arrival order. An exception from the backend fails every job of that batch; the thread goes on.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "rlpp/serve/backend.h"

namespace rlpp::serve {

struct SchedulerOptions {
  int64_t max_batch = 8;      // most rows per batch (>= 1)
  int64_t batch_wait_ms = 5;  // longest wait for companions after the oldest job arrived (>= 0)
  uint64_t base_seed = 0;     // seeds of unseeded batches
};

struct GenerationJob {
  std::vector<int64_t> prompt;
  int64_t n = 1;  // choices (rows)
  int64_t max_new_tokens = 16;
  double temperature = 1.0;
  double top_p = 1.0;
  std::optional<uint64_t> seed;
};

struct SchedulerStats {
  int64_t batches = 0;        // backend calls
  int64_t jobs = 0;           // jobs finished (or failed)
  int64_t rows = 0;           // rows generated
  int64_t largest_batch = 0;  // most rows in one call
  int64_t failed_batches = 0;
};

class BatchScheduler {
 public:
  BatchScheduler(Backend& backend, SchedulerOptions opts);  // starts the thread
  ~BatchScheduler();                                        // stop()
  BatchScheduler(const BatchScheduler&) = delete;
  BatchScheduler& operator=(const BatchScheduler&) = delete;

  // The job's n outputs (rows in order). After stop() the future holds a std::runtime_error.
  std::future<std::vector<RowOutput>> submit(GenerationJob job);
  // Runs what is queued, then joins the thread. Idempotent.
  void stop();
  SchedulerStats stats() const;

 private:
  struct Pending {
    GenerationJob job;
    std::promise<std::vector<RowOutput>> done;
    std::chrono::steady_clock::time_point arrived;
  };
  void loop();
  // Takes the jobs of the next batch out of queue_ (lock held); `seed` receives the batch seed.
  std::vector<Pending> take_batch(BatchSpec* spec);

  Backend& backend_;
  SchedulerOptions opts_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  SchedulerStats stats_;
  std::thread thread_;
};

}  // namespace rlpp::serve
