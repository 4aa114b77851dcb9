// MuJoCo tasks (Gymnasium v4, v5 differences selectable): the constant part of one environment —
// its model (loaded once per batch, shared read-only by every copy and thread), spec, frame skip
// and the task's reset, reward, termination and observation. The mutable state of a copy is its
// mjData, owned by MujocoPool (mujoco_pool.h).
//
// A step, as Gymnasium's MujocoEnv.do_simulation: ctrl = a (clipped to the actuators' ctrlrange,
// the action box, by the pool unless VecEnvOptions::clip_action is false; then MuJoCo clamps
// ctrl itself, since every actuator is ctrllimited, and the control costs, which square `a`,
// see the raw action as Gymnasium v4/v5's do); mj_step frame_skip times; v5 then calls
// mj_rnePostConstraint so that cfrc_ext (Ant-v5's contact forces) is up to date.
// Reset, as MujocoEnv.reset: mj_resetData, then the task's noise on qpos0 / qvel = 0, then
// mj_forward.
#pragma once
#include <mujoco/mujoco.h>

#include <memory>
#include <string>

#include "rlpp/core/rng.h"
#include "rlpp/env/space.h"

namespace rlpp::env::mujoco {

// The model file's folder: $RLPP_MUJOCO_MODEL_DIR when set, else the assets folder of the source
// tree rlpp was built from (src/env/mujoco/assets).
std::string model_dir();

// Loads an MJCF file. A missing file or one MuJoCo refuses is a core::UserError naming `who` (the
// env id), the path and MuJoCo's message.
std::shared_ptr<const mjModel> load_model(const std::string& path, const std::string& who);

// What a task declares; checked against the model when the task is built.
struct TaskInfo {
  std::string id;           // Gymnasium id, e.g. "Hopper-v4"
  std::string model_file;   // file name in model_dir()
  int obs_dim = 0;
  int frame_skip = 1;
  int max_episode_steps = 1000;
  int nq = 0, nv = 0, nu = 0;  // the model's expected sizes (a wrong file is refused)
};

class MujocoTask {
 public:
  virtual ~MujocoTask() = default;

  const Spec& spec() const { return spec_; }
  const mjModel* model() const { return model_.get(); }
  int version() const { return version_; }
  int frame_skip() const { return info_.frame_skip; }
  // Seconds per env step: frame_skip · timestep (Gymnasium's dt).
  double dt() const { return model_->opt.timestep * info_.frame_skip; }

  // The shifted simulator of VecEnvOptions (H2O, arXiv 2206.13464): opt.gravity × gravity_scale
  // and every geom_friction component × friction_scale, as H2O's code rewrites the gravity and
  // friction attributes of the MJCF file. Scales of 1 change nothing. Only before the model is
  // shared with a pool (std::logic_error otherwise).
  void scale_dynamics(double gravity_scale, double friction_scale);

  // Draws copy's initial state into d (after mj_resetData) and calls mj_forward.
  virtual void reset(mjData* d, core::Rng& rng) const = 0;
  // One env step from d's state under `action` (nu values; inside the box when the pool clips);
  // returns the reward and sets *terminated. Auto-reset and truncation belong to the pool.
  virtual double step(mjData* d, const double* action, bool* terminated) const = 0;
  // obs: (obs_dim) floats from d's current state.
  virtual void observe(const mjData* d, float* obs) const = 0;

 protected:
  // Loads model_dir()/info.model_file, checks nq/nv/nu and builds the spec (action box = the
  // actuators' ctrlrange, observation box unbounded). version: 4 or 5.
  MujocoTask(TaskInfo info, int version);

  // ctrl = action; mj_step × frame_skip; (v5) mj_rnePostConstraint.
  void simulate(mjData* d, const double* action) const;
  // qpos = qpos0 + U(−s_q, s_q) per coordinate, then qvel = U(−s_v, s_v) (uniform) or s_v·N(0, 1)
  // (normal_qvel), in that draw order; then mj_forward.
  void reset_with_noise(mjData* d, core::Rng& rng, double qpos_scale, double qvel_scale,
                        bool normal_qvel) const;

  TaskInfo info_;
  int version_;
  std::shared_ptr<const mjModel> model_;
  Spec spec_;
};

// "Name-vK" with K in {4, 5}: the UserError for any other version names the task.
int check_version(const std::string& task, int version);

}  // namespace rlpp::env::mujoco
