#include "rlpp/env/classic/acrobot.h"

#include <algorithm>
#include <cmath>

namespace rlpp::env {

namespace {

// Gymnasium's wrap(): shifts by whole periods into [lo, hi] (hi - lo = 2π here).
double wrap(double x, double lo, double hi) {
  const double diff = hi - lo;
  while (x > hi) x -= diff;
  while (x < lo) x += diff;
  return x;
}

}  // namespace

Spec Acrobot::spec() {
  Spec s;
  s.id = "Acrobot-v1";
  const float v1 = static_cast<float>(kMaxVel1);
  const float v2 = static_cast<float>(kMaxVel2);
  s.observation = Space::box({-1, -1, -1, -1, -v1, -v2}, {1, 1, 1, 1, v1, v2});
  s.action = Space::discrete(3);
  s.max_episode_steps = 500;
  s.reward_threshold = -100.0;
  return s;
}

void Acrobot::observe(float* obs) const {
  obs[0] = static_cast<float>(std::cos(theta1));
  obs[1] = static_cast<float>(std::sin(theta1));
  obs[2] = static_cast<float>(std::cos(theta2));
  obs[3] = static_cast<float>(std::sin(theta2));
  obs[4] = static_cast<float>(dtheta1);
  obs[5] = static_cast<float>(dtheta2);
}

void Acrobot::reset(core::Rng& rng, float* obs) {
  theta1 = static_cast<float>(rng.uniform(-0.1, 0.1));
  theta2 = static_cast<float>(rng.uniform(-0.1, 0.1));
  dtheta1 = static_cast<float>(rng.uniform(-0.1, 0.1));
  dtheta2 = static_cast<float>(rng.uniform(-0.1, 0.1));
  observe(obs);
}

// Grouped as Gymnasium's _dsdt so that roundings agree.
void Acrobot::derivatives(const double* q, double torque, double* dq) {
  constexpr double m1 = kLinkMass1, m2 = kLinkMass2, l1 = kLinkLength1;
  constexpr double lc1 = kLinkCom1, lc2 = kLinkCom2, i1 = kLinkMoi, i2 = kLinkMoi, g = kGravity;
  const double theta1 = q[0], theta2 = q[1], dtheta1 = q[2], dtheta2 = q[3];
  const double cos2 = std::cos(theta2);
  const double sin2 = std::sin(theta2);
  const double d1 = m1 * (lc1 * lc1) + m2 * ((l1 * l1) + (lc2 * lc2) + 2 * l1 * lc2 * cos2) + i1 + i2;
  const double d2 = m2 * ((lc2 * lc2) + l1 * lc2 * cos2) + i2;
  const double phi2 = m2 * lc2 * g * std::cos(theta1 + theta2 - M_PI / 2.0);
  const double phi1 = -m2 * l1 * lc2 * (dtheta2 * dtheta2) * sin2 -
                      2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin2 +
                      (m1 * lc1 + m2 * l1) * g * std::cos(theta1 - M_PI / 2) + phi2;
  const double ddtheta2 = (torque + d2 / d1 * phi1 - m2 * l1 * lc2 * (dtheta1 * dtheta1) * sin2 - phi2) /
                          (m2 * (lc2 * lc2) + i2 - (d2 * d2) / d1);
  const double ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
  dq[0] = dtheta1;
  dq[1] = dtheta2;
  dq[2] = ddtheta1;
  dq[3] = ddtheta2;
}

double Acrobot::step(const float* action, core::Rng& /*rng*/, float* obs, bool* terminated) {
  const double torque = static_cast<double>(action[0]) - 1.0;  // {0, 1, 2} -> {-1, 0, +1}
  const double dt = kDt;
  const double dt2 = dt / 2.0;
  const double y0[4] = {theta1, theta2, dtheta1, dtheta2};
  double k1[4], k2[4], k3[4], k4[4], y[4];
  derivatives(y0, torque, k1);
  for (int j = 0; j < 4; ++j) y[j] = y0[j] + dt2 * k1[j];
  derivatives(y, torque, k2);
  for (int j = 0; j < 4; ++j) y[j] = y0[j] + dt2 * k2[j];
  derivatives(y, torque, k3);
  for (int j = 0; j < 4; ++j) y[j] = y0[j] + dt * k3[j];
  derivatives(y, torque, k4);
  double next[4];
  for (int j = 0; j < 4; ++j) next[j] = y0[j] + dt / 6.0 * (k1[j] + 2 * k2[j] + 2 * k3[j] + k4[j]);

  theta1 = wrap(next[0], -M_PI, M_PI);
  theta2 = wrap(next[1], -M_PI, M_PI);
  dtheta1 = std::min(std::max(next[2], -kMaxVel1), kMaxVel1);
  dtheta2 = std::min(std::max(next[3], -kMaxVel2), kMaxVel2);
  const bool done = -std::cos(theta1) - std::cos(theta2 + theta1) > 1.0;
  *terminated = done;
  observe(obs);
  return done ? 0.0 : -1.0;
}

template class Pool<Acrobot>;

}  // namespace rlpp::env
