#include "rlpp/env/classic/cartpole.h"

#include <cmath>
#include <limits>

namespace rlpp::env {

Spec CartPole::spec() {
  Spec s;
  s.id = "CartPole-v1";
  // Twice the termination limits, so the terminating observation still lies in the box.
  const float big = std::numeric_limits<float>::max();
  const float x_hi = static_cast<float>(kXThreshold * 2);
  const float th_hi = static_cast<float>(kThetaThreshold * 2);
  s.observation = Space::box({-x_hi, -big, -th_hi, -big}, {x_hi, big, th_hi, big});
  s.action = Space::discrete(2);
  s.max_episode_steps = 500;
  s.reward_threshold = 475.0;
  return s;
}

void CartPole::observe(float* obs) const {
  obs[0] = static_cast<float>(x);
  obs[1] = static_cast<float>(x_dot);
  obs[2] = static_cast<float>(theta);
  obs[3] = static_cast<float>(theta_dot);
}

void CartPole::reset(core::Rng& rng, float* obs) {
  x = rng.uniform(-0.05, 0.05);
  x_dot = rng.uniform(-0.05, 0.05);
  theta = rng.uniform(-0.05, 0.05);
  theta_dot = rng.uniform(-0.05, 0.05);
  observe(obs);
}

double CartPole::step(const float* action, core::Rng& /*rng*/, float* obs, bool* terminated) {
  // Grouped exactly as Gymnasium's expressions (θ̇² and cos²θ first), so roundings agree.
  constexpr double kTotalMass = kMassPole + kMassCart;
  constexpr double kPoleMassLength = kMassPole * kHalfLength;
  const double force = action[0] == 1.0f ? kForce : -kForce;
  const double costheta = std::cos(theta);
  const double sintheta = std::sin(theta);
  const double temp = (force + kPoleMassLength * (theta_dot * theta_dot) * sintheta) / kTotalMass;
  const double thetaacc = (kGravity * sintheta - costheta * temp) /
                          (kHalfLength * (4.0 / 3.0 - kMassPole * (costheta * costheta) / kTotalMass));
  const double xacc = temp - kPoleMassLength * thetaacc * costheta / kTotalMass;
  x = x + kTau * x_dot;
  x_dot = x_dot + kTau * xacc;
  theta = theta + kTau * theta_dot;
  theta_dot = theta_dot + kTau * thetaacc;
  *terminated = x < -kXThreshold || x > kXThreshold || theta < -kThetaThreshold ||
                theta > kThetaThreshold;
  observe(obs);
  return 1.0;
}

template class Pool<CartPole>;

}  // namespace rlpp::env
