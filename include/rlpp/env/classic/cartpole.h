// CartPole-v1 (Barto, Sutton & Anderson 1983), with Gymnasium's constants and update order.
//
//   temp    = (F + m_p l θ̇² sin θ) / (m_c + m_p)
//   θ̈       = (g sin θ − cos θ · temp) / (l (4/3 − m_p cos²θ / (m_c + m_p)))
//   ẍ       = temp − m_p l θ̈ cos θ / (m_c + m_p)
// explicit Euler with τ = 0.02, in the order x, ẋ, θ, θ̇ (each from the old state).
// F = +10 for action 1, −10 for action 0. Reward +1 on every step, the terminating one included.
// Terminates when |x| > 2.4 or |θ| > 12° (strict); truncated at 500 steps; solved at 475.
// Initial state: each component uniform in [−0.05, 0.05). Observation (x, ẋ, θ, θ̇).
#pragma once
#include "rlpp/core/rng.h"
#include "rlpp/env/pool.h"
#include "rlpp/env/space.h"

namespace rlpp::env {

struct CartPole {
  static constexpr int kObsDim = 4;
  static constexpr int kActDim = 1;
  static constexpr bool kDiscreteAction = true;

  static constexpr double kGravity = 9.8;
  static constexpr double kMassCart = 1.0;
  static constexpr double kMassPole = 0.1;
  static constexpr double kHalfLength = 0.5;  // "length" in Gymnasium: half the pole's length
  static constexpr double kForce = 10.0;
  static constexpr double kTau = 0.02;
  static constexpr double kXThreshold = 2.4;
  static constexpr double kThetaThreshold = 12 * 2 * M_PI / 360;  // 12 degrees in radians

  static Spec spec();
  void reset(core::Rng& rng, float* obs);  // obs: (4)
  double step(const float* action, core::Rng& rng, float* obs, bool* terminated);  // action: (1), obs: (4)
  void observe(float* obs) const;  // obs: (4)

  double x = 0.0;
  double x_dot = 0.0;
  double theta = 0.0;
  double theta_dot = 0.0;
};

extern template class Pool<CartPole>;

}  // namespace rlpp::env
