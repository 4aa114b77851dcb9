// End-to-end tests of the off-policy trainers (sac, td3, dqn) through the library calls the
// `rlpp` program makes: bit-identical resume, recipe errors, and a short DQN learning check.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/temp_dir.h"
#include "train/test_runs.h"
#include "rlpp/core/error.h"
#include "rlpp/train/run.h"

namespace offpolicy_trainers_test {

namespace fs = std::filesystem;
using rlpp::testing::TempDir;
using namespace rlpp::testing::runs;  // config, rows_of, make_dataset, start

std::vector<nlohmann::json> offpolicy_rows(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::vector<nlohmann::json> rows;
  std::string line;
  while (std::getline(in, line)) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

// Every tensor of two checkpoint archives, recursively (the zip bytes themselves differ: LibTorch
// names module classes with a per-process counter), except the optimizers', which LibTorch keys by
// parameter address (the rows after the resume, equal to the uninterrupted run's, cover them).
// Returns the number of tensors compared.
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

// Small networks and buffers, training from the second update on, so that a few seconds cover
// warm-up, training, target updates and a buffer that wraps around.
struct Case {
  const char* recipe;
  std::vector<std::string> sets;
};

const Case kCases[] = {
    {"pendulum_sac.toml",
     {"run.total_steps=600", "offpolicy.steps_per_update=100", "offpolicy.learning_starts=80",
      "offpolicy.buffer_size=300", "offpolicy.batch_size=32", "sac.hidden=[32, 32]", "replay.n_step=3"}},
    {"hopper_td3.toml",
     {"run.total_steps=1200", "offpolicy.steps_per_update=100", "offpolicy.learning_starts=80",
      "offpolicy.buffer_size=300", "offpolicy.batch_size=32", "td3.hidden=[32, 32]", "replay.prioritized=true",
      "run.checkpoint_every=0", "env.name=\"Pendulum-v1\"", "env.num_envs=2"}},
    {"cartpole_dqn.toml",
     {"run.total_steps=600", "offpolicy.steps_per_update=100", "offpolicy.learning_starts=80",
      "offpolicy.buffer_size=300", "offpolicy.batch_size=32", "offpolicy.train_frequency=2",
      "dqn.target_network_frequency=50", "dqn.hidden=[32, 32]", "replay.prioritized=true", "replay.n_step=2"}},
};

// K + K updates in one call equal K, a checkpoint, a resume and K more: every metric except the
// speed, and every tensor of the final checkpoint (weights, targets, and the bytes of the replay
// buffer with its sum tree, the generator, the environments and the counters).
TEST(OffPolicyTrainers, ResumeIsBitIdentical) {
  for (const Case& c : kCases) {
    TempDir dir("offpolicy-resume");
    auto whole = start(c.recipe, dir.sub("whole"), c.sets);
    EXPECT_TRUE(whole.finished) << c.recipe;
    auto first = start(c.recipe, dir.sub("split"), c.sets, /*stop_after=*/3);
    EXPECT_FALSE(first.finished) << c.recipe;
    std::atomic<bool> stop{false};
    auto second = rlpp::train::resume_run(dir.sub("split"), {}, 0, true, stop);
    EXPECT_TRUE(second.finished) << c.recipe;

    const auto a = offpolicy_rows(dir.sub("whole")), b = offpolicy_rows(dir.sub("split"));
    ASSERT_EQ(a.size(), 6u) << c.recipe;
    ASSERT_EQ(a.size(), b.size()) << c.recipe;
    for (size_t i = 0; i < a.size(); ++i) {
      for (auto& [key, value] : a[i].items()) {
        if (key == "charts/SPS") continue;
        EXPECT_EQ(value, b[i].at(key)) << c.recipe << " row " << i << " metric " << key;
      }
    }
    // training happened (losses are numbers from the second row on)
    EXPECT_TRUE(a.back().contains(c.recipe == std::string("cartpole_dqn.toml") ? "losses/td_loss" : "losses/qf_loss"));
    EXPECT_GT(a.back()["charts/gradient_steps"].get<double>(), 200.0) << c.recipe;
    const std::string ck = "/checkpoints/update_0000006.pt";
    torch::serialize::InputArchive wa, sa;
    wa.load_from(dir.sub("whole") + ck);
    sa.load_from(dir.sub("split") + ck);
    EXPECT_GT(expect_same_tensors(wa, sa, c.recipe), 10) << c.recipe;

    rlpp::train::EvalRequest req;
    req.episodes = 2;
    req.seed = 7;
    const auto ea = rlpp::train::evaluate_run(dir.sub("whole"), req), eb = rlpp::train::evaluate_run(dir.sub("split"), req);
    EXPECT_EQ(ea.episodes, 2);
    EXPECT_EQ(ea.mean_return, eb.mean_return) << c.recipe;
  }
}

// Double DQN on CartPole in 30k steps (about 6 s here): the mean training return of the last 100
// episodes is far above a random policy's (~22), and so is the greedy policy's evaluation.
TEST(OffPolicyTrainers, DqnLearnsCartPole) {
  TempDir dir("offpolicy-learn");
  start("cartpole_dqn.toml", dir.sub("run"),
                  {"run.total_steps=30000", "offpolicy.learning_starts=1000", "dqn.exploration_fraction=0.3",
                   "dqn.target_network_frequency=200", "dqn.learning_rate=1e-3"});
  const auto rows = offpolicy_rows(dir.sub("run"));
  ASSERT_EQ(rows.size(), 30u);
  EXPECT_GT(rows.back()["charts/return_mean_100"].get<double>(), 100.0);
  EXPECT_NEAR(rows.back()["charts/epsilon"].get<double>(), 0.05, 1e-12);
  rlpp::train::EvalRequest req;
  req.episodes = 5;
  req.seed = 7;
  EXPECT_GT(rlpp::train::evaluate_run(dir.sub("run"), req).mean_return, 100.0);
}

TEST(OffPolicyTrainers, BadRecipesAreRejectedBeforeAnythingIsWritten) {
  TempDir dir("offpolicy-bad");
  const std::string out = dir.sub("never");
  EXPECT_THROW(start("pendulum_sac.toml", out, {"env.name=\"CartPole-v1\""}), rlpp::core::UserError);
  EXPECT_THROW(start("cartpole_dqn.toml", out, {"env.name=\"Pendulum-v1\""}), rlpp::core::UserError);
  EXPECT_THROW(start("pendulum_sac.toml", out, {"sac.tau=1.5"}), rlpp::core::UserError);
  EXPECT_THROW(start("cartpole_dqn.toml", out, {"dqn.loss=\"l1\""}), rlpp::core::UserError);
  EXPECT_THROW(start("cartpole_dqn.toml", out, {"run.total_steps=10"}), rlpp::core::UserError);
  EXPECT_THROW(start("hopper_td3.toml", out, {"offpolicy.buffer_size=10"}), rlpp::core::UserError);
  try {
    start("pendulum_sac.toml", out, {"sac.polcy_lr=0.1"});
    FAIL() << "expected an error";
  } catch (const rlpp::core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("sac.policy_lr"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace offpolicy_trainers_test
