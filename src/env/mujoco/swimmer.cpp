#include "rlpp/env/mujoco/swimmer.h"

namespace rlpp::env::mujoco {

namespace {

TaskInfo task_info(int version) {
  TaskInfo t;
  t.id = "Swimmer-v" + std::to_string(check_version("Swimmer", version));
  t.model_file = "swimmer.xml";
  t.obs_dim = 8;
  t.frame_skip = 4;
  t.nq = 5, t.nv = 5, t.nu = 2;
  return t;
}

LocomotionParams task_params() {
  LocomotionParams p;
  p.ctrl_cost_weight = 1e-4;
  p.obs_qpos_skip = 2;
  p.reset_qpos_noise = 0.1;
  p.reset_qvel_noise = 0.1;
  return p;
}

}  // namespace

Swimmer::Swimmer(int version) : Locomotion(task_info(version), version, task_params()) {}

}  // namespace rlpp::env::mujoco
