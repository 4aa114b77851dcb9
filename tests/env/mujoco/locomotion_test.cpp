// The forward-locomotion tasks against a reference written here: the same MJCF loaded through the
// MuJoCo C API, stepped with mj_step frame_skip times, and Gymnasium's reward, termination and
// observation formulas re-derived per task from the Gymnasium sources' definitions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "../env_test_util.h"
#include "mujoco_test_util.h"
#include "rlpp/env/mujoco/ant.h"
#include "rlpp/env/mujoco/hopper.h"
#include "rlpp/env/mujoco/walker2d.h"

namespace rlpp::env::mujoco {
namespace {

using testing::Reference;
using testing::make_pool;
using testing::set_state;

struct Case {
  std::string id;
  std::string file;
  int frame_skip;
  double ctrl_weight, healthy_reward;
  int obs_skip;             // qpos entries left out of the observation
  double qvel_clip;
  bool x_from_torso_xpos;   // Ant: get_body_com("torso")
  std::function<bool(const mjData*)> healthy;  // Gymnasium's is_healthy
};

constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<Case> cases() {
  auto hopper_healthy = [](const mjData* d) {
    for (int k = 2; k < 6; ++k) if (std::abs(d->qpos[k]) >= 100) return false;
    for (int k = 0; k < 6; ++k) if (std::abs(d->qvel[k]) >= 100) return false;
    return d->qpos[1] > 0.7 && std::abs(d->qpos[2]) < 0.2;
  };
  auto walker_healthy = [](const mjData* d) {
    return d->qpos[1] > 0.8 && d->qpos[1] < 2.0 && d->qpos[2] > -1 && d->qpos[2] < 1;
  };
  auto ant_healthy = [](const mjData* d) {
    for (int k = 0; k < 15; ++k) if (!std::isfinite(d->qpos[k])) return false;
    return d->qpos[2] >= 0.2 && d->qpos[2] <= 1.0;
  };
  auto always = [](const mjData*) { return true; };
  return {
      {"Hopper-v4", "hopper.xml", 4, 1e-3, 1.0, 1, 10.0, false, hopper_healthy},
      {"Walker2d-v4", "walker2d.xml", 4, 1e-3, 1.0, 1, 10.0, false, walker_healthy},
      {"HalfCheetah-v4", "half_cheetah.xml", 5, 0.1, 0.0, 1, kInf, false, always},
      {"Swimmer-v4", "swimmer.xml", 4, 1e-4, 0.0, 2, kInf, false, always},
      {"Ant-v4", "ant.xml", 5, 0.5, 1.0, 2, kInf, true, ant_healthy},
  };
}

// One hand-built transition: a perturbed qpos0 state and an action partly outside the box, in
// the env and in the reference; reward, observation and termination must agree. clip_action:
// the pool clips the action first (ClipAction), so the reference gets and penalises the clipped
// action; otherwise the reference is Gymnasium's bare env: ctrl = the raw action (MuJoCo clamps
// it to ctrlrange) and the control cost squares the raw action.
void check_transition(const Case& c, uint64_t seed, double z_override = NAN, bool clip_action = true) {
  SCOPED_TRACE(c.id + " seed " + std::to_string(seed) + (clip_action ? "" : " raw actions"));
  auto pool = make_pool(c.id, 1, 1, clip_action);
  pool->reset(0);
  Reference ref(c.file);
  const mjModel* m = ref.m;
  core::Rng rng(seed);
  std::vector<double> qpos(static_cast<size_t>(m->nq)), qvel(static_cast<size_t>(m->nv));
  for (int k = 0; k < m->nq; ++k) qpos[k] = m->qpos0[k] + rng.uniform(-0.2, 0.2);
  for (int k = 0; k < m->nv; ++k) qvel[k] = rng.uniform(-1.0, 1.0);
  if (c.x_from_torso_xpos) {  // keep the quaternion a unit one
    double n = 0;
    for (int k = 3; k < 7; ++k) n += qpos[k] * qpos[k];
    for (int k = 3; k < 7; ++k) qpos[k] /= std::sqrt(n);
  }
  if (!std::isnan(z_override)) qpos[c.x_from_torso_xpos ? 2 : 1] = z_override;
  std::vector<float> action(static_cast<size_t>(m->nu));
  std::vector<double> clipped(action.size());
  for (size_t k = 0; k < action.size(); ++k) {
    action[k] = static_cast<float>(rng.uniform(-1.5, 1.5));
    clipped[k] = clip_action ? std::clamp(static_cast<double>(action[k]), -1.0, 1.0) : action[k];
  }

  set_state(pool->task().model(), pool->data(0), qpos, qvel);
  pool->step(action.data());

  set_state(m, ref.d, qpos, qvel);
  const double x0 = c.x_from_torso_xpos ? ref.d->xpos[3] : ref.d->qpos[0];
  ref.step(clipped, c.frame_skip);
  const double x1 = c.x_from_torso_xpos ? ref.d->xpos[3] : ref.d->qpos[0];
  const double dt = m->opt.timestep * c.frame_skip;
  double ctrl = 0;
  for (double a : clipped) ctrl += a * a;
  const bool healthy = c.healthy(ref.d);
  const double reward = (x1 - x0) / dt + c.healthy_reward - c.ctrl_weight * ctrl;

  EXPECT_EQ(pool->terminated()[0] != 0, !healthy);
  EXPECT_NEAR(pool->reward()[0], reward, 1e-5 * std::max(1.0, std::abs(reward)));
  // On termination the observation is the next episode's; the finished one's is in final_obs.
  const float* obs = healthy ? pool->obs() : pool->final_obs();
  int j = 0;
  for (int k = c.obs_skip; k < m->nq; ++k, ++j) EXPECT_EQ(obs[j], static_cast<float>(ref.d->qpos[k])) << j;
  for (int k = 0; k < m->nv; ++k, ++j) {
    EXPECT_EQ(obs[j], static_cast<float>(std::clamp(ref.d->qvel[k], -c.qvel_clip, c.qvel_clip))) << j;
  }
  EXPECT_EQ(j, pool->obs_dim());
}

TEST(Locomotion, TransitionsMatchTheMujocoReference) {
  for (const Case& c : cases()) {
    for (uint64_t seed : {1, 2, 3}) check_transition(c, seed);
  }
}

TEST(Locomotion, RawActionsAreClampedByMujocoAndPenalisedRaw) {
  for (const Case& c : cases()) {
    for (uint64_t seed : {1, 2}) check_transition(c, seed, NAN, /*clip_action=*/false);
  }
  // The two conventions differ only in the control cost: same state, same actions.
  auto clipped = make_pool("Hopper-v4", 1, 1, true);
  auto raw = make_pool("Hopper-v4", 1, 1, false);
  clipped->reset(5);
  raw->reset(5);
  const float action[3] = {2.0f, -3.0f, 0.5f};
  clipped->step(action);
  raw->step(action);
  for (int k = 0; k < clipped->obs_dim(); ++k) EXPECT_EQ(clipped->obs()[k], raw->obs()[k]) << k;
  // 1e-3 * ((4 + 9 + 0.25) - (1 + 1 + 0.25))
  EXPECT_NEAR(clipped->reward()[0] - raw->reward()[0], 1e-3 * 11.0, 1e-6);
}

TEST(Locomotion, FallenStatesTerminateAndReset) {
  const auto all = cases();
  check_transition(all[0], 4, /*z=*/0.6);  // Hopper below 0.7
  check_transition(all[1], 4, /*z=*/0.7);  // Walker2d below 0.8
  check_transition(all[4], 4, /*z=*/1.3);  // Ant above 1.0
  auto pool = make_pool("Hopper-v4");
  pool->reset(0);
  std::vector<double> qpos = {0, 0.5, 0, 0, 0, 0}, qvel(6, 0.0);
  set_state(pool->task().model(), pool->data(0), qpos, qvel);
  const float zero[3] = {0, 0, 0};
  pool->step(zero);
  EXPECT_EQ(pool->terminated()[0], 1);
  EXPECT_EQ(pool->episode_length()[0], 1);
  EXPECT_EQ(pool->episode_steps(0), 0);
  EXPECT_NEAR(pool->obs()[0], 1.25, 5e-3 + 1e-6);  // the new episode starts at qpos0 ± 5e-3
}

TEST(Locomotion, HealthPredicatesOnHandBuiltStates) {
  Hopper hopper;
  Walker2d walker;
  Ant ant;
  mjData* d = mj_makeData(hopper.model());
  auto hop = [&](std::vector<double> qpos, std::vector<double> qvel) {
    set_state(hopper.model(), d, qpos, qvel);
    return hopper.is_healthy(d);
  };
  const std::vector<double> v0(6, 0.0);
  EXPECT_TRUE(hop({0, 1.25, 0, 0, 0, 0}, v0));
  EXPECT_FALSE(hop({0, 0.7, 0, 0, 0, 0}, v0));      // z must exceed 0.7
  EXPECT_TRUE(hop({0, 0.71, 0.19, 0, 0, 0}, v0));
  EXPECT_FALSE(hop({0, 1.25, -0.2, 0, 0, 0}, v0));  // |angle| < 0.2
  EXPECT_FALSE(hop({0, 1.25, 0, 0, 0, 0}, {0, 0, 0, 100, 0, 0}));  // |state[2:]| < 100
  EXPECT_TRUE(hop({500, 1.25, 0, 0, 0, 0}, v0));  // x is not part of state[2:] ...
  EXPECT_FALSE(hop({0, 1.25, 0, 0, 0, 0}, {150, 0, 0, 0, 0, 0}));  // ... but every qvel is
  mj_deleteData(d);

  d = mj_makeData(walker.model());
  auto walk = [&](double z, double angle) {
    std::vector<double> qpos(9, 0.0);
    qpos[1] = z, qpos[2] = angle;
    set_state(walker.model(), d, qpos, std::vector<double>(9, 0.0));
    return walker.is_healthy(d);
  };
  EXPECT_TRUE(walk(1.25, 0.0));
  EXPECT_FALSE(walk(0.8, 0.0));
  EXPECT_FALSE(walk(2.0, 0.0));
  EXPECT_FALSE(walk(1.25, 1.0));
  EXPECT_TRUE(walk(1.25, -0.99));
  mj_deleteData(d);

  d = mj_makeData(ant.model());
  auto ant_at = [&](double z) {
    std::vector<double> qpos(ant.model()->qpos0, ant.model()->qpos0 + 15);
    qpos[2] = z;
    set_state(ant.model(), d, qpos, std::vector<double>(14, 0.0));
    return ant.is_healthy(d);
  };
  EXPECT_TRUE(ant_at(0.2));  // closed interval
  EXPECT_TRUE(ant_at(1.0));
  EXPECT_FALSE(ant_at(0.19));
  EXPECT_FALSE(ant_at(1.01));
  mj_deleteData(d);
}

TEST(Locomotion, V5PaysTheHealthyRewardOnlyWhileHealthy) {
  // Same model and dynamics: on a falling step v4's reward exceeds v5's by exactly 1; on a
  // healthy step they agree.
  for (double z : {0.5, 1.25}) {
    float r[2];
    for (int v : {4, 5}) {
      auto pool = make_pool("Hopper-v" + std::to_string(v));
      pool->reset(0);
      set_state(pool->task().model(), pool->data(0), {0, z, 0, 0, 0, 0}, std::vector<double>(6, 0.0));
      const float a[3] = {0.2f, -0.1f, 0.3f};
      pool->step(a);
      r[v - 4] = pool->reward()[0];
    }
    EXPECT_NEAR(r[0] - r[1], z < 0.7 ? 1.0 : 0.0, 1e-6) << "z " << z;
  }
}

TEST(Locomotion, AntV5SubtractsClippedContactForces) {
  // A torso low enough for the legs to press on the floor; the reference computes
  // 5e-4 Σ clip(cfrc_ext, ±1)² after mj_rnePostConstraint, and the v5 observation's tail.
  Reference ref("ant.xml");
  std::vector<double> qpos(ref.m->qpos0, ref.m->qpos0 + 15), qvel(14, 0.0);
  qpos[2] = 0.3;
  const std::vector<double> a = {0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5};
  std::vector<float> af(a.begin(), a.end());
  float r[2];
  std::vector<float> obs5;
  for (int v : {4, 5}) {
    auto pool = make_pool("Ant-v" + std::to_string(v));
    pool->reset(0);
    set_state(pool->task().model(), pool->data(0), qpos, qvel);
    pool->step(af.data());
    r[v - 4] = pool->reward()[0];
    if (v == 5) obs5.assign(pool->obs(), pool->obs() + 105);
  }
  set_state(ref.m, ref.d, qpos, qvel);
  ref.step(a, 5);
  mj_rnePostConstraint(ref.m, ref.d);
  double contact = 0;
  for (int k = 6; k < 6 * 14; ++k) {
    const double f = std::clamp(ref.d->cfrc_ext[k], -1.0, 1.0);
    contact += f * f;
    EXPECT_EQ(obs5[27 + (k - 6)], static_cast<float>(f)) << k;
  }
  EXPECT_GT(contact, 0.0);
  EXPECT_NEAR(r[0] - r[1], 5e-4 * contact, 1e-5);
}

TEST(Locomotion, RandomPolicyEpisodesHaveGymnasiumShape) {
  // HalfCheetah and Swimmer never terminate (every episode is truncated at 1000); a random Hopper
  // falls within a few dozen steps.
  core::Rng rng(3);
  for (const char* id : {"HalfCheetah-v4", "Swimmer-v4"}) {
    auto pool = make_pool(id, 2);
    pool->reset(1);
    for (int t = 0; t < 1000; ++t) {
      const auto a = env::testing::random_actions(*pool, rng);
      pool->step(a.data());
      for (int i = 0; i < 2; ++i) {
        EXPECT_EQ(pool->terminated()[i], 0);
        EXPECT_EQ(pool->truncated()[i], t == 999 ? 1 : 0);
      }
    }
  }
  auto hopper = make_pool("Hopper-v4", 4);
  hopper->reset(1);
  int episodes = 0, total_len = 0;
  for (int t = 0; t < 1000; ++t) {
    const auto a = env::testing::random_actions(*hopper, rng);
    hopper->step(a.data());
    for (int i = 0; i < 4; ++i) {
      if (hopper->terminated()[i]) ++episodes, total_len += hopper->episode_length()[i];
    }
  }
  ASSERT_GT(episodes, 20);
  EXPECT_LT(total_len / episodes, 100);
}

}  // namespace
}  // namespace rlpp::env::mujoco
