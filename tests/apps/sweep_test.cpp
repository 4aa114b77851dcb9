// `rlpp sweep` as a user runs it: variants x seeds trained as child processes, the summary's means
// and standard deviations recomputed here from the runs' own metrics.jsonl, finished runs kept on a
// second call, malformed sweep files refused with exit code 2.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "apps/cli_util.h"
#include "common/temp_dir.h"

namespace fs = std::filesystem;
using rlpp::testing::run_cli;
using rlpp::testing::slurp;
using rlpp::testing::TempDir;

namespace {

// A language-model RL recipe small enough for a test: a tiny model from scratch, 3 steps.
const char* kBase = R"(
[run]
algorithm = "rlvr"
total_steps = 3
torch_threads = 1
[data]
source = "task"
eval_examples = 4
[task]
name = "arithmetic"
max_digits = 1
[model]
hidden_size = 32
num_hidden_layers = 1
num_attention_heads = 2
num_key_value_heads = 1
intermediate_size = 64
max_position_embeddings = 64
[sample]
max_new_tokens = 6
num_return_sequences = 4
[rl]
prompts_per_step = 2
learning_rate = 1e-3
eval_every = 0
accuracy_examples = 4
[reward]
correct_weight = 0
format_weight = 1
)";

// Mean of the last (or first) `window` values of `metric` in a run's metrics.jsonl.
double final_value(const std::string& run_dir, const std::string& metric, size_t window, bool first_rows = false) {
  std::vector<double> v;
  std::ifstream in(run_dir + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains(metric) && j[metric].is_number()) v.push_back(j[metric].get<double>());
  }
  EXPECT_FALSE(v.empty()) << run_dir << " " << metric;
  double s = 0;
  const size_t first = first_rows ? 0 : (v.size() > window ? v.size() - window : 0);
  const size_t last = first_rows ? std::min(window, v.size()) : v.size();
  for (size_t i = first; i < last; ++i) s += v[i];
  return s / static_cast<double>(last - first);
}

}  // namespace

TEST(Sweep, TrainsVariantsTimesSeedsAndSummarisesThem) {
  TempDir dir("sweep");
  std::ofstream(dir.sub("base.toml")) << kBase;
  std::ofstream(dir.sub("sweep.toml")) << "[sweep]\nbase = \"base.toml\"\nseeds = [1, 2]\n"
                                          "set = [\"run.total_steps=2\"]\n"
                                          "metrics = [\"rl/reward_mean\", \"eval/accuracy:1\"]\nfinal_window = 2\n"
                                          "show_start = true\n"
                                          "[[variant]]\nname = \"grpo\"\nset = [\"advantage.name=grpo\"]\n"
                                          "[[variant]]\nname = \"cispo\"\nset = [\"objective.name=cispo\"]\n";
  const std::string out = dir.sub("out");
  const auto r = run_cli("sweep " + dir.sub("sweep.toml") + " --out " + out + " --jobs 2", dir);
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("[4/4]"), std::string::npos) << r.out;
  const auto summary = nlohmann::json::parse(slurp(out + "/summary.json"));
  for (const std::string v : {"grpo", "cispo"}) {
    std::vector<double> finals;
    double start = 0;
    for (int seed : {1, 2}) {
      const std::string run = out + "/" + v + "/seed_" + std::to_string(seed);
      ASSERT_TRUE(fs::exists(run + "/model/model.safetensors")) << run;
      const auto recipe = slurp(run + "/recipe.toml");
      EXPECT_NE(recipe.find("seed = " + std::to_string(seed)), std::string::npos) << recipe;
      EXPECT_NE(recipe.find("total_steps = 2"), std::string::npos);
      finals.push_back(final_value(run, "rl/reward_mean", 2));
      start += final_value(run, "rl/reward_mean", 2, /*first_rows=*/true) / 2;
    }
    const double mean = (finals[0] + finals[1]) / 2;
    const double sd = std::abs(finals[0] - finals[1]) / std::sqrt(2.0);  // sample std of two values
    const auto& cell = summary["variants"][v]["rl/reward_mean"];
    EXPECT_NEAR(cell["mean"].get<double>(), mean, 1e-12) << v;
    EXPECT_NEAR(cell["std"].get<double>(), sd, 1e-12) << v;
    EXPECT_EQ(cell["n"].get<int>(), 2);
    EXPECT_NEAR(cell["start_mean"].get<double>(), start, 1e-12) << v;
    EXPECT_EQ(summary["variants"][v]["eval/accuracy"]["window"].get<int>(), 1);
  }
  // The variant's own line reached its runs.
  EXPECT_NE(slurp(out + "/cispo/seed_1/recipe.toml").find("cispo"), std::string::npos);
  const std::string md = slurp(out + "/summary.md");
  EXPECT_NE(md.find("| grpo |"), std::string::npos) << md;
  EXPECT_NE(md.find(" → "), std::string::npos) << md;
  EXPECT_NE(md.find("| cispo |"), std::string::npos) << md;
  // A second call trains nothing: the finished runs are kept as they are.
  const auto t = fs::last_write_time(out + "/grpo/seed_1/metrics.jsonl");
  const auto again = run_cli("sweep " + dir.sub("sweep.toml") + " --out " + out, dir);
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(again.out.find("[1/"), std::string::npos) << again.out;
  EXPECT_EQ(fs::last_write_time(out + "/grpo/seed_1/metrics.jsonl"), t);
}

TEST(Sweep, RefusesMalformedSweepFiles) {
  TempDir dir("sweep");
  std::ofstream(dir.sub("base.toml")) << kBase;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[sweep]\nbase = \"base.toml\"\nmetrics = [\"x\"]\n", "[[variant]]"},
      {"[sweep]\nbase = \"nope.toml\"\nmetrics = [\"x\"]\n[[variant]]\nname = \"a\"\n", "no such recipe"},
      {"[sweep]\nbase = \"base.toml\"\nmetrics = [\"x\"]\nseeds = []\n[[variant]]\nname = \"a\"\n", "sweep.seeds"},
      {"[sweep]\nbase = \"base.toml\"\nmetrics = [\"x\"]\n[[variant]]\nname = \"a/b\"\n", "plain name"},
      {"[sweep]\nbase = \"base.toml\"\nmetrics = [\"x\"]\n[[variant]]\nname = \"a\"\n[[variant]]\nname = \"a\"\n",
       "appears twice"},
      {"[sweep]\nbase = \"base.toml\"\nmetrics = [\"x\"]\nsmoothin = 3\n[[variant]]\nname = \"a\"\n", "sweep.smoothin"},
      {"[sweep]\nbase = \"base.toml\"\nmetrics = [\"x:0\"]\n[[variant]]\nname = \"a\"\n", "NAME:WINDOW"},
      {"[sweep\n", "sweep.toml:1"},
  };
  for (const auto& [text, fragment] : cases) {
    std::ofstream(dir.sub("sweep.toml")) << text;
    const auto r = run_cli("sweep " + dir.sub("sweep.toml") + " --out " + dir.sub("out"), dir);
    EXPECT_EQ(r.code, 2) << text;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << text << "\n" << r.err;
    EXPECT_FALSE(fs::exists(dir.sub("out"))) << text;
  }
}
