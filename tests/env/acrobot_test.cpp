// Acrobot-v1 against the "book" equations and an RK4 step written out again here.
#include <gtest/gtest.h>

#include <array>
#include <utility>
#include <cmath>

#include "env_test_util.h"
#include "rlpp/env/classic/acrobot.h"

namespace rlpp::env {
namespace {

using testing::close;
using Q = std::array<double, 4>;  // (θ1, θ2, θ̇1, θ̇2)

// Sutton & Barto's acrobot (all masses, lengths, inertias 1; centres of mass 0.5; g 9.8).
Q dynamics(const Q& q, double tau) {
  const double lc = 0.5, g = 9.8;
  const double t1 = q[0], t2 = q[1], w1 = q[2], w2 = q[3];
  const double d1 = lc * lc + (1 + lc * lc + 2 * lc * std::cos(t2)) + 2;
  const double d2 = (lc * lc + lc * std::cos(t2)) + 1;
  const double phi2 = lc * g * std::cos(t1 + t2 - M_PI / 2);
  const double phi1 = -lc * w2 * w2 * std::sin(t2) - 2 * lc * w2 * w1 * std::sin(t2) +
                      (lc + 1) * g * std::cos(t1 - M_PI / 2) + phi2;
  const double a2 = (tau + d2 / d1 * phi1 - lc * w1 * w1 * std::sin(t2) - phi2) /
                    (lc * lc + 1 - d2 * d2 / d1);
  const double a1 = -(d2 * a2 + phi1) / d1;
  return {w1, w2, a1, a2};
}

double wrap_pi(double x) {  // into [-π, π] by whole turns
  while (x > M_PI) x -= 2 * M_PI;
  while (x < -M_PI) x += 2 * M_PI;
  return x;
}

Q reference_step(const Q& q, int action) {
  const double tau = action - 1.0, h = 0.2;
  auto add = [](const Q& a, const Q& b, double s) {
    return Q{a[0] + s * b[0], a[1] + s * b[1], a[2] + s * b[2], a[3] + s * b[3]};
  };
  const Q k1 = dynamics(q, tau);
  const Q k2 = dynamics(add(q, k1, h / 2), tau);
  const Q k3 = dynamics(add(q, k2, h / 2), tau);
  const Q k4 = dynamics(add(q, k3, h), tau);
  Q n;
  for (int j = 0; j < 4; ++j) n[j] = q[j] + h / 6 * (k1[j] + 2 * k2[j] + 2 * k3[j] + k4[j]);
  n[0] = wrap_pi(n[0]);
  n[1] = wrap_pi(n[1]);
  n[2] = std::clamp(n[2], -4 * M_PI, 4 * M_PI);
  n[3] = std::clamp(n[3], -9 * M_PI, 9 * M_PI);
  return n;
}

double height(const Q& q) { return -std::cos(q[0]) - std::cos(q[0] + q[1]); }

void set_state(Pool<Acrobot>& pool, int i, const Q& q) {
  Acrobot& e = pool.env(i);
  e.theta1 = q[0];
  e.theta2 = q[1];
  e.dtheta1 = q[2];
  e.dtheta2 = q[3];
}

Q get_state(const Pool<Acrobot>& pool, int i) {
  const Acrobot& e = pool.env(i);
  return {e.theta1, e.theta2, e.dtheta1, e.dtheta2};
}

TEST(Acrobot, SpecMatchesGymnasium) {
  const Spec s = Acrobot::spec();
  EXPECT_EQ(s.id, "Acrobot-v1");
  EXPECT_EQ(s.action.n, 3);
  ASSERT_EQ(s.observation.dim, 6);
  EXPECT_FLOAT_EQ(s.observation.high[4], static_cast<float>(4 * M_PI));
  EXPECT_FLOAT_EQ(s.observation.high[5], static_cast<float>(9 * M_PI));
  EXPECT_FLOAT_EQ(s.observation.low[0], -1.0f);
  EXPECT_EQ(s.max_episode_steps, 500);
  EXPECT_EQ(s.reward_threshold, -100.0);
}

TEST(Acrobot, StepsMatchReferenceRk4) {
  Pool<Acrobot> pool({3, 1});
  pool.reset(0);
  Q ref[3] = {{0.05, -0.08, 0.02, 0.09}, {1.0, 2.0, -1.5, 3.0}, {-1.2, 0.7, 2.0, -5.0}};
  for (int i = 0; i < 3; ++i) set_state(pool, i, ref[i]);
  bool live[3] = {true, true, true};  // a terminated copy restarts from a random state
  for (int t = 0; t < 6; ++t) {
    const float actions[3] = {static_cast<float>(t % 3), 2.0f, 0.0f};
    for (int i = 0; i < 3; ++i) ref[i] = reference_step(ref[i], static_cast<int>(actions[i]));
    pool.step(actions);
    for (int i = 0; i < 3; ++i) {
      if (pool.terminated()[i]) live[i] = false;
      if (!live[i]) continue;
      const Q got = get_state(pool, i);
      for (int j = 0; j < 4; ++j) {
        EXPECT_TRUE(close(got[j], ref[i][j], 1e-10)) << "copy " << i << " t " << t << " j " << j
                                                     << ": " << got[j] << " vs " << ref[i][j];
      }
      const float* o = pool.obs() + 6 * i;
      EXPECT_NEAR(o[0], std::cos(ref[i][0]), 1e-6);
      EXPECT_NEAR(o[1], std::sin(ref[i][0]), 1e-6);
      EXPECT_NEAR(o[2], std::cos(ref[i][1]), 1e-6);
      EXPECT_NEAR(o[3], std::sin(ref[i][1]), 1e-6);
      EXPECT_NEAR(o[4], ref[i][2], 1e-5);
      EXPECT_NEAR(o[5], ref[i][3], 1e-5);
      EXPECT_EQ(pool.reward()[i], -1.0f);
    }
  }
}

TEST(Acrobot, AnglesWrapAndVelocitiesAreBounded) {
  // Fast enough to cross ±π within one step and to exceed the velocity limits.
  const std::pair<Q, int> cases[] = {{{3.0, -3.0, 20.0, -40.0}, 1},
                                     {{3.1, 0.0, 1.0, 0.0}, 2},
                                     {{-3.1, 3.1, -1.0, 2.0}, 0},
                                     {{0.3, -0.2, -30.0, 60.0}, 2}};
  for (const auto& [q0, action] : cases) {
    Acrobot e;
    e.theta1 = q0[0];
    e.theta2 = q0[1];
    e.dtheta1 = q0[2];
    e.dtheta2 = q0[3];
    float obs[6];
    bool term = false;
    core::Rng rng(0);
    const float a = static_cast<float>(action);
    const double reward = e.step(&a, rng, obs, &term);
    const Q ref = reference_step(q0, action);
    const Q got{e.theta1, e.theta2, e.dtheta1, e.dtheta2};
    for (int j = 0; j < 4; ++j) {
      EXPECT_TRUE(close(got[j], ref[j], 1e-10)) << j << ": " << got[j] << " vs " << ref[j];
    }
    EXPECT_GE(got[0], -M_PI);
    EXPECT_LE(got[0], M_PI);
    EXPECT_GE(got[1], -M_PI);
    EXPECT_LE(got[1], M_PI);
    EXPECT_LE(std::abs(got[2]), 4 * M_PI);
    EXPECT_LE(std::abs(got[3]), 9 * M_PI);
    EXPECT_EQ(term, height(ref) > 1.0);
    EXPECT_EQ(reward, term ? 0.0 : -1.0);
  }
  // θ1 = 3.1 moving at +1 rad/s passes π: wrapped to the negative side.
  Acrobot e;
  e.theta1 = 3.1;
  e.dtheta1 = 1.0;
  float obs[6];
  bool term = false;
  core::Rng rng(0);
  const float a = 2.0f;
  e.step(&a, rng, obs, &term);
  EXPECT_LT(e.theta1, -2.9);
  // 60 rad/s on link 2 is clipped to exactly 9π.
  Acrobot f;
  f.dtheta2 = 60.0;
  f.step(&a, rng, obs, &term);
  EXPECT_EQ(f.dtheta2, 9 * M_PI);
  EXPECT_FLOAT_EQ(obs[5], static_cast<float>(9 * M_PI));
}

// A post-step tip height just below 1 continues with reward -1; just above terminates with 0.
TEST(Acrobot, TerminationBoundary) {
  // Start at rest with θ2 = 0 and bisect θ1 so that the reference's post-step height is 1.
  auto post_height = [](double th1) { return height(reference_step({th1, 0.0, 0.0, 0.0}, 1)); };
  double lo = M_PI / 2, hi = M_PI;  // post-step height < 1 at lo, > 1 at hi
  ASSERT_LT(post_height(lo), 1.0);
  ASSERT_GT(post_height(hi), 1.0);
  for (int it = 0; it < 200 && (post_height(lo) < 1.0 - 1e-9 || post_height(hi) > 1.0 + 1e-9);
       ++it) {
    const double mid = 0.5 * (lo + hi);
    (post_height(mid) > 1.0 ? hi : lo) = mid;
  }
  for (const auto& [th1, expect_done] : {std::pair{lo, false}, std::pair{hi, true}}) {
    Pool<Acrobot> pool({1, 1});
    pool.reset(0);
    set_state(pool, 0, {th1, 0.0, 0.0, 0.0});
    const float a = 1.0f;
    pool.step(&a);
    EXPECT_EQ(pool.terminated()[0] != 0, expect_done) << "theta1 " << th1;
    EXPECT_EQ(pool.reward()[0], expect_done ? 0.0f : -1.0f);
  }
}

TEST(Acrobot, InitialStateIsUniformTenthRoundedToFloat) {
  Pool<Acrobot> pool({128, 1});
  pool.reset(3);
  for (int i = 0; i < 128; ++i) {
    const Q q = get_state(pool, i);
    for (double v : q) {
      EXPECT_GE(v, -0.1);
      EXPECT_LE(v, 0.1);
      EXPECT_EQ(v, static_cast<double>(static_cast<float>(v)));
    }
    EXPECT_EQ(pool.obs()[6 * i + 4], static_cast<float>(q[2]));
    EXPECT_NEAR(pool.obs()[6 * i + 0], std::cos(q[0]), 1e-7);
  }
}

}  // namespace
}  // namespace rlpp::env
