// Pool<E>: the generic batch behind every simple environment (EnvPool-style). An environment is
// one small struct E holding the state of ONE copy plus a fixed static interface; the pool owns N
// copies, their generators and the batch buffers, and does everything environments share:
// seeding (copy i gets seed + i), action validation and Box clipping, step counters and
// truncation at spec().max_episode_steps, same-step auto-reset with final_obs, episode
// return/length bookkeeping, save/load, and stepping inline (num_threads == 1) or on a thread pool.
//
// ---- annotated template: a new environment is one header, one source, one registry line -------
//
//   // include/rlpp/env/classic/my_env.h
//   struct MyEnv {
//     static constexpr int kObsDim = 3;                // floats per observation
//     static constexpr int kActDim = 1;                // floats per action: 1 for discrete (the index)
//     static constexpr bool kDiscreteAction = false;   // must agree with spec().action
//     static Spec spec();                              // id, spaces, max_episode_steps
//
//     // Draws an initial state from rng and writes its observation.
//     void reset(core::Rng& rng, float* obs);        // obs: (kObsDim)
//     // One transition. `action` is already validated (discrete: an integer in [0, n)); a box
//     // action is finite and clipped to the box unless VecEnvOptions::clip_action is false, so
//     // clip whatever the dynamics need clipped here too. Writes the next observation, sets
//     // *terminated, returns the reward. Truncation and auto-reset belong to the pool.
//     double step(const float* action, core::Rng& rng, float* obs, bool* terminated);
//                                                    // action: (kActDim), obs: (kObsDim)
//
//     double angle = 0.0;  // the whole mutable state: public plain data (tests set it directly);
//                          // E must be trivially copyable, since save() writes it as bytes
//   };
//   extern template class Pool<MyEnv>;               // instantiated once, in my_env.cpp
//
//   // src/env/classic/my_env.cpp: define spec(), reset(), step(), then
//   template class Pool<MyEnv>;   // the batch loop and MyEnv::step in one translation unit, so
//                                 // the compiler inlines step (no call per copy, no virtual call)
//
//   // src/env/registry.cpp: one line
//   add<MyEnv>(r, "one-line summary");
//
// Determinism: each copy draws only from its own generator and the split of the batch across
// threads is fixed, so buffers are bit-identical for any num_threads.
//
// Saved state (save/load), native byte order:
//   "RLPPVENV" magic (8 bytes), u32 version, u32 id length + id bytes, i32 num_envs,
//   i32 obs_dim, i32 act_dim, u32 sizeof(E), u8 started,
//   per copy: E as bytes, generator (4 x u64, f64 spare, u8 has_spare), i32 steps, f64 return,
//   then every batch buffer (obs, reward, terminated, truncated, final_obs, episode_return,
//   episode_length), and "RLPPEND." (8 bytes).
// load() checks all of it, reads into temporaries and only then replaces the current state.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <istream>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "rlpp/core/error.h"
#include "rlpp/core/rng.h"
#include "rlpp/core/thread_pool.h"
#include "rlpp/env/space.h"
#include "rlpp/env/vec_env.h"

namespace rlpp::env {

namespace detail {

constexpr uint32_t kPoolStateVersion = 1;

// What a saved batch must agree on with the batch loading it.
struct PoolStateHeader {
  std::string id;
  int32_t num_envs = 0;
  int32_t obs_dim = 0;
  int32_t act_dim = 0;
  uint32_t state_bytes = 0;  // sizeof(E)
};

// Raw reads and writes; a short read is a UserError naming the env id and `what`.
void write_bytes(std::ostream& out, const void* data, size_t bytes);
void read_bytes(std::istream& in, void* data, size_t bytes, const std::string& id, const char* what);
// n values of T (read_bytes' errors).
template <class T>
std::vector<T> read_vector(std::istream& in, size_t n, const std::string& id, const char* what) {
  std::vector<T> v(n);
  read_bytes(in, v.data(), n * sizeof(T), id, what);
  return v;
}

void write_pool_header(std::ostream& out, const PoolStateHeader& header);
// Reads a header and compares it with `expected`: UserError on a bad magic number, an unknown
// version or any mismatch (naming both values).
void read_pool_header(std::istream& in, const PoolStateHeader& expected);
void write_pool_trailer(std::ostream& out);
void read_pool_trailer(std::istream& in, const std::string& id);

void write_rng(std::ostream& out, const core::Rng& rng);
void read_rng(std::istream& in, core::Rng* rng, const std::string& id);

[[noreturn]] void throw_bad_state(const std::string& id, const std::string& message);
[[noreturn]] void throw_bad_discrete_action(const std::string& id, int64_t copy, float action,
                                            int64_t n);
[[noreturn]] void throw_bad_box_action(const std::string& id, int64_t copy, int64_t dim,
                                       float action);

}  // namespace detail

template <class E>
class Pool final : public VecEnv {
  static_assert(std::is_trivially_copyable_v<E>, "an environment's state is saved as bytes");
  static_assert(E::kObsDim >= 1 && E::kActDim >= 1, "kObsDim and kActDim must be positive");

 public:
  static constexpr int kObsDim = E::kObsDim;
  static constexpr int kActDim = E::kActDim;

  explicit Pool(const VecEnvOptions& opts)
      : VecEnv(checked_num_envs(opts), kObsDim),
        spec_(E::spec()),
        copies_(opts.num_envs),
        clip_action_(opts.clip_action) {
    if (spec_.observation.dim != kObsDim || spec_.action.flat_dim() != kActDim ||
        spec_.action.is_discrete() != E::kDiscreteAction || spec_.max_episode_steps < 1) {
      throw std::logic_error(spec_.id + ": spec() disagrees with kObsDim/kActDim/kDiscreteAction "
                                        "or has max_episode_steps < 1");
    }
    if constexpr (!E::kDiscreteAction) {
      for (int d = 0; d < kActDim; ++d) {
        low_[d] = spec_.action.low[d];
        high_[d] = spec_.action.high[d];
      }
    }
    const int threads = std::min(opts.num_threads, opts.num_envs);
    if (threads > 1) threads_ = std::make_unique<core::ThreadPool>(threads);
  }

  const Spec& spec() const override { return spec_; }

  void reset(uint64_t seed) override {
    float* obs = obs_.data();
    for_each_range([&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        Copy& c = copies_[i];
        c.rng.reseed(seed + static_cast<uint64_t>(i));
        c.env = E();
        c.env.reset(c.rng, obs + i * kObsDim);
        c.ep = EpisodeCounters{};
      }
    });
    clear_step_buffers();
    started_ = true;
  }

  void step(const float* actions) override {  // actions: (N, kActDim)
    if (!started_) throw std::logic_error(spec_.id + ": step() called before reset()");
    check_actions(actions);
    for_each_range([&](int64_t begin, int64_t end) { step_range(actions, begin, end); });
  }

  void save(std::ostream& out) const override {
    detail::write_pool_header(out, header());
    const uint8_t started = started_ ? 1 : 0;
    detail::write_bytes(out, &started, 1);
    for (const Copy& c : copies_) {
      detail::write_bytes(out, &c.env, sizeof(E));
      detail::write_rng(out, c.rng);
      const int32_t steps = c.ep.steps;
      detail::write_bytes(out, &steps, sizeof(steps));
      detail::write_bytes(out, &c.ep.ret, sizeof(c.ep.ret));
    }
    write_buffers(out);
    detail::write_pool_trailer(out);
    if (!out) throw core::UserError(spec_.id + ": writing the environment state failed");
  }

  void load(std::istream& in) override {
    const std::string& id = spec_.id;
    detail::read_pool_header(in, header());
    uint8_t started = 0;
    detail::read_bytes(in, &started, 1, id, "started flag");
    if (started > 1) detail::throw_bad_state(id, "started flag is " + std::to_string(started));

    std::vector<Copy> copies(copies_.size());
    for (size_t i = 0; i < copies.size(); ++i) {
      Copy& c = copies[i];
      detail::read_bytes(in, &c.env, sizeof(E), id, "environment state");
      detail::read_rng(in, &c.rng, id);
      int32_t steps = 0;
      detail::read_bytes(in, &steps, sizeof(steps), id, "step counter");
      detail::read_bytes(in, &c.ep.ret, sizeof(c.ep.ret), id, "running return");
      if (steps < 0 || steps >= spec_.max_episode_steps) {
        detail::throw_bad_state(id, "copy " + std::to_string(i) + " has step counter " +
                                        std::to_string(steps) + ", outside [0, " +
                                        std::to_string(spec_.max_episode_steps) + ")");
      }
      c.ep.steps = steps;
    }
    Buffers buffers = read_buffers(in, id);
    detail::read_pool_trailer(in, id);
    copies_ = std::move(copies);
    set_buffers(std::move(buffers));
    started_ = started == 1;
  }

  // Copy i's state: for tests (set a state, then step) and tools. Changing it does not update
  // obs(); the next step() starts from it.
  E& env(int i) { return copies_.at(static_cast<size_t>(i)).env; }
  const E& env(int i) const { return copies_.at(static_cast<size_t>(i)).env; }
  // Steps taken in copy i's current episode, and its reward sum so far.
  int episode_steps(int i) const { return copies_.at(static_cast<size_t>(i)).ep.steps; }
  double running_return(int i) const { return copies_.at(static_cast<size_t>(i)).ep.ret; }

 private:
  struct Copy {
    E env{};
    core::Rng rng;
    EpisodeCounters ep;
  };

  static int checked_num_envs(const VecEnvOptions& opts) {
    check_vec_env_options(opts, E::spec().id);
    return opts.num_envs;
  }

  detail::PoolStateHeader header() const {
    return {spec_.id, num_envs_, kObsDim, kActDim, static_cast<uint32_t>(sizeof(E))};
  }

  template <class F>
  void for_each_range(F&& fn) {
    if (threads_) {
      threads_->parallel_for(num_envs_, fn);
    } else {
      fn(int64_t{0}, static_cast<int64_t>(num_envs_));
    }
  }

  // Gymnasium asserts action_space.contains(action); a wrong action here is a caller error, so it
  // is refused before any copy moves (the batch is never half-stepped).
  void check_actions(const float* actions) const {  // actions: (N, kActDim)
    const int64_t n = static_cast<int64_t>(num_envs_) * kActDim;
    if constexpr (E::kDiscreteAction) {
      const float count = static_cast<float>(spec_.action.n);
      bool ok = true;
      for (int64_t i = 0; i < n; ++i) {
        const float a = actions[i];
        ok &= (a >= 0.0f) & (a < count) & (a == std::floor(a));
      }
      if (ok) return;
      for (int64_t i = 0; i < n; ++i) {
        const float a = actions[i];
        if (!(a >= 0.0f && a < count && a == std::floor(a))) {
          detail::throw_bad_discrete_action(spec_.id, i, a, spec_.action.n);
        }
      }
    } else {
      bool ok = true;
      for (int64_t i = 0; i < n; ++i) ok &= std::isfinite(actions[i]);
      if (ok) return;
      for (int64_t i = 0; i < n; ++i) {
        if (!std::isfinite(actions[i])) {
          detail::throw_bad_box_action(spec_.id, i / kActDim, i % kActDim, actions[i]);
        }
      }
    }
  }

  // The hot loop. Buffers are read into locals first: the uint8_t stores could otherwise alias
  // the vectors' pointers and force reloads every iteration. `flatten` inlines E::step and
  // E::reset here (they are defined in the translation unit that instantiates the pool).
  [[gnu::flatten]] void step_range(const float* actions, int64_t begin, int64_t end) {  // actions: (N, kActDim)
    Copy* copies = copies_.data();
    float* obs = obs_.data();
    const int max_steps = spec_.max_episode_steps;
    for (int64_t i = begin; i < end; ++i) {
      Copy& c = copies[i];
      float* o = obs + i * kObsDim;
      const float* a = actions + i * kActDim;
      float clipped[kActDim];
      if constexpr (!E::kDiscreteAction) {
        if (clip_action_) {
          for (int d = 0; d < kActDim; ++d) clipped[d] = std::min(std::max(a[d], low_[d]), high_[d]);
          a = clipped;
        }
      }
      bool term = false;
      const double r = c.env.step(a, c.rng, o, &term);
      if (record_step(i, r, term, max_steps, c.ep)) c.env.reset(c.rng, o);
    }
  }

  Spec spec_;
  std::vector<Copy> copies_;                  // (N)
  bool clip_action_ = true;                   // VecEnvOptions::clip_action
  float low_[kActDim] = {};                   // box action bounds (unused for discrete)
  float high_[kActDim] = {};
  std::unique_ptr<core::ThreadPool> threads_;  // null when stepping inline
  bool started_ = false;
};

}  // namespace rlpp::env
