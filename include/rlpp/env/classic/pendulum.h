// Pendulum-v1: a frictionless pendulum swung up by a bounded torque u ∈ [−2, 2] (g = 10, m = 1,
// l = 1, dt = 0.05), Gymnasium's semi-implicit update:
//   reward = −(norm(θ)² + 0.1 θ̇² + 0.001 u²),  norm(θ) = ((θ + π) mod 2π) − π   (old state)
//   θ̇ ← clip(θ̇ + (3g/(2l) sin θ + 3/(m l²) u) dt, −8, 8);  θ ← θ + θ̇ dt   (new θ̇)
// θ itself is never wrapped; only the cost normalises it. Never terminates; truncated at 200.
// Initial state: θ uniform in [−π, π), θ̇ uniform in [−1, 1). Observation (cos θ, sin θ, θ̇).
#pragma once
#include "rlpp/core/rng.h"
#include "rlpp/env/pool.h"
#include "rlpp/env/space.h"

namespace rlpp::env {

struct Pendulum {
  static constexpr int kObsDim = 3;
  static constexpr int kActDim = 1;
  static constexpr bool kDiscreteAction = false;

  static constexpr double kMaxSpeed = 8.0;
  static constexpr double kMaxTorque = 2.0;
  static constexpr double kDt = 0.05;
  static constexpr double kGravity = 10.0;
  static constexpr double kMass = 1.0;
  static constexpr double kLength = 1.0;

  static Spec spec();
  void reset(core::Rng& rng, float* obs);  // obs: (3)
  double step(const float* action, core::Rng& rng, float* obs, bool* terminated);  // action: (1), obs: (3)
  void observe(float* obs) const;  // obs: (3)

  double theta = 0.0;
  double theta_dot = 0.0;
};

extern template class Pool<Pendulum>;

}  // namespace rlpp::env
