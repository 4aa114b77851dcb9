// MountainCarContinuous-v0: MountainCar's physics (see mountain_car.h) under a continuous push
// a ∈ [−1, 1] with power 0.0015:
//   v ← clip(v + a·0.0015 − 0.0025·cos(3x), −0.07, 0.07), then x as in MountainCar-v0.
// Terminates when x ≥ 0.45 and v ≥ 0; reward 100·[terminated] − 0.1·a²; truncated at 999
// steps; solved at 90. As in Gymnasium, the force is clip(a, −1, 1) and the penalty squares a
// itself: with the pool's default clip_action (the ClipAction wrapper) a is already clipped;
// with clip_action = false an action outside [−1, 1] pushes like ±1 and costs 0.1·a².
// Gymnasium stores this env's state as float32 after every step (not after reset): so does rlpp.
// Initial state: x uniform in [−0.6, −0.4), v = 0. Observation (x, v).
#pragma once
#include "rlpp/core/rng.h"
#include "rlpp/env/classic/mountain_car.h"
#include "rlpp/env/pool.h"
#include "rlpp/env/space.h"

namespace rlpp::env {

struct MountainCarContinuous {
  static constexpr int kObsDim = 2;
  static constexpr int kActDim = 1;
  static constexpr bool kDiscreteAction = false;

  static constexpr double kPower = 0.0015;
  static constexpr double kGoalPosition = 0.45;
  static constexpr double kGoalVelocity = 0.0;

  static Spec spec();
  void reset(core::Rng& rng, float* obs);  // obs: (2)
  double step(const float* action, core::Rng& rng, float* obs, bool* terminated);  // action: (1), obs: (2)
  void observe(float* obs) const;  // obs: (2)

  double position = 0.0;
  double velocity = 0.0;
};

extern template class Pool<MountainCarContinuous>;

}  // namespace rlpp::env
