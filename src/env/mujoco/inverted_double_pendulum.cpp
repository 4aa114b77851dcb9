#include "rlpp/env/mujoco/inverted_double_pendulum.h"

#include <algorithm>
#include <cmath>

namespace rlpp::env::mujoco {

namespace {

TaskInfo task_info(int version) {
  TaskInfo t;
  t.id = "InvertedDoublePendulum-v" + std::to_string(check_version("InvertedDoublePendulum", version));
  t.model_file = "inverted_double_pendulum.xml";
  t.obs_dim = version >= 5 ? 9 : 11;
  t.frame_skip = 5;
  t.nq = 3, t.nv = 3, t.nu = 1;
  return t;
}

}  // namespace

InvertedDoublePendulum::InvertedDoublePendulum(int version) : MujocoTask(task_info(version), version) {}

void InvertedDoublePendulum::reset(mjData* d, core::Rng& rng) const {
  reset_with_noise(d, rng, 0.1, 0.1, /*normal_qvel=*/true);
}

double InvertedDoublePendulum::step(mjData* d, const double* action, bool* terminated) const {
  simulate(d, action);
  const double x = d->site_xpos[0], y = d->site_xpos[2];  // site 0: "tip"
  const double dist_penalty = 0.01 * x * x + (y - 2) * (y - 2);
  const double v1 = d->qvel[1], v2 = d->qvel[2];
  const double vel_penalty = 1e-3 * v1 * v1 + 5e-3 * v2 * v2;
  *terminated = y <= 1.0;
  const double alive_bonus = (version() >= 5 && *terminated) ? 0.0 : 10.0;
  return alive_bonus - dist_penalty - vel_penalty;
}

void InvertedDoublePendulum::observe(const mjData* d, float* obs) const {  // obs: (11) or (9)
  float* o = obs;
  *o++ = static_cast<float>(d->qpos[0]);
  for (int k = 1; k < 3; ++k) *o++ = static_cast<float>(std::sin(d->qpos[k]));
  for (int k = 1; k < 3; ++k) *o++ = static_cast<float>(std::cos(d->qpos[k]));
  for (int k = 0; k < 3; ++k) *o++ = static_cast<float>(std::clamp(d->qvel[k], -10.0, 10.0));
  const int n_constraint = version() >= 5 ? 1 : 3;
  for (int k = 0; k < n_constraint; ++k) {
    *o++ = static_cast<float>(std::clamp(d->qfrc_constraint[k], -10.0, 10.0));
  }
}

}  // namespace rlpp::env::mujoco
