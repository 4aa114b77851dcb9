// Acrobot-v1 (Sutton 1996; Sutton & Barto 2018), Gymnasium's "book" dynamics.
//
// Two links (lengths 1, masses 1, centres of mass 0.5, inertias 1), torque τ ∈ {−1, 0, +1} on the
// joint between them, g = 9.8. With q = (θ1, θ2, θ̇1, θ̇2):
//   d1 = m1 lc1² + m2 (l1² + lc2² + 2 l1 lc2 cos θ2) + I1 + I2
//   d2 = m2 (lc2² + l1 lc2 cos θ2) + I2
//   φ2 = m2 lc2 g cos(θ1 + θ2 − π/2)
//   φ1 = −m2 l1 lc2 θ̇2² sin θ2 − 2 m2 l1 lc2 θ̇2 θ̇1 sin θ2 + (m1 lc1 + m2 l1) g cos(θ1 − π/2) + φ2
//   θ̈2 = (τ + d2/d1 φ1 − m2 l1 lc2 θ̇1² sin θ2 − φ2) / (m2 lc2² + I2 − d2²/d1)     ("book" term)
//   θ̈1 = −(d2 θ̈2 + φ1) / d1
// One classical RK4 step of dt = 0.2, then θ1, θ2 wrapped into [−π, π] and the velocities clipped
// to ±4π and ±9π. Terminates when −cos θ1 − cos(θ1 + θ2) > 1 (the tip above the bar); reward −1
// per step and 0 on the terminating step; truncated at 500 steps.
// Initial state: uniform in [−0.1, 0.1) per component, rounded to float as Gymnasium stores it.
// Observation (cos θ1, sin θ1, cos θ2, sin θ2, θ̇1, θ̇2).
#pragma once
#include "rlpp/core/rng.h"
#include "rlpp/env/pool.h"
#include "rlpp/env/space.h"

namespace rlpp::env {

struct Acrobot {
  static constexpr int kObsDim = 6;
  static constexpr int kActDim = 1;
  static constexpr bool kDiscreteAction = true;

  static constexpr double kDt = 0.2;
  static constexpr double kLinkLength1 = 1.0;
  static constexpr double kLinkMass1 = 1.0;
  static constexpr double kLinkMass2 = 1.0;
  static constexpr double kLinkCom1 = 0.5;
  static constexpr double kLinkCom2 = 0.5;
  static constexpr double kLinkMoi = 1.0;
  static constexpr double kGravity = 9.8;
  static constexpr double kMaxVel1 = 4 * M_PI;
  static constexpr double kMaxVel2 = 9 * M_PI;

  static Spec spec();
  void reset(core::Rng& rng, float* obs);  // obs: (6)
  double step(const float* action, core::Rng& rng, float* obs, bool* terminated);  // action: (1), obs: (6)
  void observe(float* obs) const;  // obs: (6)

  // dq/dt at q = (θ1, θ2, θ̇1, θ̇2) under torque τ.
  static void derivatives(const double* q, double torque, double* dq);  // q: (4), dq: (4)

  double theta1 = 0.0;
  double theta2 = 0.0;
  double dtheta1 = 0.0;
  double dtheta2 = 0.0;
};

extern template class Pool<Acrobot>;

}  // namespace rlpp::env
