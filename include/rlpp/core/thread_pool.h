// A small fixed-size thread pool for data-parallel loops over a batch (environment copies,
// rollout workers). One call splits [0, n) into num_threads() contiguous chunks, runs chunk 0 on
// the calling thread and the others on the pool's workers, and returns when all are done.
//
// The split depends only on (n, num_threads()), and callers give every index its own state, so
// results never depend on scheduling. A call allocates nothing: the callable is passed by
// reference through a (function pointer, context) pair.
//
// One pool serves one caller at a time (it belongs to the object that created it).
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace rlpp::core {

class ThreadPool {
 public:
  // num_threads >= 1 counts the calling thread: num_threads - 1 workers are started.
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }

  // Calls fn(begin, end) once for each non-empty chunk [begin, end) of [0, n); chunk k is
  // [n*k/T, n*(k+1)/T) with T = num_threads(). Blocks until every chunk has finished; the first
  // exception thrown by a chunk is rethrown here (the other chunks still run to completion).
  template <class F>
  void parallel_for(int64_t n, F&& fn) {
    using Fn = std::remove_reference_t<F>;
    run(n, [](void* ctx, int64_t begin, int64_t end) { (*static_cast<Fn*>(ctx))(begin, end); },
        const_cast<void*>(static_cast<const void*>(&fn)));
  }

 private:
  using Task = void (*)(void* ctx, int64_t begin, int64_t end);

  void run(int64_t n, Task task, void* ctx);
  void worker_loop(int chunk);
  void run_chunk(int chunk);

  int num_threads_;
  std::vector<std::thread> workers_;

  std::mutex mutex_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  uint64_t generation_ = 0;  // bumped once per run(); workers wait for a new value
  int pending_ = 0;          // workers still busy with the current generation
  bool stop_ = false;

  // The current job (written under mutex_ before generation_ is bumped).
  Task task_ = nullptr;
  void* ctx_ = nullptr;
  int64_t n_ = 0;
  std::exception_ptr error_;
};

}  // namespace rlpp::core
