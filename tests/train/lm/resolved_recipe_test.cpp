// The resolved recipe of an rlvr run (RUN_DIR/recipe.toml) holds every option of every component
// it names — estimator, objective, selectors, KL controller, entropy control, rollout allocation,
// task and sampler chain — with its value, defaults included,
// so a resumed run follows the values it started with and never a default that changed since.
#include <gtest/gtest.h>
#include <toml++/toml.h>

#include <fstream>

#include "rlpp/algo/advantage.h"
#include "rlpp/algo/allocation.h"
#include "rlpp/algo/kl.h"
#include "rlpp/algo/objective.h"
#include "rlpp/algo/selector.h"
#include "rlpp/env/text/task.h"
#include "rlpp/sample/sampler.h"
#include "rlpp/train/lm/entropy_control.h"
#include "train/lm/lm_test_util.h"

namespace rlpp::train::lm {
namespace {

const char* kRecipe =
    "[run]\nalgorithm = \"rlvr\"\nseed = 5\ntotal_steps = 2\n"
    "[data]\nsource = \"task\"\neval_examples = 8\n"
    "[task]\nname = \"arithmetic\"\nmax_digits = 1\n"
    "[model]\nhidden_size = 32\nnum_hidden_layers = 1\nnum_attention_heads = 2\nnum_key_value_heads = 1\n"
    "intermediate_size = 64\nmax_position_embeddings = 64\n"
    "[[samplers]]\nname = \"temperature\"\n[sample]\nmax_new_tokens = 6\nnum_return_sequences = 4\n"
    "[advantage]\nname = \"grpo\"\n[objective]\nname = \"dapo\"\n"
    "[rl]\nprompts_per_step = 3\nlearning_rate = 1e-3\neval_every = 0\naccuracy_examples = 4\n"
    "[[selectors]]\nname = \"top_entropy\"\nrho = 0.5\n"
    "[entropy_control]\nname = \"adaptive\"\ntarget = 0.5\n"
    "[kl]\nname = \"adaptive\"\ncoef = 0.01\n";

template <class Base>
void expect_every_option(const toml::table& recipe, const std::string& section,
                         const core::Registry<core::Factory<Base>>& registry, const std::string& name) {
  const toml::table* t = recipe.at_path(section).as_table();
  ASSERT_NE(t, nullptr) << section;
  for (const auto& o : core::describe_component(registry, name)) {
    EXPECT_TRUE(t->contains(o.key)) << section << "." << o.key << " is not recorded";
  }
}

TEST(ResolvedRecipe, EveryComponentOptionIsRecordedAndResumeKeepsIt) {
  testing::TempDir tmp("resolved");
  const std::string dir = test_util::run_recipe(kRecipe, tmp, "r", /*stop_after=*/1);
  const toml::table recorded = toml::parse_file(dir + "/recipe.toml");
  expect_every_option(recorded, "advantage", algo::advantage_registry(), "grpo");
  expect_every_option(recorded, "objective", algo::objective_registry(), "dapo");
  expect_every_option(recorded, "selectors[0]", algo::selector_registry(), "top_entropy");
  expect_every_option(recorded, "kl", algo::kl_controller_registry(), "adaptive");
  expect_every_option(recorded, "entropy_control", entropy_control_registry(), "adaptive");
  expect_every_option(recorded, "rollout_allocation", algo::allocation_registry(), "uniform");
  EXPECT_EQ(recorded.at_path("kl.estimator").value_or(std::string()), "k3");
  expect_every_option(recorded, "task", env::text::task_registry(), "arithmetic");
  EXPECT_EQ(recorded.at_path("task.name").value_or(std::string()), "arithmetic");
  EXPECT_EQ(recorded.at_path("task.max_digits").value_or(int64_t{0}), 1);
  expect_every_option(recorded, "samplers[0]", sample::sampler_registry(), "temperature");
  EXPECT_EQ(recorded.at_path("samplers[0].name").value_or(std::string()), "temperature");
  EXPECT_TRUE(recorded.at_path("sample.max_new_tokens"));
  EXPECT_EQ(recorded.at_path("selectors[0].name").value_or(std::string()), "top_entropy");
  // Defaults are written out: dapo's clip-higher bound, which the recipe never named.
  EXPECT_EQ(recorded["objective"]["eps_high"].value_or(0.0), 0.28);
  EXPECT_EQ(recorded.at_path("selectors[0].rho").value_or(0.0), 0.5);
  for (const char* k : {"coef", "target", "step", "min_coef", "max_coef"}) {
    EXPECT_TRUE(recorded["entropy_control"][k]) << "entropy_control." << k;
  }
  // The user's recipe changes afterwards (a new default in a copy of the recipe): the resumed run
  // follows what was recorded, so it logs what an uninterrupted run from the original logs.
  std::string changed = kRecipe;
  changed.replace(changed.find("name = \"dapo\"\n"), 14, "name = \"dapo\"\neps_high = 0.5\n");
  std::ofstream(tmp.sub("r") + "/recipe_in.toml") << changed;
  std::atomic<bool> stop{false};
  EXPECT_TRUE(resume_run(dir, {}, 0, true, stop).finished);
  const toml::table after = toml::parse_file(dir + "/recipe.toml");
  EXPECT_EQ(after["objective"]["eps_high"].value_or(0.0), 0.28);
  const std::string whole = test_util::run_recipe(kRecipe, tmp, "whole");
  test_util::expect_same_metrics(test_util::read_metrics(whole), test_util::read_metrics(dir));
}

}  // namespace
}  // namespace rlpp::train::lm
