// MountainCar-v0 (Moore 1990), discrete actions, with Gymnasium's update:
//   v ← clip(v + (a − 1)·0.001 − 0.0025·cos(3x), −0.07, 0.07)
//   x ← clip(x + v, −1.2, 0.6);  v ← 0 when x = −1.2 and v < 0 (the left wall stops the car)
// Terminates when x ≥ 0.5 and v ≥ 0; reward −1 per step; truncated at 200 steps; solved at −110.
// Initial state: x uniform in [−0.6, −0.4), v = 0. Observation (x, v).
#pragma once
#include <algorithm>
#include <cmath>

#include "rlpp/core/rng.h"
#include "rlpp/env/pool.h"
#include "rlpp/env/space.h"

namespace rlpp::env {

// The physics both MountainCar variants share: one step under the push `push` (force·(a − 1)
// or power·a), in Gymnasium's order.
struct MountainCarPhysics {
  static constexpr double kMinPosition = -1.2;
  static constexpr double kMaxPosition = 0.6;
  static constexpr double kMaxSpeed = 0.07;
  static constexpr double kGravity = 0.0025;

  static void move(double push, double* position, double* velocity) {
    double v = *velocity + (push - kGravity * std::cos(3 * *position));
    v = std::min(std::max(v, -kMaxSpeed), kMaxSpeed);
    double x = *position + v;
    x = std::min(std::max(x, kMinPosition), kMaxPosition);
    if (x == kMinPosition && v < 0) v = 0;
    *position = x;
    *velocity = v;
  }
};

struct MountainCar {
  static constexpr int kObsDim = 2;
  static constexpr int kActDim = 1;
  static constexpr bool kDiscreteAction = true;

  static constexpr double kForce = 0.001;
  static constexpr double kGoalPosition = 0.5;
  static constexpr double kGoalVelocity = 0.0;

  static Spec spec();
  void reset(core::Rng& rng, float* obs);  // obs: (2)
  double step(const float* action, core::Rng& rng, float* obs, bool* terminated);  // action: (1), obs: (2)
  void observe(float* obs) const;  // obs: (2)

  double position = 0.0;
  double velocity = 0.0;
};

extern template class Pool<MountainCar>;

}  // namespace rlpp::env
