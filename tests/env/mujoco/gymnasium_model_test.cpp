// rlpp's MuJoCo models against Gymnasium's own model files (tests/env/mujoco/fixtures/, copied
// from the pinned Gymnasium release by scripts/gymnasium-fixtures.py). Both are compiled by the
// same MuJoCo, so the comparison is on what the physics uses, not on the XML text:
//  * Fields: options, bodies (tree, pose, mass, inertia), joints (type, axis, anchor, limits,
//    stiffness, armature, damping, friction loss), the geoms that carry mass or can touch
//    something, sites, actuators (joint, gear, ranges, gains). Names and order must agree too:
//    joint order is the qpos/qvel layout, actuator order the action layout.
//  * Stepping: from the same perturbed state, under the same controls (some outside ctrlrange,
//    so MuJoCo's clamping is exercised), Gymnasium's do_simulation on both models; qpos and
//    qvel must be equal after every env step, bit for bit where the files give the same
//    numbers (see Case::step_tol).
// Dynamically inert geoms (in the world body and unable to collide with anything, such as the
// inverted pendulums' rail and floor) and slide-joint anchors (a translation has no anchor) are
// not compared: rlpp's files leave out or simplify what only rendering uses.
#include <gtest/gtest.h>
#include <mujoco/mujoco.h>

#include <cmath>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string rlpp_model(const std::string& file) {
  return std::string(RLPP_SOURCE_DIR) + "/src/env/mujoco/assets/" + file;
}
std::string gymnasium_model(const std::string& file) {
  return std::string(RLPP_SOURCE_DIR) + "/tests/env/mujoco/fixtures/" + file;
}

struct ModelDeleter {
  void operator()(mjModel* m) const { mj_deleteModel(m); }
};
using ModelPtr = std::unique_ptr<mjModel, ModelDeleter>;
struct DataDeleter {
  void operator()(mjData* d) const { mj_deleteData(d); }
};
using DataPtr = std::unique_ptr<mjData, DataDeleter>;

ModelPtr load(const std::string& path) {
  char err[1000] = "";
  mjModel* m = mj_loadXML(path.c_str(), nullptr, err, sizeof(err));
  if (m == nullptr) throw std::runtime_error("cannot load " + path + ": " + err);
  return ModelPtr(m);
}

std::string name(const mjModel* m, mjtObj type, int id) {
  const char* n = mj_id2name(m, type, id);
  return n != nullptr ? n : "#" + std::to_string(id);
}

struct Case {
  const char* rlpp;       // file in src/env/mujoco/assets
  const char* gymnasium;  // file in tests/env/mujoco/fixtures
  int frame_skip;         // Gymnasium's, for the stepping comparison
  // Largest |difference| of qpos and qvel allowed while stepping: 0 (bit for bit) where both
  // files compile to the same numbers. Gymnasium's Hopper and Walker2d files hold coordinates
  // converted from global ones (0.19999999999999996 for 0.2), so their compiled frames differ
  // from rlpp's in the last bit and the trajectories by at most 7e-11 over 300 steps; a model
  // difference (the 0.05 armature, the flipped rooty axis) shows as 1e-5 or more at step 0.
  double step_tol;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.rlpp; }

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string s = info.param.rlpp;
  s = s.substr(0, s.find('.'));
  return s;
}

const Case kCases[] = {
    {"ant.xml", "ant.xml", 5, 0.0},
    {"half_cheetah.xml", "half_cheetah.xml", 5, 0.0},
    {"hopper.xml", "hopper.xml", 4, 1e-8},
    {"inverted_double_pendulum.xml", "inverted_double_pendulum.xml", 5, 0.0},
    {"inverted_pendulum.xml", "inverted_pendulum.xml", 2, 0.0},
    {"reacher.xml", "reacher.xml", 2, 0.0},
    {"swimmer.xml", "swimmer.xml", 4, 0.0},
    {"walker2d.xml", "walker2d.xml", 4, 1e-8},
    {"walker2d_v5.xml", "walker2d_v5.xml", 4, 1e-8},
};

// Compiled values agree exactly where both files give the same number; a few (a capsule's frame
// from `fromto` against pos/quat/size) go through different arithmetic, hence the tolerance.
constexpr double kTol = 1e-12;

class GymnasiumModel : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    ours_ = load(rlpp_model(GetParam().rlpp));
    theirs_ = load(gymnasium_model(GetParam().gymnasium));
    // Both at qpos0 with positions computed: the comparison is in the world frame, since each
    // file may put a body's own frame elsewhere (rlpp's feet sit at the capsule's centre).
    for (auto [m, d] : {std::pair{ours_.get(), &our_data_}, std::pair{theirs_.get(), &their_data_}}) {
      d->reset(mj_makeData(m));
      mj_forward(m, d->get());
    }
  }

  // Element-wise a[i] == b[i] within kTol; the message names the field and the element.
  void expect_near(const std::string& what, const mjtNum* a, const mjtNum* b, int n) {
    for (int i = 0; i < n; ++i) {
      EXPECT_NEAR(a[i], b[i], kTol) << what << "[" << i << "]: rlpp " << a[i] << ", Gymnasium " << b[i];
    }
  }

  // Whether the model lets any two geoms touch: contacts on, and not "predefined pairs only"
  // with no pairs declared.
  static bool contacts_on(const mjModel* m) {
    return !(m->opt.disableflags & mjDSBL_CONTACT) && !(m->opt.collision == mjCOL_PAIR && m->npair == 0);
  }
  // True when geom g of m can collide with some geom of another body (MuJoCo's filter:
  // contype & conaffinity in either direction; a body never collides with itself).
  static bool can_collide(const mjModel* m, int g, int h) {
    if (!contacts_on(m) || m->geom_bodyid[h] == m->geom_bodyid[g]) return false;
    return (m->geom_contype[g] & m->geom_conaffinity[h]) || (m->geom_contype[h] & m->geom_conaffinity[g]);
  }
  static bool can_collide(const mjModel* m, int g) {
    for (int h = 0; h < m->ngeom; ++h) {
      if (can_collide(m, g, h)) return true;
    }
    return false;
  }
  // The geoms of body b that matter to the dynamics, in file order: all of a moving body's
  // (they carry its mass), and the world's that something can touch.
  static std::vector<int> dynamic_geoms(const mjModel* m, int b) {
    std::vector<int> out;
    for (int g = 0; g < m->ngeom; ++g) {
      if (m->geom_bodyid[g] == b && (b != 0 || can_collide(m, g))) out.push_back(g);
    }
    return out;
  }

  // A 3x3 inertia in the world frame, R diag(I) R^T: the principal axes of a body with two
  // equal moments are not unique, the tensor is.
  static std::vector<double> world_inertia(const mjModel* m, const mjData* d, int b) {
    const mjtNum* r = d->ximat + 9 * b;
    const mjtNum* in = m->body_inertia + 3 * b;
    std::vector<double> t(9, 0.0);
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) {
        for (int k = 0; k < 3; ++k) t[3 * i + j] += r[3 * i + k] * in[k] * r[3 * j + k];
      }
    }
    return t;
  }

  struct DataHolder {
    DataPtr p;
    void reset(mjData* d) { p.reset(d); }
    mjData* get() const { return p.get(); }
  };

  ModelPtr ours_, theirs_;
  DataHolder our_data_, their_data_;
};

TEST_P(GymnasiumModel, OptionsMatch) {
  const mjOption& a = ours_->opt;
  const mjOption& b = theirs_->opt;
  EXPECT_EQ(a.timestep, b.timestep);
  expect_near("gravity", a.gravity, b.gravity, 3);
  expect_near("wind", a.wind, b.wind, 3);
  expect_near("magnetic", a.magnetic, b.magnetic, 3);
  EXPECT_EQ(a.density, b.density);
  EXPECT_EQ(a.viscosity, b.viscosity);
  EXPECT_EQ(a.impratio, b.impratio);
  EXPECT_EQ(a.tolerance, b.tolerance);
  EXPECT_EQ(a.iterations, b.iterations);
  EXPECT_EQ(a.integrator, b.integrator);
  EXPECT_EQ(a.cone, b.cone);
  EXPECT_EQ(a.jacobian, b.jacobian);
  EXPECT_EQ(a.solver, b.solver);
  EXPECT_EQ(a.enableflags, b.enableflags);
  // No contacts may be written as the flag or as geoms that cannot touch (GeomsMatch compares
  // which pairs can).
  EXPECT_EQ(a.disableflags & ~mjDSBL_CONTACT, b.disableflags & ~mjDSBL_CONTACT);
  if (contacts_on(ours_.get()) && contacts_on(theirs_.get())) EXPECT_EQ(a.collision, b.collision);
  EXPECT_EQ(ours_->ntendon, theirs_->ntendon);
  EXPECT_EQ(ours_->neq, theirs_->neq);
  EXPECT_EQ(ours_->npair, theirs_->npair);
  EXPECT_EQ(ours_->nexclude, theirs_->nexclude);
}

TEST_P(GymnasiumModel, BodiesMatch) {
  const mjModel* a = ours_.get();
  const mjModel* b = theirs_.get();
  const mjData* da = our_data_.get();
  const mjData* db = their_data_.get();
  ASSERT_EQ(a->nbody, b->nbody);
  for (int i = 1; i < a->nbody; ++i) {
    const std::string n = name(a, mjOBJ_BODY, i);
    SCOPED_TRACE("body " + n);
    // Gymnasium leaves some bodies unnamed (Ant's feet).
    if (mj_id2name(b, mjOBJ_BODY, i) != nullptr) EXPECT_EQ(n, name(b, mjOBJ_BODY, i));
    EXPECT_EQ(a->body_parentid[i], b->body_parentid[i]);
    EXPECT_NEAR(a->body_mass[i], b->body_mass[i], kTol);
    expect_near("xipos (centre of mass at qpos0)", da->xipos + 3 * i, db->xipos + 3 * i, 3);
    const std::vector<double> ia = world_inertia(a, da, i), ib = world_inertia(b, db, i);
    expect_near("inertia (world frame at qpos0)", ia.data(), ib.data(), 9);
  }
}

TEST_P(GymnasiumModel, JointsMatch) {
  const mjModel* a = ours_.get();
  const mjModel* b = theirs_.get();
  const mjData* da = our_data_.get();
  const mjData* db = their_data_.get();
  ASSERT_EQ(a->njnt, b->njnt);
  ASSERT_EQ(a->nq, b->nq);
  ASSERT_EQ(a->nv, b->nv);
  for (int j = 0; j < a->njnt; ++j) {
    const std::string n = name(a, mjOBJ_JOINT, j);
    SCOPED_TRACE("joint " + n);
    ASSERT_EQ(n, name(b, mjOBJ_JOINT, j));
    EXPECT_EQ(a->jnt_type[j], b->jnt_type[j]);
    EXPECT_EQ(a->jnt_bodyid[j], b->jnt_bodyid[j]);
    if (a->jnt_type[j] == mjJNT_HINGE || a->jnt_type[j] == mjJNT_SLIDE) {
      expect_near("jnt_axis (world frame at qpos0)", da->xaxis + 3 * j, db->xaxis + 3 * j, 3);
    }
    if (a->jnt_type[j] != mjJNT_SLIDE) {  // a translation has no anchor
      expect_near("jnt_pos (world frame at qpos0)", da->xanchor + 3 * j, db->xanchor + 3 * j, 3);
    }
    EXPECT_EQ(a->jnt_limited[j], b->jnt_limited[j]);
    if (a->jnt_limited[j]) expect_near("jnt_range", a->jnt_range + 2 * j, b->jnt_range + 2 * j, 2);
    expect_near("jnt_stiffness", a->jnt_stiffness + j, b->jnt_stiffness + j, 1);
    expect_near("jnt_margin", a->jnt_margin + j, b->jnt_margin + j, 1);
    expect_near("jnt_solref", a->jnt_solref + mjNREF * j, b->jnt_solref + mjNREF * j, mjNREF);
    expect_near("jnt_solimp", a->jnt_solimp + mjNIMP * j, b->jnt_solimp + mjNIMP * j, mjNIMP);
    EXPECT_EQ(a->jnt_qposadr[j], b->jnt_qposadr[j]);
    EXPECT_EQ(a->jnt_dofadr[j], b->jnt_dofadr[j]);
  }
  expect_near("qpos0", a->qpos0, b->qpos0, a->nq);
  expect_near("qpos_spring", a->qpos_spring, b->qpos_spring, a->nq);
  expect_near("dof_armature", a->dof_armature, b->dof_armature, a->nv);
  expect_near("dof_damping", a->dof_damping, b->dof_damping, a->nv);
  expect_near("dof_frictionloss", a->dof_frictionloss, b->dof_frictionloss, a->nv);
}

TEST_P(GymnasiumModel, GeomsMatch) {
  const mjModel* a = ours_.get();
  const mjModel* b = theirs_.get();
  const mjData* da = our_data_.get();
  const mjData* db = their_data_.get();
  // ga[body][k] and gb[body][k] are the same geom of the two files.
  std::vector<std::vector<int>> ga(static_cast<size_t>(a->nbody)), gb(static_cast<size_t>(a->nbody));
  for (int body = 0; body < a->nbody; ++body) {
    ga[body] = dynamic_geoms(a, body);
    gb[body] = dynamic_geoms(b, body);
    SCOPED_TRACE("body " + name(a, mjOBJ_BODY, body));
    ASSERT_EQ(ga[body].size(), gb[body].size());
    for (size_t k = 0; k < ga[body].size(); ++k) {
      const int i = ga[body][k], j = gb[body][k];
      SCOPED_TRACE("geom " + name(a, mjOBJ_GEOM, i) + " / " + name(b, mjOBJ_GEOM, j));
      EXPECT_EQ(a->geom_type[i], b->geom_type[j]);
      EXPECT_EQ(a->geom_condim[i], b->geom_condim[j]);
      EXPECT_EQ(a->geom_priority[i], b->geom_priority[j]);
      // A plane's extent is for rendering only: it collides as an infinite plane.
      if (a->geom_type[i] != mjGEOM_PLANE) expect_near("geom_size", a->geom_size + 3 * i, b->geom_size + 3 * j, 3);
      expect_near("geom_xpos (at qpos0)", da->geom_xpos + 3 * i, db->geom_xpos + 3 * j, 3);
      // Spheres have no orientation, and capsules, cylinders and planes only their z axis.
      const int t = a->geom_type[i];
      const bool full = t == mjGEOM_BOX || t == mjGEOM_ELLIPSOID || t == mjGEOM_MESH;
      for (int r = 0; r < 3 && t != mjGEOM_SPHERE; ++r) {
        for (int c = full ? 0 : 2; c < 3; ++c) {
          EXPECT_NEAR(da->geom_xmat[9 * i + 3 * r + c], db->geom_xmat[9 * j + 3 * r + c], kTol)
              << "geom_xmat (at qpos0) row " << r << " column " << c;
        }
      }
      expect_near("geom_friction", a->geom_friction + 3 * i, b->geom_friction + 3 * j, 3);
      expect_near("geom_solref", a->geom_solref + mjNREF * i, b->geom_solref + mjNREF * j, mjNREF);
      expect_near("geom_solimp", a->geom_solimp + mjNIMP * i, b->geom_solimp + mjNIMP * j, mjNIMP);
      expect_near("geom_solmix", a->geom_solmix + i, b->geom_solmix + j, 1);
      expect_near("geom_margin", a->geom_margin + i, b->geom_margin + j, 1);
      expect_near("geom_gap", a->geom_gap + i, b->geom_gap + j, 1);
    }
  }
  // The same pairs of geoms can touch.
  for (int body = 0; body < a->nbody; ++body) {
    for (size_t k = 0; k < ga[body].size(); ++k) {
      for (int other = 0; other < a->nbody; ++other) {
        for (size_t l = 0; l < ga[other].size(); ++l) {
          EXPECT_EQ(can_collide(a, ga[body][k], ga[other][l]), can_collide(b, gb[body][k], gb[other][l]))
              << "contact between geom " << name(a, mjOBJ_GEOM, ga[body][k]) << " and geom "
              << name(a, mjOBJ_GEOM, ga[other][l]);
        }
      }
    }
  }
}

TEST_P(GymnasiumModel, SitesMatch) {
  const mjModel* a = ours_.get();
  const mjModel* b = theirs_.get();
  for (int i = 0; i < a->nsite; ++i) {
    const std::string n = name(a, mjOBJ_SITE, i);
    SCOPED_TRACE("site " + n);
    const int j = mj_name2id(b, mjOBJ_SITE, n.c_str());
    ASSERT_GE(j, 0) << "Gymnasium's model has no site " << n;
    EXPECT_EQ(i, j);  // tasks read sites by index
    EXPECT_EQ(name(a, mjOBJ_BODY, a->site_bodyid[i]), name(b, mjOBJ_BODY, b->site_bodyid[j]));
    expect_near("site_pos", a->site_pos + 3 * i, b->site_pos + 3 * j, 3);
    expect_near("site_quat", a->site_quat + 4 * i, b->site_quat + 4 * j, 4);
  }
}

TEST_P(GymnasiumModel, ActuatorsMatch) {
  const mjModel* a = ours_.get();
  const mjModel* b = theirs_.get();
  ASSERT_EQ(a->nu, b->nu);
  for (int k = 0; k < a->nu; ++k) {
    SCOPED_TRACE("actuator " + std::to_string(k));
    EXPECT_EQ(a->actuator_trntype[k], b->actuator_trntype[k]);
    ASSERT_EQ(a->actuator_trntype[k], mjTRN_JOINT);
    EXPECT_EQ(name(a, mjOBJ_JOINT, a->actuator_trnid[2 * k]), name(b, mjOBJ_JOINT, b->actuator_trnid[2 * k]));
    EXPECT_EQ(a->actuator_dyntype[k], b->actuator_dyntype[k]);
    EXPECT_EQ(a->actuator_gaintype[k], b->actuator_gaintype[k]);
    EXPECT_EQ(a->actuator_biastype[k], b->actuator_biastype[k]);
    expect_near("actuator_gear", a->actuator_gear + 6 * k, b->actuator_gear + 6 * k, 6);
    expect_near("actuator_gainprm", a->actuator_gainprm + mjNGAIN * k, b->actuator_gainprm + mjNGAIN * k, mjNGAIN);
    expect_near("actuator_biasprm", a->actuator_biasprm + mjNBIAS * k, b->actuator_biasprm + mjNBIAS * k, mjNBIAS);
    EXPECT_EQ(a->actuator_ctrllimited[k], b->actuator_ctrllimited[k]);
    expect_near("actuator_ctrlrange", a->actuator_ctrlrange + 2 * k, b->actuator_ctrlrange + 2 * k, 2);
    EXPECT_EQ(a->actuator_forcelimited[k], b->actuator_forcelimited[k]);
    if (a->actuator_forcelimited[k]) {
      expect_near("actuator_forcerange", a->actuator_forcerange + 2 * k, b->actuator_forcerange + 2 * k, 2);
    }
  }
}

// Gymnasium's do_simulation on both models from the same state under the same controls.
TEST_P(GymnasiumModel, SteppingMatches) {
  const mjModel* a = ours_.get();
  const mjModel* b = theirs_.get();
  ASSERT_EQ(a->nq, b->nq);
  ASSERT_EQ(a->nv, b->nv);
  ASSERT_EQ(a->nu, b->nu);
  DataPtr da(mj_makeData(a)), db(mj_makeData(b));
  // qpos0 plus a fixed perturbation (not the reset noise: any state will do, and a tilted,
  // moving start reaches contacts and limits sooner).
  for (mjData* d : {da.get(), db.get()}) {
    const mjModel* m = d == da.get() ? a : b;
    for (int k = 0; k < m->nq; ++k) d->qpos[k] = m->qpos0[k] + 0.05 * std::sin(1.0 + 0.7 * k);
    for (int k = 0; k < m->nv; ++k) d->qvel[k] = 0.3 * std::cos(0.5 + 1.3 * k);
    if (m->jnt_type[0] == mjJNT_FREE) mju_normalize4(d->qpos + 3);
    mj_forward(m, d);
  }
  const int steps = 300;
  for (int t = 0; t < steps; ++t) {
    for (int k = 0; k < a->nu; ++k) {
      const double lo = a->actuator_ctrlrange[2 * k], hi = a->actuator_ctrlrange[2 * k + 1];
      // A slow sweep reaching 1.4x the range, so clamping is part of the comparison.
      const double u = 0.5 * (lo + hi) + 0.7 * (hi - lo) * std::sin(0.05 * t + 2.1 * k);
      da->ctrl[k] = u;
      db->ctrl[k] = u;
    }
    for (int s = 0; s < GetParam().frame_skip; ++s) {
      mj_step(a, da.get());
      mj_step(b, db.get());
    }
    const double tol = GetParam().step_tol;
    for (int k = 0; k < a->nq; ++k) {
      ASSERT_NEAR(da->qpos[k], db->qpos[k], tol) << "qpos[" << k << "] at env step " << t;
    }
    for (int k = 0; k < a->nv; ++k) {
      ASSERT_NEAR(da->qvel[k], db->qvel[k], tol) << "qvel[" << k << "] at env step " << t;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Assets, GymnasiumModel, ::testing::ValuesIn(kCases), case_name);

// The fixtures say which Gymnasium they come from; the pin in scripts/requirements-py.txt (what
// scripts/setup-deps.sh installs into .venv) must agree.
TEST(GymnasiumFixtures, VersionMatchesThePin) {
  std::ifstream in(gymnasium_model("GYMNASIUM_VERSION"));
  std::string version;
  in >> version;
  std::ifstream pins(std::string(RLPP_SOURCE_DIR) + "/scripts/requirements-py.txt");
  std::stringstream text;
  text << pins.rdbuf();
  EXPECT_NE(text.str().find("gymnasium==" + version), std::string::npos)
      << "fixtures are from gymnasium " << version << ", scripts/requirements-py.txt pins another";
}

}  // namespace
