// MountainCar-v0 and MountainCarContinuous-v0 against Gymnasium's update written out again here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "env_test_util.h"
#include "rlpp/env/classic/mountain_car.h"
#include "rlpp/env/classic/mountain_car_continuous.h"

namespace rlpp::env {
namespace {

struct Mc {
  double x, v;
};

// Gymnasium: v += push - 0.0025 cos(3x); clip v to ±0.07; x += v; clip x to [-1.2, 0.6];
// the left wall zeroes a negative velocity.
Mc reference_move(Mc s, double push) {
  double v = s.v + push + std::cos(3 * s.x) * (-0.0025);
  v = std::clamp(v, -0.07, 0.07);
  double x = std::clamp(s.x + v, -1.2, 0.6);
  if (x == -1.2 && v < 0) v = 0;
  return {x, v};
}

template <class E>
void set_state(Pool<E>& pool, int i, Mc s) {
  pool.env(i).position = s.x;
  pool.env(i).velocity = s.v;
}

TEST(MountainCar, SpecsMatchGymnasium) {
  const Spec d = MountainCar::spec();
  EXPECT_EQ(d.id, "MountainCar-v0");
  EXPECT_EQ(d.action.n, 3);
  EXPECT_EQ(d.max_episode_steps, 200);
  EXPECT_EQ(d.reward_threshold, -110.0);
  EXPECT_FLOAT_EQ(d.observation.low[0], -1.2f);
  EXPECT_FLOAT_EQ(d.observation.high[0], 0.6f);
  EXPECT_FLOAT_EQ(d.observation.low[1], -0.07f);
  EXPECT_FLOAT_EQ(d.observation.high[1], 0.07f);
  const Spec c = MountainCarContinuous::spec();
  EXPECT_EQ(c.id, "MountainCarContinuous-v0");
  ASSERT_FALSE(c.action.is_discrete());
  EXPECT_EQ(c.action.low[0], -1.0f);
  EXPECT_EQ(c.action.high[0], 1.0f);
  EXPECT_EQ(c.max_episode_steps, 999);
  EXPECT_EQ(c.reward_threshold, 90.0);
}

TEST(MountainCar, StepsMatchTheUpdate) {
  Pool<MountainCar> pool({3, 1});
  pool.reset(0);
  Mc ref[3] = {{-0.5, 0.0}, {0.1, 0.03}, {-1.0, -0.02}};
  for (int i = 0; i < 3; ++i) set_state(pool, i, ref[i]);
  for (int t = 0; t < 10; ++t) {
    const float actions[3] = {0.0f, 1.0f, 2.0f};
    pool.step(actions);
    for (int i = 0; i < 3; ++i) {
      ref[i] = reference_move(ref[i], (actions[i] - 1) * 0.001);
      EXPECT_NEAR(pool.env(i).position, ref[i].x, 1e-14) << i << " t " << t;
      EXPECT_NEAR(pool.env(i).velocity, ref[i].v, 1e-14) << i << " t " << t;
      EXPECT_EQ(pool.obs()[2 * i], static_cast<float>(pool.env(i).position));
      EXPECT_EQ(pool.reward()[i], -1.0f);
      EXPECT_FALSE(pool.terminated()[i]);
    }
  }
}

TEST(MountainCar, LeftWallStopsTheCarAndSpeedIsClipped) {
  Pool<MountainCar> pool({3, 1});
  pool.reset(0);
  set_state(pool, 0, {-1.19, -0.07});  // hits the wall
  set_state(pool, 1, {-1.2, 0.01});    // at the wall, moving away: velocity kept
  set_state(pool, 2, {-0.52, 0.07});   // at the bottom, pushing right at full speed
  const float actions[3] = {0.0f, 2.0f, 2.0f};
  pool.step(actions);
  EXPECT_EQ(pool.env(0).position, -1.2);
  EXPECT_EQ(pool.env(0).velocity, 0.0);
  const Mc r1 = reference_move({-1.2, 0.01}, 0.001);
  EXPECT_GT(pool.env(1).velocity, 0.0);
  EXPECT_NEAR(pool.env(1).velocity, r1.v, 1e-15);
  EXPECT_EQ(pool.env(2).velocity, 0.07);
  EXPECT_NEAR(pool.env(2).position, -0.52 + 0.07, 1e-15);
}

TEST(MountainCar, GoalBoundary) {
  // Bisect the start position (velocity 0.02, no push) so the post-step x straddles 0.5.
  auto post_x = [](double x0) { return reference_move({x0, 0.02}, 0.0).x; };
  double lo = 0.4, hi = 0.5;
  for (int it = 0; it < 200 && (post_x(lo) < 0.5 - 1e-12 || post_x(hi) > 0.5 + 1e-12); ++it) {
    const double mid = 0.5 * (lo + hi);
    (post_x(mid) >= 0.5 ? hi : lo) = mid;
  }
  ASSERT_LT(post_x(lo), 0.5);
  ASSERT_GE(post_x(hi), 0.5);
  for (const auto& [x0, done] : {std::pair{lo, false}, std::pair{hi, true}}) {
    Pool<MountainCar> pool({1, 1});
    pool.reset(0);
    set_state(pool, 0, {x0, 0.02});
    const float a = 1.0f;
    pool.step(&a);
    EXPECT_EQ(pool.terminated()[0] != 0, done) << x0;
    EXPECT_EQ(pool.reward()[0], -1.0f);
  }
  // Beyond the goal but rolling back: not done.
  Pool<MountainCar> pool({1, 1});
  pool.reset(0);
  set_state(pool, 0, {0.55, -0.01});
  const float a = 1.0f;
  pool.step(&a);
  EXPECT_GE(pool.env(0).position, 0.5);
  EXPECT_LT(pool.env(0).velocity, 0.0);
  EXPECT_FALSE(pool.terminated()[0]);
}

TEST(MountainCar, InitialState) {
  for (int which = 0; which < 2; ++which) {
    std::unique_ptr<VecEnv> pool;
    if (which == 0) pool = std::make_unique<Pool<MountainCar>>(VecEnvOptions{200, 1});
    else pool = std::make_unique<Pool<MountainCarContinuous>>(VecEnvOptions{200, 1});
    pool->reset(11);
    for (int i = 0; i < 200; ++i) {
      EXPECT_GE(pool->obs()[2 * i], -0.6f);
      EXPECT_LE(pool->obs()[2 * i], -0.4f);
      EXPECT_EQ(pool->obs()[2 * i + 1], 0.0f);
    }
  }
}

TEST(MountainCarContinuous, StepRewardAndFloatState) {
  Pool<MountainCarContinuous> pool({2, 1});
  pool.reset(0);
  Mc ref[2] = {{-0.5, 0.0}, {0.2, 0.05}};
  for (int i = 0; i < 2; ++i) set_state(pool, i, ref[i]);
  const float as[][2] = {{0.3f, -0.7f}, {1.0f, 0.0f}, {-1.0f, 0.25f}};
  for (const auto& actions : as) {
    pool.step(actions);
    for (int i = 0; i < 2; ++i) {
      const double a = actions[i];
      ref[i] = reference_move(ref[i], a * 0.0015);
      ref[i] = {static_cast<float>(ref[i].x), static_cast<float>(ref[i].v)};  // Gymnasium's float32 state
      EXPECT_NEAR(pool.env(i).position, ref[i].x, 1e-7);
      EXPECT_NEAR(pool.env(i).velocity, ref[i].v, 1e-8);
      EXPECT_EQ(pool.env(i).position, static_cast<double>(static_cast<float>(pool.env(i).position)));
      EXPECT_EQ(pool.env(i).velocity, static_cast<double>(static_cast<float>(pool.env(i).velocity)));
      EXPECT_FALSE(pool.terminated()[i]);
      EXPECT_FLOAT_EQ(pool.reward()[i], static_cast<float>(-0.1 * a * a));
      // Continue from the env's own (float) state so the comparison stays one step deep.
      ref[i] = {pool.env(i).position, pool.env(i).velocity};
    }
  }
}

// clip_action = false is a bare Gymnasium env: the force is clip(a, -1, 1), the penalty 0.1 a^2
// of the raw action (gymnasium/envs/classic_control/continuous_mountain_car.py).
TEST(MountainCarContinuous, RawActionsPushClippedButPayTheirOwnSquare) {
  VecEnvOptions opts{3, 1};
  opts.clip_action = false;
  Pool<MountainCarContinuous> pool(opts);
  pool.reset(0);
  set_state(pool, 0, {0.44, 0.03});  // reaches the goal
  set_state(pool, 1, {0.0, 0.0});
  set_state(pool, 2, {-0.5, 0.01});
  const float actions[3] = {7.0f, -3.0f, 0.5f};
  pool.step(actions);
  EXPECT_TRUE(pool.terminated()[0]);
  EXPECT_FLOAT_EQ(pool.reward()[0], static_cast<float>(100.0 - 0.1 * 49.0));
  EXPECT_FLOAT_EQ(pool.final_obs()[0], static_cast<float>(reference_move({0.44, 0.03}, 1.0 * 0.0015).x));
  EXPECT_FLOAT_EQ(pool.reward()[1], static_cast<float>(-0.1 * 9.0));
  EXPECT_NEAR(pool.env(1).velocity, reference_move({0.0, 0.0}, -1.0 * 0.0015).v, 1e-9);
  // Inside the box both conventions agree.
  EXPECT_FLOAT_EQ(pool.reward()[2], static_cast<float>(-0.1 * 0.25));
  EXPECT_NEAR(pool.env(2).velocity, reference_move({-0.5, 0.01}, 0.5 * 0.0015).v, 1e-8);
}

TEST(MountainCarContinuous, GoalPaysHundredAndActionsAreClipped) {
  Pool<MountainCarContinuous> pool({3, 1});
  pool.reset(0);
  set_state(pool, 0, {0.44, 0.03});   // reaches x >= 0.45 moving right
  set_state(pool, 1, {0.44, 0.03});
  set_state(pool, 2, {0.0, 0.0});
  const float actions[3] = {0.5f, 7.0f, -3.0f};  // 7 and -3 are clipped to 1 and -1
  pool.step(actions);
  EXPECT_TRUE(pool.terminated()[0]);
  EXPECT_FLOAT_EQ(pool.reward()[0], static_cast<float>(100.0 - 0.1 * 0.25));
  EXPECT_TRUE(pool.terminated()[1]);
  EXPECT_FLOAT_EQ(pool.reward()[1], static_cast<float>(100.0 - 0.1));  // penalty of the clipped action
  EXPECT_FLOAT_EQ(pool.final_obs()[2], static_cast<float>(reference_move({0.44, 0.03}, 1.0 * 0.0015).x));
  EXPECT_FLOAT_EQ(pool.reward()[2], -0.1f);
  EXPECT_NEAR(pool.env(2).velocity, reference_move({0.0, 0.0}, -1.0 * 0.0015).v, 1e-9);
  // x >= 0.45 with v < 0 is not the goal.
  set_state(pool, 0, {0.5, -0.02});
  const float zero[3] = {0, 0, 0};
  pool.step(zero);
  EXPECT_FALSE(pool.terminated()[0]);
}

}  // namespace
}  // namespace rlpp::env
