#include "rlpp/dist/world.h"

#include <cstdlib>
#include <string>

#include "rlpp/core/error.h"

namespace rlpp::dist {

namespace {

// The integer value of variable `name` in [lo, hi]; `fallback` when unset.
int int_var(const GetEnv& getenv, const char* name, int lo, int hi, int fallback) {
  const char* v = getenv(name);
  if (v == nullptr) return fallback;
  const std::string s(v);
  size_t used = 0;
  long n = 0;
  try {
    n = std::stol(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  core::require(used == s.size() && !s.empty(), std::string(name) + "=" + s + " is not an integer");
  core::require(n >= lo && n <= hi, std::string(name) + "=" + s + " is outside [" + std::to_string(lo) + ", " +
                                        std::to_string(hi) + "]");
  return static_cast<int>(n);
}

}  // namespace

World read_world(const GetEnv& getenv) {
  World w;
  const bool has_rank = getenv("RANK") != nullptr, has_size = getenv("WORLD_SIZE") != nullptr;
  if (!has_rank && !has_size) return w;
  core::require(has_rank && has_size, std::string(has_rank ? "RANK" : "WORLD_SIZE") + " is set but " +
                                          (has_rank ? "WORLD_SIZE" : "RANK") +
                                          " is not: a rank of a distributed run needs both");
  constexpr int kMaxRanks = 1 << 16;
  w.world_size = int_var(getenv, "WORLD_SIZE", 1, kMaxRanks, 1);
  w.rank = int_var(getenv, "RANK", 0, w.world_size - 1, 0);
  w.local_world_size = int_var(getenv, "LOCAL_WORLD_SIZE", 1, w.world_size, w.world_size);
  w.local_rank = int_var(getenv, "LOCAL_RANK", 0, w.local_world_size - 1, w.rank % w.local_world_size);
  if (w.world_size > 1) {
    const char* addr = getenv("MASTER_ADDR");
    core::require(addr != nullptr && *addr != '\0', "MASTER_ADDR is not set (the host of rank 0)");
    w.master_addr = addr;
    core::require(getenv("MASTER_PORT") != nullptr, "MASTER_PORT is not set (the port of rank 0's store)");
    w.master_port = int_var(getenv, "MASTER_PORT", 1, 65535, 0);
  }
  return w;
}

World read_world() {
  return read_world([](const char* name) -> const char* { return std::getenv(name); });
}

}  // namespace rlpp::dist
