#include "rlpp/env/mujoco/half_cheetah.h"

namespace rlpp::env::mujoco {

namespace {

TaskInfo task_info(int version) {
  TaskInfo t;
  t.id = "HalfCheetah-v" + std::to_string(check_version("HalfCheetah", version));
  t.model_file = "half_cheetah.xml";
  t.obs_dim = 17;
  t.frame_skip = 5;
  t.nq = 9, t.nv = 9, t.nu = 6;
  return t;
}

LocomotionParams task_params() {
  LocomotionParams p;
  p.ctrl_cost_weight = 0.1;
  p.obs_qpos_skip = 1;
  p.reset_qpos_noise = 0.1;
  p.reset_qvel_noise = 0.1;
  p.normal_qvel_noise = true;
  return p;
}

}  // namespace

HalfCheetah::HalfCheetah(int version) : Locomotion(task_info(version), version, task_params()) {}

}  // namespace rlpp::env::mujoco
