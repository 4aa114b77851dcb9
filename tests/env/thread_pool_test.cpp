// core::ThreadPool (lives here because the environment batches are its user).
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "rlpp/core/thread_pool.h"

namespace rlpp::core {
namespace {

TEST(ThreadPool, CoversEveryIndexOnceInFixedChunks) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 5, 17, 1000}) {
      std::vector<int> hits(static_cast<size_t>(n), 0);
      std::vector<std::pair<int64_t, int64_t>> chunks(static_cast<size_t>(threads), {-1, -1});
      pool.parallel_for(n, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) ++hits[i];
        // chunk k is [n*k/T, n*(k+1)/T): find k from begin
        for (int k = 0; k < threads; ++k) {
          if (n * k / threads == begin && n * (k + 1) / threads == end) chunks[k] = {begin, end};
        }
      });
      for (int h : hits) EXPECT_EQ(h, 1);
      for (int k = 0; k < threads; ++k) {
        const int64_t b = n * k / threads, e = n * (k + 1) / threads;
        if (b < e) {
          EXPECT_EQ(chunks[k], std::make_pair(b, e)) << threads << " " << n << " " << k;
        }
      }
    }
  }
}

TEST(ThreadPool, RethrowsAChunksExceptionAndStaysUsable) {
  ThreadPool pool(3);
  EXPECT_THROW(pool.parallel_for(9, [](int64_t begin, int64_t) {
    if (begin == 6) throw std::runtime_error("chunk 2");
  }), std::runtime_error);
  std::atomic<int64_t> sum{0};
  pool.parallel_for(100, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) sum += i;
  });
  EXPECT_EQ(sum.load(), 4950);
}

TEST(ThreadPool, RefusesZeroThreads) { EXPECT_THROW(ThreadPool(0), std::invalid_argument); }

}  // namespace
}  // namespace rlpp::core
