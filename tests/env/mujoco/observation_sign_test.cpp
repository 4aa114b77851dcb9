// The signs of the planar tasks' torso angle and angular velocity in the observation, against
// the geometry: Gymnasium's rooty hinge turns about +y, so leaning the torso forward (its top
// towards +x, the walking direction) is a positive angle, and pitching forward a positive
// angular velocity. The lean and the pitch rate are read from MuJoCo's world-frame results
// (body orientation, mj_objectVelocity), not from qpos; Gymnasium's own model file, stepped to
// the same state, must lean the same way.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "env/mujoco/mujoco_test_util.h"

namespace rlpp::env::mujoco {
namespace {

using testing::make_pool;

struct PlanarCase {
  const char* id;
  const char* gymnasium_file;  // in tests/env/mujoco/fixtures
};

void PrintTo(const PlanarCase& c, std::ostream* os) { *os << c.id; }

// The torso's lean: the x component of its long (z) axis in the world frame; > 0 is forward.
double lean(const mjModel* m, const mjData* d) {
  const int torso = mj_name2id(m, mjOBJ_BODY, "torso");
  return d->xmat[9 * torso + 2];
}

// The torso's pitch rate about world +y; > 0 turns its top towards +x.
double pitch_rate(const mjModel* m, const mjData* d) {
  const int torso = mj_name2id(m, mjOBJ_BODY, "torso");
  mjtNum v[6];  // (angular, linear), world frame
  mj_objectVelocity(m, d, mjOBJ_BODY, torso, v, 0);
  return v[1];
}

class ObservationSign : public ::testing::TestWithParam<PlanarCase> {};

TEST_P(ObservationSign, ForwardLeanAndPitchArePositive) {
  auto pool = make_pool(GetParam().id);
  const mjModel* m = pool->task().model();
  mjData* d = pool->data(0);
  // qpos = (rootx, rootz, rooty, joints...): observation = (qpos[1:], qvel), so the angle is
  // obs[1] and its rate obs[nq - 1 + 2].
  const int rate_index = m->nq - 1 + 2;
  std::vector<float> obs(static_cast<size_t>(pool->obs_dim()));
  for (double sign : {1.0, -1.0}) {
    std::vector<double> qpos(m->qpos0, m->qpos0 + m->nq), qvel(static_cast<size_t>(m->nv), 0.0);
    qpos[2] = 0.3 * sign;
    qvel[2] = 0.5 * sign;
    testing::set_state(m, d, qpos, qvel);
    pool->task().observe(d, obs.data());
    SCOPED_TRACE("rooty = " + std::to_string(qpos[2]));
    EXPECT_GT(lean(m, d) * sign, 0.1);  // sin(0.3) = 0.296 forward for sign = +1
    EXPECT_GT(pitch_rate(m, d) * sign, 0.0);
    EXPECT_FLOAT_EQ(obs[1], static_cast<float>(0.3 * sign));
    EXPECT_FLOAT_EQ(obs[static_cast<size_t>(rate_index)], static_cast<float>(0.5 * sign));

    // Gymnasium's model in the same (qpos, qvel): the same lean and pitch.
    char err[1000] = "";
    const std::string path = std::string(RLPP_SOURCE_DIR) + "/tests/env/mujoco/fixtures/" + GetParam().gymnasium_file;
    mjModel* gm = mj_loadXML(path.c_str(), nullptr, err, sizeof(err));
    ASSERT_NE(gm, nullptr) << err;
    mjData* gd = mj_makeData(gm);
    testing::set_state(gm, gd, qpos, qvel);
    EXPECT_NEAR(lean(gm, gd), lean(m, d), 1e-12);
    EXPECT_NEAR(pitch_rate(gm, gd), pitch_rate(m, d), 1e-12);
    mj_deleteData(gd);
    mj_deleteModel(gm);
  }
}

INSTANTIATE_TEST_SUITE_P(Planar, ObservationSign,
                         ::testing::Values(PlanarCase{"Hopper-v4", "hopper.xml"},
                                           PlanarCase{"Walker2d-v4", "walker2d.xml"},
                                           PlanarCase{"Walker2d-v5", "walker2d_v5.xml"},
                                           PlanarCase{"HalfCheetah-v4", "half_cheetah.xml"}),
                         [](const ::testing::TestParamInfo<PlanarCase>& info) {
                           std::string s = info.param.id;
                           for (char& c : s) if (c == '-') c = '_';
                           return s;
                         });

}  // namespace
}  // namespace rlpp::env::mujoco
