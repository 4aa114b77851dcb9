#include "rlpp/env/registry.h"

#include "rlpp/core/error.h"
#include "rlpp/env/classic/acrobot.h"
#include "rlpp/env/classic/cartpole.h"
#include "rlpp/env/classic/mountain_car.h"
#include "rlpp/env/classic/mountain_car_continuous.h"
#include "rlpp/env/classic/pendulum.h"
#include "rlpp/env/pool.h"
#ifdef RLPP_HAVE_MUJOCO
#include "rlpp/env/mujoco/ant.h"
#include "rlpp/env/mujoco/half_cheetah.h"
#include "rlpp/env/mujoco/hopper.h"
#include "rlpp/env/mujoco/inverted_double_pendulum.h"
#include "rlpp/env/mujoco/inverted_pendulum.h"
#include "rlpp/env/mujoco/mujoco_pool.h"
#include "rlpp/env/mujoco/reacher.h"
#include "rlpp/env/mujoco/swimmer.h"
#include "rlpp/env/mujoco/walker2d.h"
#endif

namespace rlpp::env {

namespace {

// Registers Pool<E> under E::spec().id.
template <class E>
void add(core::Registry<EnvFactory>& r, std::string summary) {
  r.add(E::spec().id, [](const VecEnvOptions& opts) -> std::unique_ptr<VecEnv> {
    core::require(!opts.shifts_dynamics(), E::spec().id +
                                               ": gravity_scale, friction_scale and action_noise_std change MuJoCo "
                                               "environments only; leave them at 1, 1 and 0 for this environment");
    return std::make_unique<Pool<E>>(opts);
  }, std::move(summary));
}

#ifdef RLPP_HAVE_MUJOCO
// Registers a MujocoPool of task T under "Name-v4" and "Name-v5". The model file is loaded when
// a batch is made, so a missing or bad file is reported then, naming the file.
template <class T>
void add_mujoco(core::Registry<EnvFactory>& r, const std::string& name, const std::string& summary) {
  for (int version : {4, 5}) {
    r.add(name + "-v" + std::to_string(version), [version](const VecEnvOptions& opts) -> std::unique_ptr<VecEnv> {
      auto task = std::make_unique<T>(version);
      task->scale_dynamics(opts.gravity_scale, opts.friction_scale);
      return std::make_unique<mujoco::MujocoPool>(std::move(task), opts);
    }, summary + (version == 5 ? " (Gymnasium v5 variant)" : ""));
  }
}
#endif

core::Registry<EnvFactory> build_registry() {
  core::Registry<EnvFactory> r("environment");
  add<CartPole>(r, "balance a pole on a cart; 2 actions, 4-D obs, +1 per step, 500 steps");
  add<Acrobot>(r, "swing a two-link arm's tip above a bar; 3 torques, 6-D obs, -1 per step, 500 steps");
  add<MountainCar>(r, "drive an underpowered car up a hill; 3 actions, 2-D obs, -1 per step, 200 steps");
  add<MountainCarContinuous>(r, "MountainCar with a continuous push in [-1, 1]; +100 at the goal - 0.1 a^2, 999 steps");
  add<Pendulum>(r, "swing up and hold a pendulum; torque in [-2, 2], 3-D obs, -cost per step, 200 steps");
#ifdef RLPP_HAVE_MUJOCO
  add_mujoco<mujoco::Hopper>(r, "Hopper", "MuJoCo one-legged hopper; 3 torques, 11-D obs, forward velocity + 1 - 1e-3|a|^2");
  add_mujoco<mujoco::HalfCheetah>(r, "HalfCheetah", "MuJoCo planar cheetah; 6 torques, 17-D obs, forward velocity - 0.1|a|^2");
  add_mujoco<mujoco::Walker2d>(r, "Walker2d", "MuJoCo planar biped; 6 torques, 17-D obs, forward velocity + 1 - 1e-3|a|^2");
  add_mujoco<mujoco::Ant>(r, "Ant", "MuJoCo quadruped; 8 torques, 27-D obs (v5: 105), forward velocity + 1 - 0.5|a|^2");
  add_mujoco<mujoco::Swimmer>(r, "Swimmer", "MuJoCo three-link swimmer; 2 torques, 8-D obs, forward velocity - 1e-4|a|^2");
  add_mujoco<mujoco::InvertedPendulum>(r, "InvertedPendulum", "MuJoCo cart-pole; force in [-3, 3], 4-D obs, +1 per step");
  add_mujoco<mujoco::InvertedDoublePendulum>(r, "InvertedDoublePendulum", "MuJoCo cart with two poles; 1 force, 11-D obs (v5: 9), 10 - tip distance - velocity penalty");
  add_mujoco<mujoco::Reacher>(r, "Reacher", "MuJoCo two-link arm reaching a target; 2 torques, 11-D obs (v5: 10), 50 steps");
#endif
  return r;
}

}  // namespace

core::Registry<EnvFactory>& registry() {
  static core::Registry<EnvFactory> r = build_registry();
  return r;
}

std::unique_ptr<VecEnv> make(const std::string& id, const VecEnvOptions& opts) {
  const EnvFactory& factory = registry().get(id);
  check_vec_env_options(opts, id);
  return factory(opts);
}

}  // namespace rlpp::env
