#include "rlpp/env/mujoco/reacher.h"

#include <cmath>

#include "rlpp/core/error.h"

namespace rlpp::env::mujoco {

namespace {

TaskInfo task_info(int version) {
  TaskInfo t;
  t.id = "Reacher-v" + std::to_string(check_version("Reacher", version));
  t.model_file = "reacher.xml";
  t.obs_dim = version >= 5 ? 10 : 11;
  t.frame_skip = 2;
  t.max_episode_steps = 50;
  t.nq = 4, t.nv = 4, t.nu = 2;
  return t;
}

}  // namespace

Reacher::Reacher(int version) : MujocoTask(task_info(version), version) {
  fingertip_ = mj_name2id(model(), mjOBJ_BODY, "fingertip");
  target_ = mj_name2id(model(), mjOBJ_BODY, "target");
  if (fingertip_ < 0 || target_ < 0) {
    throw core::UserError(spec().id + ": MuJoCo model " + model_dir() + "/" + info_.model_file +
                          " needs bodies named \"fingertip\" and \"target\"");
  }
}

double Reacher::distance(const mjData* d) const {
  double s = 0.0;
  for (int k = 0; k < 3; ++k) {
    const double v = d->xpos[3 * fingertip_ + k] - d->xpos[3 * target_ + k];
    s += v * v;
  }
  return std::sqrt(s);
}

void Reacher::reset(mjData* d, core::Rng& rng) const {
  const mjModel* m = model();
  for (int k = 0; k < m->nq; ++k) d->qpos[k] = m->qpos0[k] + rng.uniform(-0.1, 0.1);
  double gx = 0.0, gy = 0.0;
  do {
    gx = rng.uniform(-0.2, 0.2);
    gy = rng.uniform(-0.2, 0.2);
  } while (!(std::sqrt(gx * gx + gy * gy) < 0.2));
  d->qpos[2] = gx;
  d->qpos[3] = gy;
  for (int k = 0; k < m->nv; ++k) d->qvel[k] = rng.uniform(-0.005, 0.005);
  d->qvel[2] = 0.0;
  d->qvel[3] = 0.0;
  mj_forward(m, d);
}

double Reacher::step(mjData* d, const double* action, bool* terminated) const {
  const double ctrl = action[0] * action[0] + action[1] * action[1];
  double dist = version() >= 5 ? 0.0 : distance(d);
  simulate(d, action);
  if (version() >= 5) dist = distance(d);
  *terminated = false;
  return -dist - ctrl;
}

void Reacher::observe(const mjData* d, float* obs) const {  // obs: (11) or (10)
  float* o = obs;
  for (int k = 0; k < 2; ++k) *o++ = static_cast<float>(std::cos(d->qpos[k]));
  for (int k = 0; k < 2; ++k) *o++ = static_cast<float>(std::sin(d->qpos[k]));
  for (int k = 2; k < 4; ++k) *o++ = static_cast<float>(d->qpos[k]);
  for (int k = 0; k < 2; ++k) *o++ = static_cast<float>(d->qvel[k]);
  const int dims = version() >= 5 ? 2 : 3;
  for (int k = 0; k < dims; ++k) {
    *o++ = static_cast<float>(d->xpos[3 * fingertip_ + k] - d->xpos[3 * target_ + k]);
  }
}

}  // namespace rlpp::env::mujoco
