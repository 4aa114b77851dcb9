#include "rlpp/env/mujoco/ant.h"

#include <cmath>

namespace rlpp::env::mujoco {

namespace {

TaskInfo task_info(int version) {
  TaskInfo t;
  t.id = "Ant-v" + std::to_string(check_version("Ant", version));
  t.model_file = "ant.xml";
  t.obs_dim = version >= 5 ? 27 + 6 * 13 : 27;
  t.frame_skip = 5;
  t.nq = 15, t.nv = 14, t.nu = 8;
  return t;
}

LocomotionParams task_params(int version) {
  LocomotionParams p;
  p.x_body = 1;  // torso
  p.ctrl_cost_weight = 0.5;
  p.healthy_reward = 1.0;
  p.contact_cost_weight = version >= 5 ? 5e-4 : 0.0;
  p.contact_forces_in_obs = version >= 5;
  p.obs_qpos_skip = 2;
  p.reset_qpos_noise = 0.1;
  p.reset_qvel_noise = 0.1;
  p.normal_qvel_noise = true;
  return p;
}

}  // namespace

Ant::Ant(int version) : Locomotion(task_info(version), version, task_params(version)) {}

bool Ant::is_healthy(const mjData* d) const {
  const mjModel* m = model();
  for (int k = 0; k < m->nq; ++k) {
    if (!std::isfinite(d->qpos[k])) return false;
  }
  for (int k = 0; k < m->nv; ++k) {
    if (!std::isfinite(d->qvel[k])) return false;
  }
  const double z = d->qpos[2];
  return z >= 0.2 && z <= 1.0;
}

}  // namespace rlpp::env::mujoco
