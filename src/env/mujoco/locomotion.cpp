#include "rlpp/env/mujoco/locomotion.h"

#include <algorithm>

namespace rlpp::env::mujoco {

Locomotion::Locomotion(TaskInfo info, int version, LocomotionParams params)
    : MujocoTask(std::move(info), version), params_(params) {}

void Locomotion::reset(mjData* d, core::Rng& rng) const {
  reset_with_noise(d, rng, params_.reset_qpos_noise, params_.reset_qvel_noise,
                   params_.normal_qvel_noise);
}

double Locomotion::step(mjData* d, const double* action, bool* terminated) const {
  const mjModel* m = model();
  // Gymnasium reads body positions from mjData as mj_step leaves them (computed before the last
  // substep's integration), so rlpp does the same.
  auto x = [&] {
    return params_.x_body >= 0 ? d->xpos[3 * params_.x_body] : d->qpos[params_.x_index];
  };
  const double x_before = x();
  simulate(d, action);
  const double x_velocity = (x() - x_before) / dt();
  double ctrl_cost = 0.0;
  for (int k = 0; k < m->nu; ++k) ctrl_cost += action[k] * action[k];
  ctrl_cost *= params_.ctrl_cost_weight;
  const bool healthy = is_healthy(d);
  // v4: healthy reward every step (terminate_when_unhealthy); v5: only while healthy.
  const double healthy_reward = (version() >= 5 && !healthy) ? 0.0 : params_.healthy_reward;
  double contact_cost = 0.0;
  if (params_.contact_cost_weight > 0.0) {
    for (int k = 6; k < 6 * m->nbody; ++k) {  // body 0 (world) has no external force
      const double f = std::clamp(d->cfrc_ext[k], -1.0, 1.0);
      contact_cost += f * f;
    }
    contact_cost *= params_.contact_cost_weight;
  }
  *terminated = !healthy;
  return params_.forward_weight * x_velocity + healthy_reward - ctrl_cost - contact_cost;
}

void Locomotion::observe(const mjData* d, float* obs) const {  // obs: (obs_dim)
  const mjModel* m = model();
  float* o = obs;
  for (int k = params_.obs_qpos_skip; k < m->nq; ++k) *o++ = static_cast<float>(d->qpos[k]);
  const double c = params_.qvel_clip;
  for (int k = 0; k < m->nv; ++k) *o++ = static_cast<float>(std::clamp(d->qvel[k], -c, c));
  if (params_.contact_forces_in_obs) {
    for (int k = 6; k < 6 * m->nbody; ++k) *o++ = static_cast<float>(std::clamp(d->cfrc_ext[k], -1.0, 1.0));
  }
}

}  // namespace rlpp::env::mujoco
