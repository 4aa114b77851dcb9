// Pendulum-v1 against Gymnasium's update written out again here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "env_test_util.h"
#include "rlpp/env/classic/pendulum.h"

namespace rlpp::env {
namespace {

using testing::close;

struct Pd {
  double th, thdot;
};

// θ wrapped to (-π, π] through atan2 (a different route from the modulo in the env).
double wrapped(double th) { return std::atan2(std::sin(th), std::cos(th)); }

double reference_cost(Pd s, double u) {
  const double a = wrapped(s.th);
  return a * a + 0.1 * s.thdot * s.thdot + 0.001 * u * u;
}

Pd reference_step(Pd s, double u) {
  u = std::clamp(u, -2.0, 2.0);
  double w = s.thdot + (3 * 10.0 / 2.0 * std::sin(s.th) + 3.0 * u) * 0.05;
  w = std::clamp(w, -8.0, 8.0);
  return {s.th + w * 0.05, w};
}

void set_state(Pool<Pendulum>& pool, int i, Pd s) {
  pool.env(i).theta = s.th;
  pool.env(i).theta_dot = s.thdot;
}

TEST(Pendulum, SpecMatchesGymnasium) {
  const Spec s = Pendulum::spec();
  EXPECT_EQ(s.id, "Pendulum-v1");
  ASSERT_FALSE(s.action.is_discrete());
  EXPECT_EQ(s.action.low[0], -2.0f);
  EXPECT_EQ(s.action.high[0], 2.0f);
  ASSERT_EQ(s.observation.dim, 3);
  EXPECT_EQ(s.observation.high[2], 8.0f);
  EXPECT_EQ(s.max_episode_steps, 200);
  EXPECT_TRUE(std::isnan(s.reward_threshold));
}

TEST(Pendulum, StepsAndCostsMatch) {
  Pool<Pendulum> pool({4, 1});
  pool.reset(0);
  // Includes angles far outside [-π, π] (θ is never wrapped; only the cost normalises it).
  Pd ref[4] = {{0.3, -0.5}, {3.0, 2.0}, {-4.0, 0.0}, {10 * M_PI + 0.25, 1.0}};
  for (int i = 0; i < 4; ++i) set_state(pool, i, ref[i]);
  for (int t = 0; t < 5; ++t) {
    const float actions[4] = {1.5f, -0.3f, 2.0f, -1.0f};
    pool.step(actions);
    for (int i = 0; i < 4; ++i) {
      const double cost = reference_cost(ref[i], actions[i]);
      ref[i] = reference_step(ref[i], actions[i]);
      EXPECT_TRUE(close(pool.env(i).theta, ref[i].th)) << pool.env(i).theta << " vs " << ref[i].th;
      EXPECT_TRUE(close(pool.env(i).theta_dot, ref[i].thdot));
      EXPECT_NEAR(pool.reward()[i], -cost, 1e-5 * std::max(1.0, cost)) << "copy " << i;
      const float* o = pool.obs() + 3 * i;
      EXPECT_NEAR(o[0], std::cos(ref[i].th), 1e-6);
      EXPECT_NEAR(o[1], std::sin(ref[i].th), 1e-6);
      EXPECT_NEAR(o[2], ref[i].thdot, 1e-6);
      EXPECT_FALSE(pool.terminated()[i]);
    }
  }
}

TEST(Pendulum, HandComputedCostOfAWrappedAngle) {
  // θ = 2π + 0.5 costs like θ = 0.5: 0.25 + 0.1·4 + 0.001·1 = 0.651.
  Pool<Pendulum> pool({1, 1});
  pool.reset(0);
  set_state(pool, 0, {2 * M_PI + 0.5, 2.0});
  const float u = 1.0f;
  pool.step(&u);
  EXPECT_NEAR(pool.reward()[0], -0.651, 1e-6);
  // θ = -π + 0.1 (just inside) versus π + 0.1 (wraps to -π + 0.1): same cost.
  set_state(pool, 0, {-M_PI + 0.1, 0.0});
  const float z = 0.0f;
  pool.step(&z);
  const float r1 = pool.reward()[0];
  set_state(pool, 0, {M_PI + 0.1, 0.0});
  pool.step(&z);
  EXPECT_NEAR(pool.reward()[0], r1, 1e-6);
  EXPECT_NEAR(r1, -(M_PI - 0.1) * (M_PI - 0.1), 1e-5);
}

TEST(Pendulum, SpeedAndTorqueAreClipped) {
  Pool<Pendulum> pool({3, 1});
  pool.reset(0);
  set_state(pool, 0, {M_PI / 2, 7.9});
  set_state(pool, 1, {0.2, 0.1});
  set_state(pool, 2, {0.2, 0.1});
  const float actions[3] = {2.0f, 9.0f, 2.0f};  // copy 1's torque is clipped to 2
  pool.step(actions);
  EXPECT_EQ(pool.env(0).theta_dot, 8.0);
  EXPECT_NEAR(pool.env(0).theta, M_PI / 2 + 8.0 * 0.05, 1e-15);
  EXPECT_EQ(pool.env(1).theta, pool.env(2).theta);
  EXPECT_EQ(pool.env(1).theta_dot, pool.env(2).theta_dot);
  EXPECT_EQ(pool.reward()[1], pool.reward()[2]);  // the cost uses the clipped torque
}

TEST(Pendulum, InitialState) {
  Pool<Pendulum> pool({256, 1});
  pool.reset(5);
  for (int i = 0; i < 256; ++i) {
    EXPECT_GE(pool.env(i).theta, -M_PI);
    EXPECT_LE(pool.env(i).theta, M_PI);
    EXPECT_GE(pool.obs()[3 * i + 2], -1.0f);
    EXPECT_LE(pool.obs()[3 * i + 2], 1.0f);
    EXPECT_NEAR(pool.obs()[3 * i], std::cos(pool.env(i).theta), 1e-7);
  }
}

}  // namespace
}  // namespace rlpp::env
