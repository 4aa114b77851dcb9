// The shifted simulator of VecEnvOptions (gravity_scale, friction_scale; H2O, arXiv 2206.13464):
// the scaled fields reach the compiled model (read back against the file loaded straight through
// MuJoCo), a step follows a reference model scaled by hand, the dynamics differ from the exact
// model's, scales of 1 leave the model bit-equal, and bad values are refused.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "mujoco_test_util.h"
#include "rlpp/core/error.h"

namespace rlpp::env::mujoco {
namespace {

using testing::Reference;

std::unique_ptr<MujocoPool> shifted_pool(const std::string& id, double gravity, double friction) {
  VecEnvOptions opts;
  opts.gravity_scale = gravity;
  opts.friction_scale = friction;
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

TEST(ShiftedDynamics, BadValuesAreRefused) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (double bad : {0.0, -2.0, nan, std::numeric_limits<double>::infinity()}) {
    EXPECT_THROW(shifted_pool("Hopper-v4", bad, 1.0), core::UserError) << bad;
    EXPECT_THROW(shifted_pool("Hopper-v4", 1.0, bad), core::UserError) << bad;
  }
  VecEnvOptions opts;
  opts.gravity_scale = 2.0;
  try {
    make("CartPole-v1", opts);
    ADD_FAILURE() << "CartPole-v1 accepted gravity_scale";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("MuJoCo"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rlpp::env::mujoco
