#include "rlpp/env/mujoco/hopper.h"

namespace rlpp::env::mujoco {

namespace {

TaskInfo task_info(int version) {
  TaskInfo t;
  t.id = "Hopper-v" + std::to_string(check_version("Hopper", version));
  t.model_file = "hopper.xml";
  t.obs_dim = 11;
  t.frame_skip = 4;
  t.nq = 6, t.nv = 6, t.nu = 3;
  return t;
}

}  // namespace

Hopper::Hopper(int version) : Locomotion(task_info(version), version, planar_walker_params()) {}

bool Hopper::is_healthy(const mjData* d) const {
  const mjModel* m = model();
  const double z = d->qpos[1], angle = d->qpos[2];
  for (int k = 2; k < m->nq; ++k) {
    if (!(d->qpos[k] > -100.0 && d->qpos[k] < 100.0)) return false;
  }
  for (int k = 0; k < m->nv; ++k) {
    if (!(d->qvel[k] > -100.0 && d->qvel[k] < 100.0)) return false;
  }
  return z > 0.7 && angle > -0.2 && angle < 0.2;
}

}  // namespace rlpp::env::mujoco
