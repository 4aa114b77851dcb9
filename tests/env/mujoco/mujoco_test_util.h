// Helpers for the MuJoCo environment tests: a reference mjModel/mjData loaded straight through
// the MuJoCo C API (not through rlpp's task classes), and state setters.
#pragma once
#include <mujoco/mujoco.h>

#include <memory>
#include <string>
#include <vector>

#include "rlpp/env/mujoco/mujoco_pool.h"
#include "rlpp/env/registry.h"

namespace rlpp::env::mujoco::testing {

inline std::string asset(const std::string& file) {
  return std::string(RLPP_SOURCE_DIR) + "/src/env/mujoco/assets/" + file;
}

// A model and one data, owned, loaded with mj_loadXML directly.
struct Reference {
  mjModel* m = nullptr;
  mjData* d = nullptr;
  explicit Reference(const std::string& file) {
    char err[1000] = "";
    m = mj_loadXML(asset(file).c_str(), nullptr, err, sizeof(err));
    if (m == nullptr) throw std::runtime_error("reference load failed: " + std::string(err));
    d = mj_makeData(m);
  }
  ~Reference() {
    mj_deleteData(d);
    mj_deleteModel(m);
  }
  Reference(const Reference&) = delete;
  Reference& operator=(const Reference&) = delete;

  // ctrl = a; mj_step × frame_skip (Gymnasium's do_simulation).
  void step(const std::vector<double>& a, int frame_skip) {
    for (size_t k = 0; k < a.size(); ++k) d->ctrl[k] = a[k];
    for (int s = 0; s < frame_skip; ++s) mj_step(m, d);
  }
};

inline std::unique_ptr<MujocoPool> make_pool(const std::string& id, int num_envs = 1,
                                             int num_threads = 1, bool clip_action = true) {
  VecEnvOptions opts;
  opts.num_envs = num_envs;
  opts.num_threads = num_threads;
  opts.clip_action = clip_action;
  std::unique_ptr<VecEnv> env = make(id, opts);
  auto* pool = dynamic_cast<MujocoPool*>(env.get());
  if (pool == nullptr) throw std::runtime_error(id + " is not a MujocoPool");
  env.release();
  return std::unique_ptr<MujocoPool>(pool);
}

// Puts (qpos, qvel) into a fresh mjData state (mj_resetData first, so no warm start carries
// over) and runs mj_forward.
inline void set_state(const mjModel* m, mjData* d, const std::vector<double>& qpos,
                      const std::vector<double>& qvel) {
  mj_resetData(m, d);
  for (int k = 0; k < m->nq; ++k) d->qpos[k] = qpos[static_cast<size_t>(k)];
  for (int k = 0; k < m->nv; ++k) d->qvel[k] = qvel[static_cast<size_t>(k)];
  mj_forward(m, d);
}

}  // namespace rlpp::env::mujoco::testing
