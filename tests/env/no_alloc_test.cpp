// Stepping a batch allocates nothing on the heap (inline or on the thread pool): every global
// allocation of this test binary is counted.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "env_test_util.h"
#include "rlpp/env/registry.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace rlpp::env {
namespace {

TEST(Pool, SteppingDoesNotAllocate) {
  for (const std::string& id : registry().names()) {
    for (int threads : {1, 3}) {
      // 8 copies: every thread of 3 steps several (allocation does not depend on the count, and
      // 1000 steps of 64 MuJoCo copies cost minutes)
      auto env = make(id, {/*num_envs=*/8, threads});
      env->reset(1);
      core::Rng rng(2);
      std::vector<std::vector<float>> actions;
      for (int k = 0; k < 8; ++k) actions.push_back(testing::random_actions(*env, rng));
      const long before = g_allocations.load();
      for (int t = 0; t < 1000; ++t) env->step(actions[t % 8].data());  // crosses every horizon
      EXPECT_EQ(g_allocations.load() - before, 0) << id << ", " << threads << " threads";
    }
  }
}

}  // namespace
}  // namespace rlpp::env
