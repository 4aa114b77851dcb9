// MujocoPool and model loading: every registered MuJoCo id loads with Gymnasium's dimensions and
// action boxes; masses follow from the capsule geometry (an independent volume formula); seeding and thread-count determinism; save/load;
// clear errors for missing, malformed and mismatched model files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "../env_test_util.h"
#include "mujoco_test_util.h"
#include "rlpp/core/error.h"

namespace rlpp::env::mujoco {
namespace {

using env::testing::Buffers;
using env::testing::random_actions;
using env::testing::run;
using env::testing::snapshot;
using testing::asset;
using testing::make_pool;

struct Dims {
  std::string id;
  int obs, act;
  float act_high;
  int max_steps;
};

TEST(MujocoPool, EveryTaskLoadsWithGymnasiumDimensions) {
  const std::vector<Dims> table = {
      {"Hopper-v4", 11, 3, 1.0f, 1000},        {"Hopper-v5", 11, 3, 1.0f, 1000},
      {"HalfCheetah-v4", 17, 6, 1.0f, 1000},   {"HalfCheetah-v5", 17, 6, 1.0f, 1000},
      {"Walker2d-v4", 17, 6, 1.0f, 1000},      {"Walker2d-v5", 17, 6, 1.0f, 1000},
      {"Ant-v4", 27, 8, 1.0f, 1000},           {"Ant-v5", 105, 8, 1.0f, 1000},
      {"Swimmer-v4", 8, 2, 1.0f, 1000},        {"Swimmer-v5", 8, 2, 1.0f, 1000},
      {"InvertedPendulum-v4", 4, 1, 3.0f, 1000}, {"InvertedPendulum-v5", 4, 1, 3.0f, 1000},
      {"InvertedDoublePendulum-v4", 11, 1, 1.0f, 1000},
      {"InvertedDoublePendulum-v5", 9, 1, 1.0f, 1000},
      {"Reacher-v4", 11, 2, 1.0f, 50},         {"Reacher-v5", 10, 2, 1.0f, 50},
  };
  for (const Dims& t : table) {
    SCOPED_TRACE(t.id);
    auto pool = make_pool(t.id, 2);
    EXPECT_EQ(pool->obs_dim(), t.obs);
    EXPECT_EQ(pool->act_dim(), t.act);
    EXPECT_EQ(pool->spec().max_episode_steps, t.max_steps);
    for (int k = 0; k < t.act; ++k) {
      EXPECT_EQ(pool->spec().action.low[k], -t.act_high);
      EXPECT_EQ(pool->spec().action.high[k], t.act_high);
    }
    pool->reset(3);
    for (int64_t k = 0; k < 2 * pool->obs_dim(); ++k) EXPECT_TRUE(std::isfinite(pool->obs()[k]));
    core::Rng rng(5);
    run(*pool, rng, 20);
    for (int64_t k = 0; k < 2 * pool->obs_dim(); ++k) EXPECT_TRUE(std::isfinite(pool->obs()[k]));
  }
}

// Capsule mass = ρ (π r² L + 4/3 π r³) for a capsule of radius r and cylinder length L.
double capsule_mass(double rho, double r, double len) {
  return rho * (M_PI * r * r * len + 4.0 / 3.0 * M_PI * r * r * r);
}

TEST(MujocoPool, MassesFollowFromGeometry) {
  {  // Hopper: torso, thigh, leg, foot capsules of density 1000.
    testing::Reference ref("hopper.xml");
    const double formula[5] = {0.0, capsule_mass(1000, 0.05, 0.4), capsule_mass(1000, 0.05, 0.45),
                               capsule_mass(1000, 0.04, 0.5), capsule_mass(1000, 0.06, 0.39)};
    ASSERT_EQ(ref.m->nbody, 5);
    for (int b = 0; b < 5; ++b) {
      EXPECT_NEAR(ref.m->body_mass[b], formula[b], 1e-9) << "body " << b;
    }
  }
  {  // Walker2d: torso, then the right and the left chains are identical in mass.
    testing::Reference ref("walker2d.xml");
    ASSERT_EQ(ref.m->nbody, 8);
    const double chain[3] = {capsule_mass(1000, 0.05, 0.45), capsule_mass(1000, 0.04, 0.5),
                             capsule_mass(1000, 0.06, 0.2)};
    EXPECT_NEAR(ref.m->body_mass[1], capsule_mass(1000, 0.05, 0.4), 1e-9);
    for (int k = 0; k < 3; ++k) {
      EXPECT_NEAR(ref.m->body_mass[2 + k], chain[k], 1e-9);
      EXPECT_NEAR(ref.m->body_mass[5 + k], chain[k], 1e-9);
    }
  }
  {  // HalfCheetah: settotalmass = 14.
    testing::Reference ref("half_cheetah.xml");
    double total = 0;
    for (int b = 0; b < ref.m->nbody; ++b) total += ref.m->body_mass[b];
    EXPECT_NEAR(total, 14.0, 1e-9);
    EXPECT_EQ(ref.m->nbody, 8);
  }
  {  // Ant: sphere torso (ρ 5, r 0.25) and 4 legs of capsules r 0.08, lengths 0.2√2 ×2, 0.4√2.
    testing::Reference ref("ant.xml");
    EXPECT_EQ(ref.m->nbody, 14);
    const double sphere = 5.0 * 4.0 / 3.0 * M_PI * std::pow(0.25, 3);
    const double legs = 4 * (2 * capsule_mass(5, 0.08, 0.2 * std::sqrt(2.0)) +
                             capsule_mass(5, 0.08, 0.4 * std::sqrt(2.0)));
    double total = 0;
    for (int b = 0; b < ref.m->nbody; ++b) total += ref.m->body_mass[b];
    EXPECT_NEAR(total, sphere + legs, 1e-9);
  }
  {  // Swimmer: three capsules r 0.1, L 1, ρ 1000.
    testing::Reference ref("swimmer.xml");
    for (int b = 1; b < 4; ++b) EXPECT_NEAR(ref.m->body_mass[b], capsule_mass(1000, 0.1, 1.0), 1e-9);
  }
}

TEST(MujocoPool, GearsAndTimestepsMatchGymnasium) {
  struct G { const char* file; double timestep; std::vector<double> gear; };
  const std::vector<G> table = {
      {"hopper.xml", 0.002, {200, 200, 200}},
      {"walker2d.xml", 0.002, {100, 100, 100, 100, 100, 100}},
      {"half_cheetah.xml", 0.01, {120, 90, 60, 120, 60, 30}},
      {"ant.xml", 0.01, {150, 150, 150, 150, 150, 150, 150, 150}},
      {"swimmer.xml", 0.01, {150, 150}},
      {"inverted_pendulum.xml", 0.02, {100}},
      {"inverted_double_pendulum.xml", 0.01, {500}},
      {"reacher.xml", 0.01, {200, 200}},
  };
  for (const G& g : table) {
    SCOPED_TRACE(g.file);
    testing::Reference ref(g.file);
    EXPECT_EQ(ref.m->opt.timestep, g.timestep);
    ASSERT_EQ(ref.m->nu, static_cast<int>(g.gear.size()));
    for (int k = 0; k < ref.m->nu; ++k) EXPECT_EQ(ref.m->actuator_gear[6 * k], g.gear[static_cast<size_t>(k)]);
  }
}

TEST(MujocoPool, DeterministicPerSeedForAnyThreadCount) {
  for (const char* id : {"Hopper-v4", "Ant-v4"}) {
    SCOPED_TRACE(id);
    std::vector<std::vector<Buffers>> results;
    for (int threads : {1, 2, 3}) {
      auto pool = make_pool(id, 5, threads);
      pool->reset(11);
      core::Rng rng(7);
      results.push_back(run(*pool, rng, 60));
    }
    EXPECT_TRUE(results[0] == results[1]);
    EXPECT_TRUE(results[0] == results[2]);
    // copy i is seeded with seed + i: copy 1 of seed 11 is copy 0 of seed 12.
    auto a = make_pool(id, 2), b = make_pool(id, 1);
    a->reset(11);
    b->reset(12);
    for (int64_t k = 0; k < a->obs_dim(); ++k) EXPECT_EQ(a->obs()[a->obs_dim() + k], b->obs()[k]);
  }
}

TEST(MujocoPool, SaveLoadResumesBitIdentically) {
  auto pool = make_pool("Hopper-v4", 3);
  pool->reset(2);
  core::Rng rng(1);
  run(*pool, rng, 37);
  const std::string state = env::testing::save_to_string(*pool);
  core::Rng rng_a(9), rng_b(9);
  const auto first = run(*pool, rng_a, 50);
  auto other = make_pool("Hopper-v4", 3);
  env::testing::load_from_string(*other, state);
  const auto second = run(*other, rng_b, 50);
  EXPECT_TRUE(first == second);
  // A state of another task is refused, naming both.
  auto walker = make_pool("Walker2d-v4", 3);
  try {
    env::testing::load_from_string(*walker, state);
    FAIL() << "loading a Hopper state into Walker2d should fail";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("Hopper-v4"), std::string::npos) << e.what();
  }
}

TEST(MujocoPool, NonFiniteActionIsRefusedBeforeAnyCopyMoves) {
  auto pool = make_pool("Hopper-v4", 2);
  pool->reset(0);
  const Buffers before = snapshot(*pool);
  std::vector<float> a(6, 0.1f);
  a[4] = NAN;
  EXPECT_THROW(pool->step(a.data()), core::UserError);
  EXPECT_TRUE(before == snapshot(*pool));
}

// Runs fn with RLPP_MUJOCO_MODEL_DIR pointing at `dir`, restoring it after.
template <class F>
void with_model_dir(const std::string& dir, F&& fn) {
  const char* old = std::getenv("RLPP_MUJOCO_MODEL_DIR");
  const std::string saved = old ? old : "";
  setenv("RLPP_MUJOCO_MODEL_DIR", dir.c_str(), 1);
  try {
    fn();
  } catch (...) {
    old ? setenv("RLPP_MUJOCO_MODEL_DIR", saved.c_str(), 1) : unsetenv("RLPP_MUJOCO_MODEL_DIR");
    throw;
  }
  old ? setenv("RLPP_MUJOCO_MODEL_DIR", saved.c_str(), 1) : unsetenv("RLPP_MUJOCO_MODEL_DIR");
}

std::string error_of(const std::string& id) {
  try {
    make_pool(id);
  } catch (const core::UserError& e) {
    return e.what();
  }
  return "";
}

TEST(MujocoPool, BadOrMissingModelFileIsAClearError) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("rlpp_mujoco_models_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  with_model_dir(dir.string(), [&] {
    // missing
    std::string msg = error_of("Hopper-v4");
    EXPECT_NE(msg.find("Hopper-v4"), std::string::npos) << msg;
    EXPECT_NE(msg.find((dir / "hopper.xml").string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("not found"), std::string::npos) << msg;
    // malformed XML
    std::ofstream(dir / "hopper.xml") << "<mujoco><worldbody><body></worldbody>";
    msg = error_of("Hopper-v4");
    EXPECT_NE(msg.find("cannot load MuJoCo model"), std::string::npos) << msg;
    EXPECT_NE(msg.find((dir / "hopper.xml").string()), std::string::npos) << msg;
    // a valid model of the wrong task
    fs::copy_file(asset("swimmer.xml"), dir / "hopper.xml", fs::copy_options::overwrite_existing);
    msg = error_of("Hopper-v4");
    EXPECT_NE(msg.find("nq=5"), std::string::npos) << msg;
    EXPECT_NE(msg.find("needs nq=6"), std::string::npos) << msg;
  });
  fs::remove_all(dir);
  EXPECT_EQ(error_of("Hopper-v4"), "");  // the shipped model loads again
}

}  // namespace
}  // namespace rlpp::env::mujoco
