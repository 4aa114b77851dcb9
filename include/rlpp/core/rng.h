// rlpp's random number generator: xoshiro256** (Blackman & Vigna 2018), seeded through
// splitmix64. Small (32 bytes of state), fast, and its state is saved in checkpoints so that a
// resumed run draws exactly the numbers an uninterrupted run would.
#pragma once
#include <array>
#include <cmath>
#include <cstdint>

namespace rlpp::core {

class Rng {
 public:
  using State = std::array<uint64_t, 4>;

  explicit Rng(uint64_t seed = 0) { reseed(seed); }

  void reseed(uint64_t seed) {
    uint64_t x = seed;
    for (auto& s : s_) s = splitmix64(x);
    has_spare_ = false;
  }

  uint64_t next_u64() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n).
  uint64_t below(uint64_t n) { return static_cast<uint64_t>(uniform() * static_cast<double>(n)); }

  // Standard normal by the Box-Muller transform (the second value is kept for the next call).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * M_PI * u2);
    has_spare_ = true;
    return r * std::cos(2.0 * M_PI * u2);
  }

  // Fisher-Yates shuffle of [first, first + n).
  template <class T>
  void shuffle(T* first, int64_t n) {
    for (int64_t i = n - 1; i > 0; --i) {
      const int64_t j = static_cast<int64_t>(below(static_cast<uint64_t>(i + 1)));
      std::swap(first[i], first[j]);
    }
  }

  // Full state, for checkpoints.
  struct Snapshot {
    State s;
    double spare;
    bool has_spare;
  };
  Snapshot snapshot() const { return {s_, spare_, has_spare_}; }
  void restore(const Snapshot& snap) {
    s_ = snap.s;
    spare_ = snap.spare;
    has_spare_ = snap.has_spare;
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t splitmix64(uint64_t& x) {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  State s_{};
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace rlpp::core
