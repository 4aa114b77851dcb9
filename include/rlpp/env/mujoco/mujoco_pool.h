// MujocoPool: a batch of N copies of one MujocoTask (EnvPool-style), the MuJoCo counterpart of
// Pool<E> (pool.h), which needs trivially copyable states; a copy's state here is an mjData.
// Same contract as every VecEnv: copy i is seeded with seed + i; Box actions are checked finite
// and clipped to the box (unless VecEnvOptions::clip_action is false: then ctrl gets the raw
// action, MuJoCo clamps it to ctrlrange and the control cost sees the raw one, as in
// Gymnasium); with VecEnvOptions::action_noise_std = σ > 0, copy i's generator then adds
// N(0, σ²) to each component (H2O's joint noise; ctrl and the control cost get the noisy action,
// and the generator is part of the saved state, so a resumed run draws the same noise);
// truncation at spec().max_episode_steps; same-step auto-reset with final_obs and episode
// totals; stepping inline (num_threads == 1) or on a thread pool with a
// split that depends only on (N, num_threads), so the buffers are bit-identical for any
// num_threads (mj_step only reads the shared mjModel).
//
// Saved state (save/load), native byte order: "RLPPMUJO" magic, u32 version, u32 id length + id,
// i32 num_envs, i32 nq, i32 nv, i32 na, u8 started; per copy: time, qpos (nq), qvel (nv),
// act (na), qacc_warmstart (nv) as f64, generator, i32 steps, f64 return; the batch buffers;
// "RLPPEND.". load() checks everything before replacing the current state, then mj_forward.
#pragma once
#include <memory>
#include <vector>

#include "rlpp/core/rng.h"
#include "rlpp/core/thread_pool.h"
#include "rlpp/env/mujoco/mujoco_task.h"
#include "rlpp/env/vec_env.h"

namespace rlpp::env::mujoco {

class MujocoPool final : public VecEnv {
 public:
  MujocoPool(std::unique_ptr<const MujocoTask> task, const VecEnvOptions& opts);
  ~MujocoPool() override;

  const Spec& spec() const override { return task_->spec(); }
  void reset(uint64_t seed) override;
  void step(const float* actions) override;  // actions: (N, act_dim)
  void save(std::ostream& out) const override;
  void load(std::istream& in) override;

  const MujocoTask& task() const { return *task_; }
  // Copy i's MuJoCo state: for tests (set a state, then step) and tools. The next step() starts
  // from it; obs() is not updated.
  mjData* data(int i) { return copies_.at(static_cast<size_t>(i)).data; }
  const mjData* data(int i) const { return copies_.at(static_cast<size_t>(i)).data; }
  int episode_steps(int i) const { return copies_.at(static_cast<size_t>(i)).ep.steps; }

 private:
  struct Copy {
    mjData* data = nullptr;
    core::Rng rng;
    EpisodeCounters ep;
  };

  template <class F>
  void for_each_range(F&& fn);
  void step_range(const float* actions, int64_t begin, int64_t end);  // actions: (N, act_dim)

  std::unique_ptr<const MujocoTask> task_;
  std::vector<Copy> copies_;                   // (N)
  std::unique_ptr<core::ThreadPool> threads_;  // null when stepping inline
  bool started_ = false;
  bool clip_action_ = true;  // VecEnvOptions::clip_action
  double action_noise_std_ = 0.0;  // VecEnvOptions::action_noise_std
};

}  // namespace rlpp::env::mujoco
