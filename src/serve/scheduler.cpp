#include "rlpp/serve/scheduler.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace rlpp::serve {

namespace {

// A sampled job with its own seed: reproducible only in a batch of its own.
bool exclusive(const GenerationJob& j) { return j.seed.has_value() && j.temperature > 0; }

}  // namespace

BatchScheduler::BatchScheduler(Backend& backend, SchedulerOptions opts) : backend_(backend), opts_(opts) {
  if (opts_.max_batch < 1) throw std::invalid_argument("max_batch must be >= 1, got " + std::to_string(opts_.max_batch));
  if (opts_.batch_wait_ms < 0)
    throw std::invalid_argument("batch_wait_ms must be >= 0, got " + std::to_string(opts_.batch_wait_ms));
  thread_ = std::thread([this] { loop(); });
}

BatchScheduler::~BatchScheduler() { stop(); }

std::future<std::vector<RowOutput>> BatchScheduler::submit(GenerationJob job) {
  Pending p{std::move(job), {}, std::chrono::steady_clock::now()};
  auto fut = p.done.get_future();
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_) {
      p.done.set_exception(std::make_exception_ptr(std::runtime_error("the server is shutting down")));
      return fut;
    }
    queue_.push_back(std::move(p));
  }
  cv_.notify_all();
  return fut;
}

void BatchScheduler::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

SchedulerStats BatchScheduler::stats() const {
  std::lock_guard<std::mutex> lk(mu_);
  return stats_;
}

std::vector<BatchScheduler::Pending> BatchScheduler::take_batch(BatchSpec* spec) {
  std::vector<Pending> taken;
  std::deque<Pending> rest;
  const GenerationJob& lead = queue_.front().job;
  if (exclusive(lead)) {
    spec->top_p = lead.top_p;
    spec->seed = *lead.seed;
    taken.push_back(std::move(queue_.front()));
    queue_.pop_front();
  } else {
    std::optional<double> top_p;  // set by the first sampled job; greedy jobs fit any
    int64_t rows = 0;
    for (Pending& p : queue_) {
      const GenerationJob& j = p.job;
      const bool fits = !exclusive(j) && (rows == 0 || rows + j.n <= opts_.max_batch) &&
                        (j.temperature == 0 || !top_p || *top_p == j.top_p);
      if (!fits) {
        rest.push_back(std::move(p));
        continue;
      }
      if (j.temperature > 0) top_p = j.top_p;
      rows += j.n;
      taken.push_back(std::move(p));
    }
    queue_.swap(rest);
    spec->top_p = top_p.value_or(1.0);
    spec->seed = opts_.base_seed + static_cast<uint64_t>(stats_.batches);
  }
  for (const Pending& p : taken) {
    for (int64_t i = 0; i < p.job.n; ++i)
      spec->rows.push_back({p.job.prompt, p.job.max_new_tokens, p.job.temperature});
  }
  return taken;
}

void BatchScheduler::loop() {
  std::unique_lock<std::mutex> lk(mu_);
  while (true) {
    cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    const auto deadline = queue_.front().arrived + std::chrono::milliseconds(opts_.batch_wait_ms);
    cv_.wait_until(lk, deadline, [&] {
      int64_t rows = 0;
      for (const Pending& p : queue_) rows += p.job.n;
      return stopping_ || rows >= opts_.max_batch;
    });
    BatchSpec spec;
    std::vector<Pending> jobs = take_batch(&spec);
    const int64_t n_rows = static_cast<int64_t>(spec.rows.size());
    ++stats_.batches;  // counted before the call: the seed of the next batch differs
    lk.unlock();

    std::vector<RowOutput> outs;
    std::exception_ptr error;
    try {
      outs = backend_.generate(spec);
      if (static_cast<int64_t>(outs.size()) != n_rows)
        throw std::runtime_error("the backend returned " + std::to_string(outs.size()) + " rows for " +
                                 std::to_string(n_rows));
    } catch (...) {
      error = std::current_exception();
    }

    lk.lock();  // the counts are final before any waiting handler wakes up
    stats_.jobs += static_cast<int64_t>(jobs.size());
    stats_.rows += n_rows;
    stats_.largest_batch = std::max(stats_.largest_batch, n_rows);
    if (error) ++stats_.failed_batches;
    lk.unlock();
    size_t r = 0;
    for (Pending& p : jobs) {
      if (error) {
        p.done.set_exception(error);
        continue;
      }
      p.done.set_value(std::vector<RowOutput>(outs.begin() + r, outs.begin() + r + p.job.n));
      r += p.job.n;
    }
    lk.lock();
  }
}

}  // namespace rlpp::serve
