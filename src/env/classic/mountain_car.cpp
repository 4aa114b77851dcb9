#include "rlpp/env/classic/mountain_car.h"

namespace rlpp::env {

Spec MountainCar::spec() {
  using P = MountainCarPhysics;
  Spec s;
  s.id = "MountainCar-v0";
  s.observation = Space::box({static_cast<float>(P::kMinPosition), static_cast<float>(-P::kMaxSpeed)},
                             {static_cast<float>(P::kMaxPosition), static_cast<float>(P::kMaxSpeed)});
  s.action = Space::discrete(3);
  s.max_episode_steps = 200;
  s.reward_threshold = -110.0;
  return s;
}

void MountainCar::observe(float* obs) const {
  obs[0] = static_cast<float>(position);
  obs[1] = static_cast<float>(velocity);
}

void MountainCar::reset(core::Rng& rng, float* obs) {
  position = rng.uniform(-0.6, -0.4);
  velocity = 0.0;
  observe(obs);
}

double MountainCar::step(const float* action, core::Rng& /*rng*/, float* obs, bool* terminated) {
  // Gymnasium: (action - 1) * force + cos(3x) * (-gravity); negation and the product are exact,
  // so this equals push - gravity * cos(3x) bit for bit.
  const double push = (static_cast<double>(action[0]) - 1.0) * kForce;
  MountainCarPhysics::move(push, &position, &velocity);
  *terminated = position >= kGoalPosition && velocity >= kGoalVelocity;
  observe(obs);
  return -1.0;
}

template class Pool<MountainCar>;

}  // namespace rlpp::env
