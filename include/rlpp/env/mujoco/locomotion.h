// The shared body of the forward-locomotion tasks (Hopper, Walker2d, HalfCheetah, Ant, Swimmer):
//   reward = w_f · (x' − x)/dt + healthy_reward − c_ctrl · ‖a‖² − c_contact · ‖clip(cfrc_ext, ±1)‖²
// where x is qpos[x_index] (or a body's xpos, as Gymnasium reads it, for Ant) before and after the step (a finite difference over dt = frame_skip ·
// timestep, as Gymnasium computes it), healthy_reward is paid every step in v4 (Gymnasium's
// `is_healthy or terminate_when_unhealthy`) and only while healthy in v5, and the contact term is
// Ant-v5's alone. terminated = not is_healthy() (never, for tasks that do not override it).
// observation = (qpos[obs_qpos_skip:], clip(qvel, ±qvel_clip) [, clip(cfrc_ext[1:], ±1) flattened]).
#pragma once
#include <limits>

#include "rlpp/env/mujoco/mujoco_task.h"

namespace rlpp::env::mujoco {

struct LocomotionParams {
  int x_index = 0;                  // qpos index of the forward position
  int x_body = -1;                  // ≥ 0: use this body's xpos[0] instead (Ant's torso)
  double forward_weight = 1.0;
  double ctrl_cost_weight = 1e-3;
  double healthy_reward = 0.0;      // 0: the task has no healthy bonus
  double contact_cost_weight = 0.0; // >0 only for Ant-v5
  bool contact_forces_in_obs = false;  // Ant-v5: append cfrc_ext of bodies 1.. (6 each)
  int obs_qpos_skip = 1;            // Hopper/Walker/Cheetah skip x; Ant/Swimmer skip x and y
  double qvel_clip = std::numeric_limits<double>::infinity();
  double reset_qpos_noise = 5e-3;   // uniform ± on qpos0
  double reset_qvel_noise = 5e-3;   // uniform ± (or a standard deviation when normal_qvel)
  bool normal_qvel_noise = false;
};

// Hopper's and Walker2d's parameters (Gymnasium's, equal for the two planar walkers): healthy
// bonus 1, x skipped in the observation, velocities clipped to ±10 there.
inline LocomotionParams planar_walker_params() {
  LocomotionParams p;
  p.ctrl_cost_weight = 1e-3;
  p.healthy_reward = 1.0;
  p.obs_qpos_skip = 1;
  p.qvel_clip = 10.0;
  p.reset_qpos_noise = 5e-3;
  p.reset_qvel_noise = 5e-3;
  return p;
}

class Locomotion : public MujocoTask {
 public:
  void reset(mjData* d, core::Rng& rng) const override;
  double step(mjData* d, const double* action, bool* terminated) const override;
  void observe(const mjData* d, float* obs) const override;

  const LocomotionParams& params() const { return params_; }
  // The task's health test on the state in d (Gymnasium's is_healthy); true for tasks that never
  // terminate.
  virtual bool is_healthy(const mjData* d) const { return true; }

 protected:
  Locomotion(TaskInfo info, int version, LocomotionParams params);

  LocomotionParams params_;
};

}  // namespace rlpp::env::mujoco
