// The rlvr trainer on a task whose instances are dialogues: episodes are rolled out turn by turn,
// evaluation plays greedy episodes, and a run split by a checkpoint continues exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "rlpp/env/text/turn_env.h"
#include "rlpp/train/run.h"
#include "rlpp/train/metric_names.h"
#include "train/lm/lm_test_util.h"

namespace rlpp::train::lm {
namespace {

// "a+b=" -> the model answers the sum; the environment replies "\n+c=" and the model answers the
// new total. Reward: the fraction of the two answers that are right; correct: both are.
class RunningSum final : public env::text::TextTask, public env::text::MultiTurnTask {
 public:
  env::text::TaskInstance sample(core::Rng& rng) const override {
    const auto a = static_cast<int64_t>(rng.below(5)), b = static_cast<int64_t>(rng.below(5)),
               c = static_cast<int64_t>(rng.below(5));
    return {std::to_string(a) + "+" + std::to_string(b) + "=", std::to_string(a + b) + " " + std::to_string(a + b + c),
            std::to_string(a + b)};
  }
  std::string alphabet() const override { return "0123456789+= \n"; }

  class Episode final : public env::text::TurnEnv {
   public:
    explicit Episode(env::text::TaskInstance inst) : inst_(std::move(inst)) {
      const auto space = inst_.answer.find(' ');
      want_ = {inst_.answer.substr(0, space), inst_.answer.substr(space + 1)};
    }
    std::string opening() override { return inst_.prompt; }
    Reply respond(const std::string& model_turn) override {
      right_ += model_turn == want_[turn_] ? 1 : 0;
      ++turn_;
      if (turn_ == 2) return {"", true};
      const int64_t c = std::stoll(want_[1]) - std::stoll(want_[0]);
      return {"\n+" + std::to_string(c) + "=", false};
    }
    double reward() const override { return right_ / 2.0; }
    double correct() const override { return right_ == 2 ? 1.0 : 0.0; }

   private:
    env::text::TaskInstance inst_;
    std::vector<std::string> want_;
    int turn_ = 0, right_ = 0;
  };
  std::unique_ptr<env::text::TurnEnv> episode(const env::text::TaskInstance& inst) const override {
    return std::make_unique<Episode>(inst);
  }
};

const bool kRegistered = [] {
  env::text::task_registry().add(
      "test_running_sum",
      [](core::Binder&) -> std::unique_ptr<env::text::TextTask> {
        return std::make_unique<RunningSum>();
      },
      "test: a two-turn running sum");
  return true;
}();

std::string recipe(int64_t steps, const std::string& rl_extra = "") {
  return "[run]\nalgorithm = \"rlvr\"\nseed = 3\ntotal_steps = " + std::to_string(steps) +
         "\n[data]\nsource = \"task\"\neval_examples = 6\n[task]\nname = \"test_running_sum\"\n"
         "[model]\nhidden_size = 32\nnum_hidden_layers = 1\nnum_attention_heads = 2\nnum_key_value_heads = 1\n"
         "intermediate_size = 64\nmax_position_embeddings = 64\n"
         "[[samplers]]\nname = \"temperature\"\n[sample]\nmax_new_tokens = 4\nnum_return_sequences = 4\n"
         "[objective]\nname = \"ppo_clip\"\n"
         "[rl]\nprompts_per_step = 2\nmini_batches = 2\nlearning_rate = 1e-3\nmax_turns = 3\nmax_total_tokens = 40\n"
         "eval_every = 2\naccuracy_examples = 6\n" + rl_extra + "[entropy_control]\nname = \"epo\"\nentropy_coef = 0.01\nphase_ramp = 0.0\n";
}

using test_util::read_metrics;
using test_util::run_recipe;

TEST(MultiTurnTrainer, DialogueTasksTrainAndResumeExactly) {
  ASSERT_TRUE(kRegistered);
  testing::TempDir tmp("multi_turn_trainer");
  const std::string whole = run_recipe(recipe(4), tmp, "whole");
  const auto rw = read_metrics(whole);
  ASSERT_EQ(rw.size(), 5u);  // the evaluation before training, then 4 steps (evaluated at 2 and 4)
  bool saw_eval = false, saw_step = false;
  for (const auto& row : rw) {
    if (row.count("eval/accuracy")) {
      saw_eval = true;
      EXPECT_GE(row.at("eval/accuracy"), 0.0);
      EXPECT_LE(row.at("eval/accuracy"), 1.0);
    }
    if (row.count(metric::kPolicyLoss)) {
      saw_step = true;
      EXPECT_TRUE(std::isfinite(row.at(metric::kPolicyLoss)));
      // Rewards are halves: 0, 0.5 or 1 per episode.
      EXPECT_NEAR(std::fmod(row.at("rl/reward_mean") * 16.0, 1.0), 0.0, 1e-9);
      EXPECT_TRUE(row.count("epo/bonus") && std::isfinite(row.at("epo/bonus")));
    }
  }
  EXPECT_TRUE(saw_eval && saw_step);
  const std::string split = run_recipe(recipe(4), tmp, "split", /*stop_after=*/2);
  std::atomic<bool> stop{false};
  resume_run(split, {}, 0, /*quiet=*/true, stop);
  test_util::expect_same_metrics(rw, read_metrics(split));
}

// Asynchronous rollouts on the multi-turn path: the worker rolls out whole dialogues from version
// max(0, k − s), so step k's model tokens are exactly min(k, s) versions old, and a split run
// continues exactly (the queued episodes travel in the checkpoint).
TEST(MultiTurnTrainer, AsynchronousDialoguesKeepTheStalenessBoundAndResumeExactly) {
  ASSERT_TRUE(kRegistered);
  testing::TempDir tmp("multi_turn_trainer_async");
  const int64_t s = 2, steps = 5;
  const std::string extra = "max_staleness = 2\n";
  const auto rw = read_metrics(run_recipe(recipe(steps, extra), tmp, "whole"));
  ASSERT_EQ(rw.size(), static_cast<size_t>(steps + 1));  // the evaluation before training, then the steps
  for (int64_t t = 0; t < steps; ++t) {
    const auto& r = rw[static_cast<size_t>(t + 1)];
    const double expected = static_cast<double>(std::min(t, s));
    EXPECT_EQ(r.at("async/staleness_max"), expected) << "step " << t + 1;
    EXPECT_EQ(r.at("async/staleness_mean"), expected) << "step " << t + 1;
    EXPECT_TRUE(std::isfinite(r.at(metric::kPolicyLoss))) << "step " << t + 1;
    EXPECT_NEAR(std::fmod(r.at("rl/reward_mean") * 16.0, 1.0), 0.0, 1e-9) << "step " << t + 1;
  }
  const std::string split = run_recipe(recipe(steps, extra), tmp, "split", /*stop_after=*/3);
  std::atomic<bool> stop{false};
  resume_run(split, {}, 0, /*quiet=*/true, stop);
  test_util::expect_same_metrics(rw, read_metrics(split));
}

}  // namespace
}  // namespace rlpp::train::lm
