// InvertedPendulum, InvertedDoublePendulum and Reacher against references written here: the MJCF
// through the MuJoCo C API, analytic kinematics of the poles and arm, and Gymnasium's formulas.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "mujoco_test_util.h"

namespace rlpp::env::mujoco {
namespace {

using testing::Reference;
using testing::make_pool;
using testing::set_state;

TEST(InvertedPendulum, RewardAndTerminationOnHandBuiltStates) {
  for (int v : {4, 5}) {
    for (double angle : {0.05, 0.19, 0.3}) {
      SCOPED_TRACE("v" + std::to_string(v) + " angle " + std::to_string(angle));
      const std::vector<double> qpos = {0.1, angle}, qvel = {0.2, 0.3};
      auto pool = make_pool("InvertedPendulum-v" + std::to_string(v));
      pool->reset(0);
      set_state(pool->task().model(), pool->data(0), qpos, qvel);
      const float a = 5.0f;  // clipped to 3
      pool->step(&a);
      Reference ref("inverted_pendulum.xml");
      set_state(ref.m, ref.d, qpos, qvel);
      ref.step({3.0}, 2);
      const bool term = std::abs(ref.d->qpos[1]) > 0.2;
      EXPECT_EQ(pool->terminated()[0] != 0, term);
      EXPECT_EQ(pool->reward()[0], (v == 5 && term) ? 0.0f : 1.0f);
      const float* obs = term ? pool->final_obs() : pool->obs();
      EXPECT_EQ(obs[0], static_cast<float>(ref.d->qpos[0]));
      EXPECT_EQ(obs[1], static_cast<float>(ref.d->qpos[1]));
      EXPECT_EQ(obs[2], static_cast<float>(ref.d->qvel[0]));
      EXPECT_EQ(obs[3], static_cast<float>(ref.d->qvel[1]));
    }
  }
}

TEST(InvertedDoublePendulum, TipSiteIsThePolesKinematics) {
  // Hinges about y rotate +z toward +x: tip = (x + 0.6 sin θ1 + 0.6 sin(θ1 + θ2), 0.6 cos θ1 +
  // 0.6 cos(θ1 + θ2)).
  Reference ref("inverted_double_pendulum.xml");
  const double x = 0.3, t1 = 0.4, t2 = -0.7;
  set_state(ref.m, ref.d, {x, t1, t2}, {0, 0, 0});
  EXPECT_NEAR(ref.d->site_xpos[0], x + 0.6 * std::sin(t1) + 0.6 * std::sin(t1 + t2), 1e-12);
  EXPECT_NEAR(ref.d->site_xpos[2], 0.6 * std::cos(t1) + 0.6 * std::cos(t1 + t2), 1e-12);
}

TEST(InvertedDoublePendulum, RewardObservationAndTermination) {
  for (int v : {4, 5}) {
    for (double t1 : {0.05, 1.2}) {  // upright; fallen (tip below 1)
      SCOPED_TRACE("v" + std::to_string(v) + " θ1 " + std::to_string(t1));
      const std::vector<double> qpos = {0.1, t1, -0.1}, qvel = {0.5, -0.4, 0.8};
      auto pool = make_pool("InvertedDoublePendulum-v" + std::to_string(v));
      pool->reset(0);
      set_state(pool->task().model(), pool->data(0), qpos, qvel);
      const float a = 0.4f;
      pool->step(&a);
      Reference ref("inverted_double_pendulum.xml");
      set_state(ref.m, ref.d, qpos, qvel);
      ref.step({0.4}, 5);
      const double x = ref.d->site_xpos[0], y = ref.d->site_xpos[2];
      const bool term = y <= 1;
      const double reward = (v == 5 && term ? 0.0 : 10.0) - (0.01 * x * x + (y - 2) * (y - 2)) -
                            (1e-3 * ref.d->qvel[1] * ref.d->qvel[1] + 5e-3 * ref.d->qvel[2] * ref.d->qvel[2]);
      EXPECT_EQ(pool->terminated()[0] != 0, term);
      EXPECT_NEAR(pool->reward()[0], reward, 1e-5);
      const float* obs = term ? pool->final_obs() : pool->obs();
      std::vector<double> want = {ref.d->qpos[0], std::sin(ref.d->qpos[1]), std::sin(ref.d->qpos[2]),
                                  std::cos(ref.d->qpos[1]), std::cos(ref.d->qpos[2])};
      for (int k = 0; k < 3; ++k) want.push_back(std::clamp(ref.d->qvel[k], -10.0, 10.0));
      for (int k = 0; k < (v == 5 ? 1 : 3); ++k) want.push_back(std::clamp(ref.d->qfrc_constraint[k], -10.0, 10.0));
      ASSERT_EQ(static_cast<int64_t>(want.size()), pool->obs_dim());
      // sin/cos may differ from this binary's libm calls in the last float bit
      for (size_t k = 0; k < want.size(); ++k) EXPECT_NEAR(obs[k], want[k], 1e-6) << k;
    }
  }
}

TEST(Reacher, ResetDrawsATargetInsideTheDisk) {
  auto pool = make_pool("Reacher-v4", 64);
  pool->reset(5);
  for (int i = 0; i < 64; ++i) {
    const mjData* d = pool->data(i);
    EXPECT_LT(std::hypot(d->qpos[2], d->qpos[3]), 0.2);
    EXPECT_EQ(d->qvel[2], 0.0);
    EXPECT_EQ(d->qvel[3], 0.0);
    EXPECT_LE(std::abs(d->qvel[0]), 0.005);
    EXPECT_LE(std::abs(d->qpos[0]), 0.1);
    // the target body sits where its slides say: qpos[2:4] is its world position
    EXPECT_NEAR(d->xpos[3 * 4 + 0], d->qpos[2], 1e-12);
    EXPECT_NEAR(d->xpos[3 * 4 + 1], d->qpos[3], 1e-12);
  }
}

TEST(Reacher, RewardUsesDistanceBeforeTheStepInV4AndAfterInV5) {
  const std::vector<double> qpos = {0.3, -0.5, 0.12, -0.08}, qvel = {0.2, -0.1, 0, 0};
  const std::vector<double> a = {0.6, -0.4};
  // The fingertip by the arm's kinematics: links 0.1 and 0.11 from the base.
  auto tip = [](double q0, double q1) {
    return std::array<double, 2>{0.1 * std::cos(q0) + 0.11 * std::cos(q0 + q1),
                                 0.1 * std::sin(q0) + 0.11 * std::sin(q0 + q1)};
  };
  const auto t0 = tip(qpos[0], qpos[1]);
  const double dist_before = std::hypot(t0[0] - qpos[2], t0[1] - qpos[3]);
  Reference ref("reacher.xml");
  set_state(ref.m, ref.d, qpos, qvel);
  ref.step(a, 2);
  const auto t1 = tip(ref.d->qpos[0], ref.d->qpos[1]);
  const double dist_after = std::hypot(t1[0] - ref.d->qpos[2], t1[1] - ref.d->qpos[3]);
  const double ctrl = a[0] * a[0] + a[1] * a[1];
  for (int v : {4, 5}) {
    auto pool = make_pool("Reacher-v" + std::to_string(v));
    pool->reset(0);
    set_state(pool->task().model(), pool->data(0), qpos, qvel);
    const std::vector<float> af(a.begin(), a.end());
    pool->step(af.data());
    // v5's "after" distance is read from mjData as mj_step leaves it, which lags the final
    // integration; the analytic distance agrees to the arm's motion over one substep.
    const double dist = v == 4 ? dist_before : dist_after;
    EXPECT_NEAR(pool->reward()[0], -dist - ctrl, v == 4 ? 1e-6 : 5e-3) << "v" << v;
    const float* obs = pool->obs();
    EXPECT_EQ(obs[0], static_cast<float>(std::cos(ref.d->qpos[0])));
    EXPECT_EQ(obs[3], static_cast<float>(std::sin(ref.d->qpos[1])));
    EXPECT_EQ(obs[4], static_cast<float>(ref.d->qpos[2]));
    EXPECT_EQ(obs[7], static_cast<float>(ref.d->qvel[1]));
    EXPECT_EQ(pool->obs_dim(), v == 4 ? 11 : 10);
  }
}

}  // namespace
}  // namespace rlpp::env::mujoco

namespace rlpp::env::mujoco {
namespace {

// Gymnasium's Reacher penalises the raw action (reward_ctrl = -|a|^2, v4 and v5); with
// clip_action = false rlpp does too, and the dynamics (MuJoCo clamps ctrl) are unchanged.
TEST(Reacher, RawActionsArePenalisedRaw) {
  for (int v : {4, 5}) {
    SCOPED_TRACE("v" + std::to_string(v));
    auto clipped = make_pool("Reacher-v" + std::to_string(v), 1, 1, true);
    auto raw = make_pool("Reacher-v" + std::to_string(v), 1, 1, false);
    clipped->reset(3);
    raw->reset(3);
    const float action[2] = {2.0f, -0.5f};
    clipped->step(action);
    raw->step(action);
    for (int k = 0; k < clipped->obs_dim(); ++k) EXPECT_EQ(clipped->obs()[k], raw->obs()[k]) << k;
    // (4 + 0.25) - (1 + 0.25)
    EXPECT_NEAR(clipped->reward()[0] - raw->reward()[0], 3.0, 1e-5);
  }
}

}  // namespace
}  // namespace rlpp::env::mujoco
