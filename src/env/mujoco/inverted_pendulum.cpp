#include "rlpp/env/mujoco/inverted_pendulum.h"

#include <cmath>

namespace rlpp::env::mujoco {

namespace {

TaskInfo task_info(int version) {
  TaskInfo t;
  t.id = "InvertedPendulum-v" + std::to_string(check_version("InvertedPendulum", version));
  t.model_file = "inverted_pendulum.xml";
  t.obs_dim = 4;
  t.frame_skip = 2;
  t.nq = 2, t.nv = 2, t.nu = 1;
  return t;
}

}  // namespace

InvertedPendulum::InvertedPendulum(int version) : MujocoTask(task_info(version), version) {}

void InvertedPendulum::reset(mjData* d, core::Rng& rng) const {
  reset_with_noise(d, rng, 0.01, 0.01, /*normal_qvel=*/false);
}

double InvertedPendulum::step(mjData* d, const double* action, bool* terminated) const {
  simulate(d, action);
  bool finite = true;
  for (int k = 0; k < 2; ++k) finite = finite && std::isfinite(d->qpos[k]) && std::isfinite(d->qvel[k]);
  *terminated = !(finite && std::abs(d->qpos[1]) <= 0.2);
  return (version() >= 5 && *terminated) ? 0.0 : 1.0;
}

void InvertedPendulum::observe(const mjData* d, float* obs) const {  // obs: (4)
  obs[0] = static_cast<float>(d->qpos[0]);
  obs[1] = static_cast<float>(d->qpos[1]);
  obs[2] = static_cast<float>(d->qvel[0]);
  obs[3] = static_cast<float>(d->qvel[1]);
}

}  // namespace rlpp::env::mujoco
