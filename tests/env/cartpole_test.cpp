// CartPole-v1 against Gymnasium's equations written out again here.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "env_test_util.h"
#include "rlpp/env/classic/cartpole.h"

namespace rlpp::env {
namespace {

using testing::close;

struct CpState {
  double x, x_dot, theta, theta_dot;
};

// Gymnasium CartPoleEnv.step, "euler" integrator.
CpState reference_step(CpState s, int action) {
  const double g = 9.8, mc = 1.0, mp = 0.1, l = 0.5, tau = 0.02;
  const double f = action == 1 ? 10.0 : -10.0;
  const double c = std::cos(s.theta), sn = std::sin(s.theta);
  const double temp = (f + mp * l * s.theta_dot * s.theta_dot * sn) / (mc + mp);
  const double th_acc = (g * sn - c * temp) / (l * (4.0 / 3.0 - mp * c * c / (mc + mp)));
  const double x_acc = temp - mp * l * th_acc * c / (mc + mp);
  return {s.x + tau * s.x_dot, s.x_dot + tau * x_acc, s.theta + tau * s.theta_dot,
          s.theta_dot + tau * th_acc};
}

void set_state(Pool<CartPole>& pool, int i, CpState s) {
  CartPole& e = pool.env(i);
  e.x = s.x;
  e.x_dot = s.x_dot;
  e.theta = s.theta;
  e.theta_dot = s.theta_dot;
}

TEST(CartPole, SpecMatchesGymnasium) {
  const Spec s = CartPole::spec();
  EXPECT_EQ(s.id, "CartPole-v1");
  ASSERT_TRUE(s.action.is_discrete());
  EXPECT_EQ(s.action.n, 2);
  ASSERT_EQ(s.observation.dim, 4);
  EXPECT_FLOAT_EQ(s.observation.high[0], 4.8f);
  EXPECT_FLOAT_EQ(s.observation.high[2], 0.41887903f);  // 24 degrees
  EXPECT_EQ(s.observation.high[1], std::numeric_limits<float>::max());
  EXPECT_FLOAT_EQ(s.observation.low[0], -4.8f);
  EXPECT_EQ(s.max_episode_steps, 500);
  EXPECT_EQ(s.reward_threshold, 475.0);
}

TEST(CartPole, SeveralStepsMatchTheEquations) {
  Pool<CartPole> pool({/*num_envs=*/2, /*num_threads=*/1});
  pool.reset(0);
  CpState ref{0.03, -0.2, 0.04, 0.3};
  set_state(pool, 0, ref);
  set_state(pool, 1, ref);
  const int seq[] = {1, 1, 0, 1, 0, 0, 0, 1};
  for (int a : seq) {
    const float actions[2] = {static_cast<float>(a), static_cast<float>(1 - a)};
    const CpState other = reference_step(ref, 1 - a);
    ref = reference_step(ref, a);
    pool.step(actions);
    ASSERT_FALSE(pool.terminated()[0]);
    const CartPole& e = pool.env(0);
    EXPECT_TRUE(close(e.x, ref.x)) << e.x << " vs " << ref.x;
    EXPECT_TRUE(close(e.x_dot, ref.x_dot)) << e.x_dot << " vs " << ref.x_dot;
    EXPECT_TRUE(close(e.theta, ref.theta)) << e.theta << " vs " << ref.theta;
    EXPECT_TRUE(close(e.theta_dot, ref.theta_dot)) << e.theta_dot << " vs " << ref.theta_dot;
    EXPECT_NEAR(pool.obs()[0], ref.x, 1e-7);
    EXPECT_NEAR(pool.obs()[1], ref.x_dot, 1e-7);
    EXPECT_NEAR(pool.obs()[2], ref.theta, 1e-7);
    EXPECT_NEAR(pool.obs()[3], ref.theta_dot, 1e-7);
    EXPECT_EQ(pool.reward()[0], 1.0f);
    // Copy 1 took the other action from the same state.
    EXPECT_TRUE(close(pool.env(1).theta_dot, other.theta_dot));
    set_state(pool, 1, ref);
  }
}

TEST(CartPole, HandComputedFirstStep) {
  // From rest, action 1: temp = 10/1.1, θ̈ = -temp/(0.5*(4/3 - 0.1/1.1)), ẍ = temp - 0.05 θ̈/1.1;
  // Euler leaves x and θ unchanged (their velocities were 0).
  Pool<CartPole> pool({1, 1});
  pool.reset(0);
  set_state(pool, 0, {0, 0, 0, 0});
  const float a = 1;
  pool.step(&a);
  const double temp = 10.0 / 1.1;
  const double th_acc = -temp / (0.5 * (4.0 / 3.0 - 0.1 / 1.1));
  const double x_acc = temp - 0.05 * th_acc / 1.1;
  EXPECT_EQ(pool.env(0).x, 0.0);
  EXPECT_EQ(pool.env(0).theta, 0.0);
  EXPECT_NEAR(pool.env(0).x_dot, 0.02 * x_acc, 1e-15);          // 0.19512195...
  EXPECT_NEAR(pool.env(0).theta_dot, 0.02 * th_acc, 1e-15);     // -0.29268292...
  EXPECT_NEAR(pool.env(0).x_dot, 0.1951219512195122, 1e-15);
  EXPECT_NEAR(pool.env(0).theta_dot, -0.2926829268292683, 1e-15);
}

// With zero velocities Euler keeps x and θ exactly, so the post-step state is the set state.
bool terminates_at(double x, double theta) {
  Pool<CartPole> pool({1, 1});
  pool.reset(0);
  set_state(pool, 0, {x, 0.0, theta, 0.0});
  const float a = 0;
  pool.step(&a);
  EXPECT_EQ(pool.reward()[0], 1.0f);  // the terminating step is rewarded too
  EXPECT_EQ(pool.truncated()[0], 0);
  return pool.terminated()[0] != 0;
}

TEST(CartPole, TerminationBoundariesAreStrict) {
  const double inf = std::numeric_limits<double>::infinity();
  const double x_lim = 2.4;
  const double th_lim = 12 * 2 * M_PI / 360;  // 0.20943951...
  EXPECT_FALSE(terminates_at(x_lim, 0.0));
  EXPECT_TRUE(terminates_at(std::nextafter(x_lim, inf), 0.0));
  EXPECT_FALSE(terminates_at(-x_lim, 0.0));
  EXPECT_TRUE(terminates_at(std::nextafter(-x_lim, -inf), 0.0));
  EXPECT_FALSE(terminates_at(0.0, th_lim));
  EXPECT_TRUE(terminates_at(0.0, std::nextafter(th_lim, inf)));
  EXPECT_FALSE(terminates_at(0.0, -th_lim));
  EXPECT_TRUE(terminates_at(0.0, std::nextafter(-th_lim, -inf)));
  EXPECT_TRUE(terminates_at(0.0, 0.2095));  // the doc's rounded 12 degrees is already outside
}

TEST(CartPole, InitialStateIsUniformInFivePercentBox) {
  Pool<CartPole> pool({256, 1});
  pool.reset(7);
  double lo = 1, hi = -1;
  for (int i = 0; i < 256; ++i) {
    const CartPole& e = pool.env(i);
    for (double v : {e.x, e.x_dot, e.theta, e.theta_dot}) {
      ASSERT_GE(v, -0.05);
      ASSERT_LT(v, 0.05);
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    EXPECT_EQ(pool.obs()[4 * i + 2], static_cast<float>(e.theta));
  }
  EXPECT_LT(lo, -0.045);  // spread over the whole interval
  EXPECT_GT(hi, 0.045);
}

}  // namespace
}  // namespace rlpp::env
