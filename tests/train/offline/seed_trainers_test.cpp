// End-to-end tests of the prdc, a2pr and odice trainers through the library calls the `rlpp`
// program makes, on a small random-policy Pendulum dataset collected here: K + K updates equal K,
// a checkpoint, a resume and K more (every metric but the speed, every tensor of the final
// checkpoint, the evaluation of both); options out of range are refused naming the key.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/temp_dir.h"
#include "rlpp/core/error.h"
#include "rlpp/train/offline/collect.h"
#include "rlpp/train/offline/d4rl_dataset.h"
#include "rlpp/train/run.h"

namespace seed_trainers_test {

using rlpp::testing::TempDir;
namespace ol = rlpp::train::offline;

std::string seed_config(const std::string& name) { return std::string(RLPP_SOURCE_DIR) + "/configs/" + name; }

std::vector<nlohmann::json> seed_rows(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::vector<nlohmann::json> rows;
  std::string line;
  while (std::getline(in, line)) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

void seed_dataset(const std::string& env, int64_t steps, const std::string& path) {
  ol::CollectRequest req;
  req.env = env;
  req.policy = "random";
  req.steps = steps;
  req.seed = 5;
  req.quiet = true;
  std::atomic<bool> stop{false};
  ol::write_d4rl(path, ol::collect_dataset(req, stop));
}

int64_t same_tensors(torch::serialize::InputArchive& a, torch::serialize::InputArchive& b, const std::string& at) {
  int64_t n = 0;
  const auto keys = a.keys();
  EXPECT_EQ(keys, b.keys()) << at;
  for (const std::string& k : keys) {
    if (k.find("optimizer") != std::string::npos) continue;  // keyed by parameter address
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
      n += same_tensors(ca, cb, at + "/" + k);
    }
  }
  return n;
}

rlpp::train::RunOutcome seed_start(const std::string& recipe, const std::string& out, std::vector<std::string> sets,
                                   int64_t stop_after = 0) {
  std::atomic<bool> stop{false};
  rlpp::train::StartRequest req;
  req.recipe_path = seed_config(recipe);
  req.overrides = std::move(sets);
  req.out_dir = out;
  req.stop_after_updates = stop_after;
  req.quiet = true;
  return rlpp::train::start_run(req, stop);
}

// 6 updates of 10 gradient steps, small networks, an evaluation every 2nd update.
std::vector<std::string> seed_small(const std::string& algo, const std::string& data) {
  std::vector<std::string> s = {"run.total_steps=60",   "offline.gradient_steps=10", "offline.batch_size=16",
                                "offline.eval_every=2", "offline.eval_episodes=1",   "run.checkpoint_every=0",
                                "dataset.path=\"" + data + "\"", "env.name=\"Pendulum-v1\""};
  if (algo == "prdc") s.push_back("prdc.hidden=[16, 16]");
  if (algo == "a2pr") {
    for (const char* k : {"actor_hidden", "critic_hidden", "vae_hidden"}) s.push_back(std::string("a2pr.") + k + "=[16, 16]");
  }
  if (algo == "odice") {
    for (const char* k : {"value_hidden", "policy_hidden"}) s.push_back(std::string("odice.") + k + "=[16, 16]");
  }
  return s;
}

TEST(SeedTrainers, ResumeIsBitIdentical) {
  TempDir dir("seed-offline-resume");
  const std::string data = dir / "pendulum.hdf5";
  seed_dataset("Pendulum-v1", 1000, data);
  for (const std::string algo : {"prdc", "a2pr", "odice"}) {
    const auto sets = seed_small(algo, data);
    const std::string recipe = "offline_hopper_" + algo + ".toml";
    const std::string whole = dir / (algo + "-whole"), split = dir / (algo + "-split");
    EXPECT_TRUE(seed_start(recipe, whole, sets).finished) << algo;
    EXPECT_FALSE(seed_start(recipe, split, sets, /*stop_after=*/3).finished) << algo;
    std::atomic<bool> stop{false};
    EXPECT_TRUE(rlpp::train::resume_run(split, {}, 0, true, stop).finished) << algo;

    const auto a = seed_rows(whole), b = seed_rows(split);
    ASSERT_EQ(a.size(), 6u) << algo;
    ASSERT_EQ(a.size(), b.size()) << algo;
    for (size_t i = 0; i < a.size(); ++i) {
      for (auto& [key, value] : a[i].items()) {
        if (key == "charts/SPS") continue;
        EXPECT_EQ(value, b[i].at(key)) << algo << " row " << i << " metric " << key;
      }
      EXPECT_EQ(a[i].size(), b[i].size()) << algo << " row " << i;
      EXPECT_EQ(a[i].contains("eval/return"), i % 2 == 1) << algo << " row " << i;
    }
    // the trainer's own metrics are there and finite
    const char* own = algo == "prdc" ? "prdc/dc_loss" : algo == "a2pr" ? "a2pr/vae_loss" : "odice/parallel_coef";
    ASSERT_TRUE(a.back().contains(own)) << algo;
    EXPECT_TRUE(std::isfinite(a.back()[own].get<double>())) << algo;

    const std::string ck = "/checkpoints/update_0000006.pt";
    torch::serialize::InputArchive wa, sa;
    wa.load_from(whole + ck);
    sa.load_from(split + ck);
    EXPECT_GT(same_tensors(wa, sa, algo), 5) << algo;

    rlpp::train::EvalRequest req;
    req.episodes = 1;
    req.seed = 7;
    const auto ea = rlpp::train::evaluate_run(whole, req), eb = rlpp::train::evaluate_run(split, req);
    EXPECT_EQ(ea.mean_return, eb.mean_return) << algo;
  }
}

TEST(SeedTrainers, BadOptionsAreRefusedNamingTheKey) {
  TempDir dir("seed-offline-bad");
  const std::string data = dir / "pendulum.hdf5";
  seed_dataset("Pendulum-v1", 300, data);
  auto expect_error = [&](const std::string& algo, const std::string& set, const std::string& needle) {
    auto sets = seed_small(algo, data);
    sets.push_back(set);
    try {
      seed_start("offline_hopper_" + algo + ".toml", dir / "never", sets);
      ADD_FAILURE() << "expected an error containing '" << needle << "' for " << set;
    } catch (const rlpp::core::UserError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error("odice", "odice.gradient=\"sideways\"", "odice.gradient");
  expect_error("odice", "odice.lambda=1.0", "odice.lambda");
  expect_error("odice", "odice.f_divergence=\"kl\"", "odice.f_divergence");
  expect_error("prdc", "prdc.beta=-1.0", "prdc.beta");
  expect_error("a2pr", "a2pr.mask=-0.5", "a2pr.mask");
  expect_error("a2pr", "a2pr.latent_factor=0", "a2pr.latent_factor");
  EXPECT_FALSE(std::filesystem::exists(dir / "never/metrics.jsonl"));
}

}  // namespace seed_trainers_test
