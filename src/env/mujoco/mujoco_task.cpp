#include "rlpp/env/mujoco/mujoco_task.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <stdexcept>

#include "rlpp/core/error.h"

namespace rlpp::env::mujoco {

namespace {

// MuJoCo's default warning handler appends to MUJOCO_LOG.TXT in the working directory; rlpp
// writes nothing it was not asked to, so warnings go to stderr instead.
void warn_to_stderr(const char* msg) { std::fprintf(stderr, "rlpp: MuJoCo warning: %s\n", msg); }

void install_handlers() {
  static std::once_flag once;
  std::call_once(once, [] { mju_user_warning = warn_to_stderr; });
}

}  // namespace

std::string model_dir() {
  if (const char* dir = std::getenv("RLPP_MUJOCO_MODEL_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  return RLPP_MUJOCO_ASSET_DIR;
}

std::shared_ptr<const mjModel> load_model(const std::string& path, const std::string& who) {
  install_handlers();
  if (!std::ifstream(path).good()) {
    throw core::UserError(who + ": MuJoCo model file not found: " + path +
                          " (set RLPP_MUJOCO_MODEL_DIR to the folder holding rlpp's models)");
  }
  char error[1000] = "";
  mjModel* m = mj_loadXML(path.c_str(), nullptr, error, sizeof(error));
  if (m == nullptr) {
    throw core::UserError(who + ": cannot load MuJoCo model " + path + ": " +
                          (error[0] != '\0' ? error : "unknown error"));
  }
  return std::shared_ptr<const mjModel>(m, [](const mjModel* p) { mj_deleteModel(const_cast<mjModel*>(p)); });
}

int check_version(const std::string& task, int version) {
  if (version != 4 && version != 5) {
    throw core::UserError(task + ": version must be 4 or 5, got " + std::to_string(version));
  }
  return version;
}

MujocoTask::MujocoTask(TaskInfo info, int version) : info_(std::move(info)), version_(version) {
  const std::string path = model_dir() + "/" + info_.model_file;
  model_ = load_model(path, info_.id);
  const mjModel* m = model_.get();
  if (m->nq != info_.nq || m->nv != info_.nv || m->nu != info_.nu) {
    throw core::UserError(info_.id + ": MuJoCo model " + path + " has nq=" + std::to_string(m->nq) +
                          " nv=" + std::to_string(m->nv) + " nu=" + std::to_string(m->nu) +
                          ", the task needs nq=" + std::to_string(info_.nq) + " nv=" +
                          std::to_string(info_.nv) + " nu=" + std::to_string(info_.nu));
  }
  std::vector<float> low(static_cast<size_t>(m->nu)), high(static_cast<size_t>(m->nu));
  for (int k = 0; k < m->nu; ++k) {
    if (!m->actuator_ctrllimited[k]) {
      throw core::UserError(info_.id + ": MuJoCo model " + path + ": actuator " +
                            std::to_string(k) + " has no ctrlrange");
    }
    low[static_cast<size_t>(k)] = static_cast<float>(m->actuator_ctrlrange[2 * k]);
    high[static_cast<size_t>(k)] = static_cast<float>(m->actuator_ctrlrange[2 * k + 1]);
  }
  constexpr float kInf = std::numeric_limits<float>::infinity();
  spec_.id = info_.id;
  spec_.observation = Space::box(std::vector<float>(static_cast<size_t>(info_.obs_dim), -kInf),
                                 std::vector<float>(static_cast<size_t>(info_.obs_dim), kInf));
  spec_.action = Space::box(std::move(low), std::move(high));
  spec_.max_episode_steps = info_.max_episode_steps;
}

void MujocoTask::scale_dynamics(double gravity_scale, double friction_scale) {
  if (gravity_scale == 1.0 && friction_scale == 1.0) return;  // the exact model of the file
  if (model_.use_count() != 1) throw std::logic_error(info_.id + ": scale_dynamics after the model was shared");
  // The model was loaded by this task's constructor and nothing else holds it yet.
  mjModel* m = const_cast<mjModel*>(model_.get());
  for (int k = 0; k < 3; ++k) m->opt.gravity[k] *= gravity_scale;
  for (int g = 0; g < 3 * m->ngeom; ++g) m->geom_friction[g] *= friction_scale;
}

void MujocoTask::simulate(mjData* d, const double* action) const {
  const mjModel* m = model_.get();
  for (int k = 0; k < m->nu; ++k) d->ctrl[k] = action[k];
  for (int s = 0; s < info_.frame_skip; ++s) mj_step(m, d);
  if (version_ >= 5) mj_rnePostConstraint(m, d);
}

void MujocoTask::reset_with_noise(mjData* d, core::Rng& rng, double qpos_scale, double qvel_scale,
                                  bool normal_qvel) const {
  const mjModel* m = model_.get();
  for (int k = 0; k < m->nq; ++k) d->qpos[k] = m->qpos0[k] + rng.uniform(-qpos_scale, qpos_scale);
  for (int k = 0; k < m->nv; ++k) {
    d->qvel[k] = normal_qvel ? qvel_scale * rng.normal() : rng.uniform(-qvel_scale, qvel_scale);
  }
  mj_forward(m, d);
}

}  // namespace rlpp::env::mujoco
