#include "rlpp/env/registry.h"

#include "rlpp/env/classic/acrobot.h"
#include "rlpp/env/classic/cartpole.h"
#include "rlpp/env/classic/mountain_car.h"
#include "rlpp/env/classic/mountain_car_continuous.h"
#include "rlpp/env/classic/pendulum.h"
#include "rlpp/env/pool.h"

namespace rlpp::env {

namespace {

// Registers Pool<E> under E::spec().id.
template <class E>
void add(core::Registry<EnvFactory>& r, std::string summary) {
  r.add(E::spec().id, [](const VecEnvOptions& opts) -> std::unique_ptr<VecEnv> {
    return std::make_unique<Pool<E>>(opts);
  }, std::move(summary));
}

core::Registry<EnvFactory> build_registry() {
  core::Registry<EnvFactory> r("environment");
  add<CartPole>(r, "balance a pole on a cart; 2 actions, 4-D obs, +1 per step, 500 steps");
  add<Acrobot>(r, "swing a two-link arm's tip above a bar; 3 torques, 6-D obs, -1 per step, 500 steps");
  add<MountainCar>(r, "drive an underpowered car up a hill; 3 actions, 2-D obs, -1 per step, 200 steps");
  add<MountainCarContinuous>(r, "MountainCar with a continuous push in [-1, 1]; +100 at the goal - 0.1 a^2, 999 steps");
  add<Pendulum>(r, "swing up and hold a pendulum; torque in [-2, 2], 3-D obs, -cost per step, 200 steps");
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
