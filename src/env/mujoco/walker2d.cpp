#include "rlpp/env/mujoco/walker2d.h"

namespace rlpp::env::mujoco {

namespace {

TaskInfo task_info(int version) {
  TaskInfo t;
  t.id = "Walker2d-v" + std::to_string(check_version("Walker2d", version));
  t.model_file = version >= 5 ? "walker2d_v5.xml" : "walker2d.xml";
  t.obs_dim = 17;
  t.frame_skip = 4;
  t.nq = 9, t.nv = 9, t.nu = 6;
  return t;
}

LocomotionParams task_params() {
  LocomotionParams p;
  p.ctrl_cost_weight = 1e-3;
  p.healthy_reward = 1.0;
  p.obs_qpos_skip = 1;
  p.qvel_clip = 10.0;
  p.reset_qpos_noise = 5e-3;
  p.reset_qvel_noise = 5e-3;
  return p;
}

}  // namespace

Walker2d::Walker2d(int version) : Locomotion(task_info(version), version, task_params()) {}

bool Walker2d::is_healthy(const mjData* d) const {
  const double z = d->qpos[1], angle = d->qpos[2];
  return z > 0.8 && z < 2.0 && angle > -1.0 && angle < 1.0;
}

}  // namespace rlpp::env::mujoco
