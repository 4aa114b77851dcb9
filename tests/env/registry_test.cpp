#include <gtest/gtest.h>

#include "rlpp/core/error.h"
#include "rlpp/env/registry.h"

namespace rlpp::env {
namespace {

TEST(EnvRegistry, EveryClassicControlIdIsRegistered) {
  struct Row {
    const char* id;
    int64_t obs_dim, act_dim;
    bool discrete;
    int max_steps;
  };
  const Row rows[] = {{"CartPole-v1", 4, 1, true, 500},
                      {"Acrobot-v1", 6, 1, true, 500},
                      {"MountainCar-v0", 2, 1, true, 200},
                      {"MountainCarContinuous-v0", 2, 1, false, 999},
                      {"Pendulum-v1", 3, 1, false, 200}};
  for (const Row& r : rows) {
    ASSERT_TRUE(registry().contains(r.id)) << r.id;
    EXPECT_FALSE(registry().summary(r.id).empty());
    auto env = make(r.id, {/*num_envs=*/3, /*num_threads=*/2});
    EXPECT_EQ(env->spec().id, r.id);
    EXPECT_EQ(env->num_envs(), 3);
    EXPECT_EQ(env->obs_dim(), r.obs_dim);
    EXPECT_EQ(env->act_dim(), r.act_dim);
    EXPECT_EQ(env->spec().action.is_discrete(), r.discrete);
    EXPECT_EQ(env->spec().max_episode_steps, r.max_steps);
  }
#ifdef RLPP_HAVE_MUJOCO
  const size_t mujoco_ids = 16;  // 8 MuJoCo tasks x {v4, v5}, tested in tests/env/mujoco/
#else
  const size_t mujoco_ids = 0;
#endif
  EXPECT_EQ(registry().names().size(), 5u + mujoco_ids);
}

TEST(EnvRegistry, UnknownIdListsTheValidOnes) {
  try {
    make("CartPole-v2", {});
    FAIL() << "no error";
  } catch (const core::UserError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("unknown environment 'CartPole-v2'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("did you mean 'CartPole-v1'"), std::string::npos) << msg;
    for (const char* id : {"Acrobot-v1", "CartPole-v1", "MountainCar-v0", "MountainCarContinuous-v0",
                           "Pendulum-v1"}) {
      EXPECT_NE(msg.find(id), std::string::npos) << msg;
    }
  }
}

}  // namespace
}  // namespace rlpp::env
