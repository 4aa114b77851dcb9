#include "rlpp/env/classic/mountain_car_continuous.h"

#include <algorithm>

namespace rlpp::env {

Spec MountainCarContinuous::spec() {
  using P = MountainCarPhysics;
  Spec s;
  s.id = "MountainCarContinuous-v0";
  s.observation = Space::box({static_cast<float>(P::kMinPosition), static_cast<float>(-P::kMaxSpeed)},
                             {static_cast<float>(P::kMaxPosition), static_cast<float>(P::kMaxSpeed)});
  s.action = Space::box({-1.0f}, {1.0f});
  s.max_episode_steps = 999;
  s.reward_threshold = 90.0;
  return s;
}

void MountainCarContinuous::observe(float* obs) const {
  obs[0] = static_cast<float>(position);
  obs[1] = static_cast<float>(velocity);
}

void MountainCarContinuous::reset(core::Rng& rng, float* obs) {
  position = rng.uniform(-0.6, -0.4);
  velocity = 0.0;
  observe(obs);
}

double MountainCarContinuous::step(const float* action, core::Rng& /*rng*/, float* obs,
                                   bool* terminated) {
  const double a = static_cast<double>(action[0]);
  const double force = std::min(std::max(a, -1.0), 1.0);
  MountainCarPhysics::move(force * kPower, &position, &velocity);
  const bool done = position >= kGoalPosition && velocity >= kGoalVelocity;
  position = static_cast<float>(position);
  velocity = static_cast<float>(velocity);
  *terminated = done;
  observe(obs);
  return (done ? 100.0 : 0.0) - a * a * 0.1;
}

template class Pool<MountainCarContinuous>;

}  // namespace rlpp::env
