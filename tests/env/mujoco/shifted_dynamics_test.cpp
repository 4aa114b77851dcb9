// The shifted simulator of VecEnvOptions (gravity_scale, friction_scale, action_noise_std; H2O,
// arXiv 2206.13464): the scaled fields reach the compiled model (read back against the file loaded
// straight through MuJoCo), a step follows a reference model scaled by hand, the dynamics differ
// from the exact model's, scales of 1 leave the model bit-equal; the joint noise is N(0, σ²) on
// the executed control (sample moments), the step and reward follow a reference driven with that
// control, the noise survives save/load and any thread split; bad values are refused.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "mujoco_test_util.h"
#include "rlpp/core/error.h"

namespace rlpp::env::mujoco {
namespace {

using testing::Reference;

std::unique_ptr<MujocoPool> shifted_pool(const std::string& id, double gravity, double friction,
                                         double noise = 0.0, int num_envs = 1, int num_threads = 1) {
  VecEnvOptions opts;
  opts.gravity_scale = gravity;
  opts.friction_scale = friction;
  opts.action_noise_std = noise;
  opts.num_envs = num_envs;
  opts.num_threads = num_threads;
  std::unique_ptr<VecEnv> env = make(id, opts);
  auto* pool = dynamic_cast<MujocoPool*>(env.get());
  if (pool == nullptr) throw std::runtime_error(id + " is not a MujocoPool");
  env.release();
  return std::unique_ptr<MujocoPool>(pool);
}

TEST(ShiftedDynamics, ScaledFieldsReachTheModel) {
  Reference ref("hopper.xml");
  auto pool = shifted_pool("Hopper-v4", 2.0, 0.3);
  const mjModel* m = pool->task().model();
  ASSERT_EQ(m->ngeom, ref.m->ngeom);
  EXPECT_DOUBLE_EQ(ref.m->opt.gravity[2], -9.81);
  for (int k = 0; k < 3; ++k) EXPECT_EQ(m->opt.gravity[k], 2.0 * ref.m->opt.gravity[k]) << k;
  for (int g = 0; g < 3 * m->ngeom; ++g) EXPECT_EQ(m->geom_friction[g], 0.3 * ref.m->geom_friction[g]) << g;
  // the foot's sliding friction in the file is 2.0
  const int foot = mj_name2id(m, mjOBJ_GEOM, "foot_geom");
  ASSERT_GE(foot, 0);
  EXPECT_DOUBLE_EQ(m->geom_friction[3 * foot], 0.6);
  // nothing else moved: masses, timestep
  for (int b = 0; b < m->nbody; ++b) EXPECT_EQ(m->body_mass[b], ref.m->body_mass[b]);
  EXPECT_EQ(m->opt.timestep, ref.m->opt.timestep);
}

TEST(ShiftedDynamics, ScalesOfOneLeaveTheModelExact) {
  Reference ref("hopper.xml");
  auto pool = shifted_pool("Hopper-v4", 1.0, 1.0);
  const mjModel* m = pool->task().model();
  for (int k = 0; k < 3; ++k) EXPECT_EQ(m->opt.gravity[k], ref.m->opt.gravity[k]);
  for (int g = 0; g < 3 * m->ngeom; ++g) EXPECT_EQ(m->geom_friction[g], ref.m->geom_friction[g]);
}

// Same start state and actions: the doubled-gravity pool follows a reference whose gravity was
// doubled by hand, step for step, and leaves the exact model's trajectory.
TEST(ShiftedDynamics, StepsFollowAHandScaledReferenceAndDiffer) {
  Reference scaled("hopper.xml"), exact("hopper.xml");
  for (int k = 0; k < 3; ++k) scaled.m->opt.gravity[k] *= 2.0;
  auto pool = shifted_pool("Hopper-v4", 2.0, 1.0);
  pool->reset(3);
  const mjModel* m = pool->task().model();
  std::vector<double> qpos(pool->data(0)->qpos, pool->data(0)->qpos + m->nq);
  std::vector<double> qvel(pool->data(0)->qvel, pool->data(0)->qvel + m->nv);
  testing::set_state(scaled.m, scaled.d, qpos, qvel);
  testing::set_state(exact.m, exact.d, qpos, qvel);
  const std::vector<float> a = {0.3f, -0.5f, 0.8f};
  const std::vector<double> ad(a.begin(), a.end());
  double max_gap = 0;
  for (int s = 0; s < 10; ++s) {
    pool->step(a.data());
    scaled.step(ad, 4);
    exact.step(ad, 4);
    for (int k = 0; k < m->nq; ++k) {
      EXPECT_NEAR(pool->data(0)->qpos[k], scaled.d->qpos[k], 1e-12) << "step " << s << " qpos " << k;
      max_gap = std::max(max_gap, std::abs(pool->data(0)->qpos[k] - exact.d->qpos[k]));
    }
  }
  EXPECT_GT(max_gap, 1e-3);  // the hopper falls faster under doubled gravity
}

// ctrl after a step is the executed control (mj_resetData zeroes it, so copies that ended their
// episode in this step are skipped): ctrl − a over 64 copies × 25 steps × 3 joints has mean 0,
// std σ and uncorrelated components (a kept inside the box, so the box clip does not act).
TEST(JointNoise, ExecutedControlIsTheActionPlusGaussianNoise) {
  const double sigma = 0.3;
  const int n = 64;
  auto pool = shifted_pool("Hopper-v4", 1.0, 1.0, sigma, n);
  pool->reset(11);
  const std::vector<float> a1 = {0.3f, -0.5f, 0.1f};
  std::vector<float> actions;
  for (int i = 0; i < n; ++i) actions.insert(actions.end(), a1.begin(), a1.end());
  std::vector<std::vector<double>> eps(3);  // (3, m)
  for (int s = 0; s < 25; ++s) {
    pool->step(actions.data());
    for (int i = 0; i < n; ++i) {
      if (pool->terminated()[i] || pool->truncated()[i]) continue;
      for (size_t k = 0; k < 3; ++k) eps[k].push_back(pool->data(i)->ctrl[k] - a1[k]);
    }
  }
  const size_t m = eps[0].size();
  ASSERT_GT(m, 1000u);
  const double dm = static_cast<double>(m);
  std::vector<double> mean(3, 0.0), sd(3, 0.0);
  for (size_t k = 0; k < 3; ++k) {
    for (double e : eps[k]) mean[k] += e / dm;
    for (double e : eps[k]) sd[k] += (e - mean[k]) * (e - mean[k]);
    sd[k] = std::sqrt(sd[k] / (dm - 1));
    // standard errors: mean σ/√m ≈ 0.0055, std σ/√(2m) ≈ 0.004
    EXPECT_LT(std::abs(mean[k]), 5 * sigma / std::sqrt(dm)) << k;
    EXPECT_NEAR(sd[k], sigma, 5 * sigma / std::sqrt(2.0 * dm)) << k;
  }
  for (size_t j = 0; j < 3; ++j) {
    for (size_t k = j + 1; k < 3; ++k) {
      double c = 0;
      for (size_t r = 0; r < m; ++r) c += (eps[j][r] - mean[j]) * (eps[k][r] - mean[k]);
      const double rho = c / (dm - 1) / (sd[j] * sd[k]);
      EXPECT_LT(std::abs(rho), 5 / std::sqrt(dm)) << j << "," << k;
    }
  }
}

// One noisy step from the pool's start state equals a reference MuJoCo model driven with the
// control the pool executed, and the reward is Hopper's with that control:
// Δx/dt + 1 (healthy) − 1e-3 |ctrl|², dt = 4 × 0.002.
TEST(JointNoise, StepAndRewardFollowTheExecutedControl) {
  Reference ref("hopper.xml");
  auto pool = shifted_pool("Hopper-v4", 1.0, 1.0, 0.5);
  pool->reset(4);
  const mjModel* m = pool->task().model();
  const std::vector<float> a = {0.2f, 0.9f, -0.4f};
  for (int s = 0; s < 5; ++s) {
    std::vector<double> qpos(pool->data(0)->qpos, pool->data(0)->qpos + m->nq);
    std::vector<double> qvel(pool->data(0)->qvel, pool->data(0)->qvel + m->nv);
    testing::set_state(ref.m, ref.d, qpos, qvel);
    pool->step(a.data());
    ASSERT_FALSE(pool->terminated()[0] || pool->truncated()[0]);
    std::vector<double> ctrl(pool->data(0)->ctrl, pool->data(0)->ctrl + 3);
    double gap = 0, ctrl_sq = 0;
    for (int k = 0; k < 3; ++k) {
      gap += std::abs(ctrl[static_cast<size_t>(k)] - a[static_cast<size_t>(k)]);
      ctrl_sq += ctrl[static_cast<size_t>(k)] * ctrl[static_cast<size_t>(k)];
    }
    EXPECT_GT(gap, 1e-3) << "step " << s;  // the noise acted
    ref.step(ctrl, 4);
    for (int k = 0; k < m->nq; ++k) EXPECT_NEAR(pool->data(0)->qpos[k], ref.d->qpos[k], 1e-12) << s << " qpos " << k;
    const double dt = 4 * ref.m->opt.timestep;
    const double expect = (ref.d->qpos[0] - qpos[0]) / dt + 1.0 - 1e-3 * ctrl_sq;
    EXPECT_NEAR(pool->reward()[0], expect, 1e-5) << "step " << s;
  }
}

// The noise comes from each copy's generator, which the saved state carries: a pool loaded from
// a save continues bit-identically, and 1 or 3 stepping threads give the same observations.
TEST(JointNoise, SurvivesSaveLoadAndAnyThreadSplit) {
  const std::vector<float> a = {0.1f, -0.2f, 0.3f, 0.1f, -0.2f, 0.3f, 0.1f, -0.2f, 0.3f, 0.1f, -0.2f, 0.3f};
  auto one = shifted_pool("Hopper-v4", 1.0, 1.0, 0.4, 4, 1);
  auto three = shifted_pool("Hopper-v4", 1.0, 1.0, 0.4, 4, 3);
  auto quiet = shifted_pool("Hopper-v4", 1.0, 1.0, 0.0, 4, 1);
  one->reset(9);
  three->reset(9);
  quiet->reset(9);
  for (int s = 0; s < 3; ++s) {
    one->step(a.data());
    three->step(a.data());
    quiet->step(a.data());
  }
  std::stringstream saved;
  one->save(saved);
  const int64_t floats = 4 * one->obs_dim();
  for (int s = 0; s < 6; ++s) {
    one->step(a.data());
    three->step(a.data());
    quiet->step(a.data());
  }
  const std::vector<float> after(one->obs(), one->obs() + floats);
  EXPECT_EQ(after, std::vector<float>(three->obs(), three->obs() + floats));
  EXPECT_NE(after, std::vector<float>(quiet->obs(), quiet->obs() + floats));  // the noise acted
  auto loaded = shifted_pool("Hopper-v4", 1.0, 1.0, 0.4, 4, 1);
  loaded->load(saved);
  for (int s = 0; s < 6; ++s) loaded->step(a.data());
  EXPECT_EQ(after, std::vector<float>(loaded->obs(), loaded->obs() + floats));
}

TEST(ShiftedDynamics, BadValuesAreRefused) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (double bad : {0.0, -2.0, nan, std::numeric_limits<double>::infinity()}) {
    EXPECT_THROW(shifted_pool("Hopper-v4", bad, 1.0), core::UserError) << bad;
    EXPECT_THROW(shifted_pool("Hopper-v4", 1.0, bad), core::UserError) << bad;
  }
  for (double bad : {-0.1, nan, std::numeric_limits<double>::infinity()}) {
    try {
      shifted_pool("Hopper-v4", 1.0, 1.0, bad);
      ADD_FAILURE() << "Hopper-v4 accepted action_noise_std " << bad;
    } catch (const core::UserError& e) {
      EXPECT_NE(std::string(e.what()).find("action_noise_std"), std::string::npos) << e.what();
    }
  }
  VecEnvOptions gravity, noise;
  gravity.gravity_scale = 2.0;
  noise.action_noise_std = 0.1;
  for (const VecEnvOptions& opts : {gravity, noise}) {
    try {
      make("CartPole-v1", opts);
      ADD_FAILURE() << "CartPole-v1 accepted a shifted simulator";
    } catch (const core::UserError& e) {
      EXPECT_NE(std::string(e.what()).find("MuJoCo"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace rlpp::env::mujoco
