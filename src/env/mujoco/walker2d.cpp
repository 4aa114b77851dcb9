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

}  // namespace

Walker2d::Walker2d(int version) : Locomotion(task_info(version), version, planar_walker_params()) {}

bool Walker2d::is_healthy(const mjData* d) const {
  const double z = d->qpos[1], angle = d->qpos[2];
  return z > 0.8 && z < 2.0 && angle > -1.0 && angle < 1.0;
}

}  // namespace rlpp::env::mujoco
