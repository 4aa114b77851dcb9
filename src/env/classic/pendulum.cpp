#include "rlpp/env/classic/pendulum.h"

#include <algorithm>
#include <cmath>

namespace rlpp::env {

namespace {

// Python's ((x + π) % 2π) − π: the remainder takes the divisor's sign, so the result is in [−π, π).
double angle_normalize(double x) {
  constexpr double kTwoPi = 2 * M_PI;
  double r = std::fmod(x + M_PI, kTwoPi);
  if (r < 0) r += kTwoPi;
  return r - M_PI;
}

}  // namespace

Spec Pendulum::spec() {
  Spec s;
  s.id = "Pendulum-v1";
  const float v = static_cast<float>(kMaxSpeed);
  s.observation = Space::box({-1.0f, -1.0f, -v}, {1.0f, 1.0f, v});
  const float t = static_cast<float>(kMaxTorque);
  s.action = Space::box({-t}, {t});
  s.max_episode_steps = 200;
  return s;
}

void Pendulum::observe(float* obs) const {
  obs[0] = static_cast<float>(std::cos(theta));
  obs[1] = static_cast<float>(std::sin(theta));
  obs[2] = static_cast<float>(theta_dot);
}

void Pendulum::reset(core::Rng& rng, float* obs) {
  theta = rng.uniform(-M_PI, M_PI);
  theta_dot = rng.uniform(-1.0, 1.0);
  observe(obs);
}

double Pendulum::step(const float* action, core::Rng& /*rng*/, float* obs, bool* terminated) {
  const double u = std::min(std::max(static_cast<double>(action[0]), -kMaxTorque), kMaxTorque);
  const double th_norm = angle_normalize(theta);
  const double costs = th_norm * th_norm + 0.1 * (theta_dot * theta_dot) + 0.001 * (u * u);
  double new_theta_dot = theta_dot + (3 * kGravity / (2 * kLength) * std::sin(theta) +
                                      3.0 / (kMass * (kLength * kLength)) * u) * kDt;
  new_theta_dot = std::min(std::max(new_theta_dot, -kMaxSpeed), kMaxSpeed);
  theta = theta + new_theta_dot * kDt;
  theta_dot = new_theta_dot;
  *terminated = false;
  observe(obs);
  return -costs;
}

template class Pool<Pendulum>;

}  // namespace rlpp::env
