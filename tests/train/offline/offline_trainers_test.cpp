// End-to-end tests of the offline trainers (bc, td3_bc, iql, cql) through the library calls the
// `rlpp` program makes, on small random-policy datasets collected here: bit-identical resume, the
// evaluation rows, and datasets that do not fit (wrong environment, not HDF5, changed under a
// run), also through the program (exit code 2). Needs the built `rlpp` (rlpp_cli).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "../../apps/cli_util.h"
#include "common/temp_dir.h"
#include "train/test_runs.h"
#include "rlpp/core/error.h"
#include "rlpp/train/offline/collect.h"
#include "rlpp/train/offline/d4rl_dataset.h"
#include "rlpp/train/offline/episodes.h"
#include "rlpp/train/run.h"

namespace offline_trainers_test {

namespace fs = std::filesystem;
using rlpp::testing::TempDir;
using namespace rlpp::testing::runs;  // config, rows_of, make_dataset, start
namespace ol = rlpp::train::offline;

// Every tensor of two checkpoint archives, recursively, except the optimizers' (LibTorch keys
// them by parameter address; the rows after the resume cover them). Returns how many were compared.
int64_t expect_same_tensors(torch::serialize::InputArchive& a, torch::serialize::InputArchive& b, const std::string& at) {
  int64_t n = 0;
  const auto keys = a.keys();
  EXPECT_EQ(keys, b.keys()) << at;
  for (const std::string& k : keys) {
    if (k.find("optimizer") != std::string::npos) continue;
    torch::Tensor x, y;
    if (a.try_read(k, x)) {
      EXPECT_TRUE(b.try_read(k, y)) << at << "/" << k;
      EXPECT_TRUE(y.defined() && x.sizes() == y.sizes() && torch::equal(x, y)) << at << "/" << k;
      ++n;
      continue;
    }
    torch::serialize::InputArchive ca, cb;
    if (a.try_read(k, ca)) {
      EXPECT_TRUE(b.try_read(k, cb)) << at << "/" << k;
      n += expect_same_tensors(ca, cb, at + "/" + k);
    }
  }
  return n;
}

// 6 updates of 10 gradient steps, small networks, an evaluation every 2nd update.
std::vector<std::string> small(const std::string& algo, const std::string& data, const std::string& env) {
  std::vector<std::string> s = {"run.total_steps=60",      "offline.gradient_steps=10", "offline.batch_size=16",
                                "offline.eval_every=2",    "offline.eval_episodes=1",   "run.checkpoint_every=0",
                                "dataset.path=\"" + data + "\"", "env.name=\"" + env + "\"",
                                algo + ".hidden=[16, 16]"};
  if (algo == "cql") s.push_back("cql.n_actions=3");
  return s;
}

struct Case {
  const char* algo;
  const char* env;  // Hopper-v4 has reference returns (eval/score), Pendulum-v1 has none
};
const Case kCases[] = {{"bc", "Hopper-v4"}, {"td3_bc", "Pendulum-v1"}, {"iql", "Pendulum-v1"}, {"cql", "Pendulum-v1"}};

// K + K updates in one call equal K, a checkpoint, a resume and K more: every metric but the speed
// (losses, evaluations) and every tensor of the final checkpoint (networks, targets, generator,
// normaliser, counters); `rlpp eval` of both gives the same return.
TEST(OfflineTrainers, ResumeIsBitIdentical) {
  TempDir dir("offline-resume");
  const std::string hopper = dir / "hopper.hdf5", pendulum = dir / "pendulum.hdf5";
  make_dataset("Hopper-v4", 1500, hopper);
  make_dataset("Pendulum-v1", 1000, pendulum);
  for (const Case& c : kCases) {
    const std::string data = std::string(c.env) == "Hopper-v4" ? hopper : pendulum;
    const auto sets = small(c.algo, data, c.env);
    const std::string recipe = std::string("offline_hopper_") + c.algo + ".toml";
    const std::string whole = dir / (std::string(c.algo) + "-whole"), split = dir / (std::string(c.algo) + "-split");
    EXPECT_TRUE(start(recipe, whole, sets).finished) << c.algo;
    EXPECT_FALSE(start(recipe, split, sets, /*stop_after=*/3).finished) << c.algo;
    std::atomic<bool> stop{false};
    EXPECT_TRUE(rlpp::train::resume_run(split, {}, 0, true, stop).finished) << c.algo;

    const auto a = rows_of(whole), b = rows_of(split);
    ASSERT_EQ(a.size(), 6u) << c.algo;
    ASSERT_EQ(a.size(), b.size()) << c.algo;
    for (size_t i = 0; i < a.size(); ++i) {
      for (auto& [key, value] : a[i].items()) {
        if (key == "charts/SPS") continue;
        EXPECT_EQ(value, b[i].at(key)) << c.algo << " row " << i << " metric " << key;
      }
      EXPECT_EQ(a[i].size(), b[i].size()) << c.algo << " row " << i;
      // evaluations on updates 2, 4, 6
      EXPECT_EQ(a[i].contains("eval/return"), i % 2 == 1) << c.algo << " row " << i;
      EXPECT_EQ(a[i]["charts/gradient_steps"].get<double>(), 10.0 * static_cast<double>(i + 1));
    }
    if (std::string(c.env) == "Hopper-v4") {  // the D4RL score of the evaluation return
      const double ret = a.back()["eval/return"].get<double>();
      EXPECT_NEAR(a.back()["eval/score"].get<double>(), 100.0 * (ret - 18.61) / (1833.30 - 18.61), 1e-9);
    } else {
      EXPECT_FALSE(a.back().contains("eval/score"));
    }
    const std::string ck = "/checkpoints/update_0000006.pt";
    torch::serialize::InputArchive wa, sa;
    wa.load_from(whole + ck);
    sa.load_from(split + ck);
    EXPECT_GT(expect_same_tensors(wa, sa, c.algo), 5) << c.algo;

    rlpp::train::EvalRequest req;
    req.episodes = 1;
    req.seed = 7;
    const auto ea = rlpp::train::evaluate_run(whole, req), eb = rlpp::train::evaluate_run(split, req);
    EXPECT_EQ(ea.episodes, 1);
    EXPECT_EQ(ea.mean_return, eb.mean_return) << c.algo;
  }
}

// Datasets that do not fit are refused before anything is written, naming the problem.
TEST(OfflineTrainers, MismatchedOrMalformedDatasetsAreRefused) {
  TempDir dir("offline-bad");
  const std::string pendulum = dir / "pendulum.hdf5";
  make_dataset("Pendulum-v1", 300, pendulum);
  const std::string out = dir / "never";
  auto expect_error = [&](std::vector<std::string> sets, const std::string& needle) {
    try {
      start("offline_hopper_td3_bc.toml", out, std::move(sets));
      ADD_FAILURE() << "expected an error containing '" << needle << "'";
    } catch (const rlpp::core::UserError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  // Pendulum's rows (obs 3, act 1) for Hopper-v4 (obs 11, act 3)
  expect_error({"dataset.path=\"" + pendulum + "\""}, "pendulum.hdf5");
  // not an HDF5 file
  const std::string junk = dir / "junk.hdf5";
  std::ofstream(junk) << "not hdf5\n";
  expect_error({"dataset.path=\"" + junk + "\""}, "junk.hdf5");
  expect_error({"dataset.path=\"" + (dir / "missing.hdf5") + "\""}, "missing.hdf5");
  expect_error({"dataset.path=\"\""}, "dataset.path");
  // a discrete environment
  expect_error({"dataset.path=\"" + pendulum + "\"", "env.name=\"CartPole-v1\""}, "continuous");
  expect_error({"dataset.path=\"" + pendulum + "\"", "env.name=\"Pendulum-v1\"", "offline.gradient_steps=5000",
                "run.total_steps=100"},
               "run.total_steps");
  EXPECT_FALSE(fs::exists(out));

  // The program: a clear one-line error and exit code 2.
  const auto r = rlpp::testing::run_cli(
      "train configs/offline_hopper_bc.toml --quiet --out " + (dir / "cli") + " --set dataset.path=" + pendulum, dir);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("pendulum.hdf5"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Hopper-v4"), std::string::npos) << r.err;
}

// A resume reads the dataset again; another file under the same path is refused.
TEST(OfflineTrainers, ResumeOnAnotherDatasetIsRefused) {
  TempDir dir("offline-changed");
  const std::string data = dir / "pendulum.hdf5";
  make_dataset("Pendulum-v1", 400, data);
  const auto sets = small("bc", data, "Pendulum-v1");
  EXPECT_FALSE(start("offline_hopper_bc.toml", dir / "run", sets, /*stop_after=*/2).finished);
  ol::D4rlDataset d = ol::read_d4rl(data);
  d.rewards[7] += 1.0f;
  ol::write_d4rl(data, d);
  std::atomic<bool> stop{false};
  try {
    rlpp::train::resume_run(dir / "run", {}, 0, true, stop);
    FAIL() << "expected an error";
  } catch (const rlpp::core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("another dataset"), std::string::npos) << e.what();
  }
}

}  // namespace offline_trainers_test
