// Evaluation of language-model runs: the unbiased pass@k against brute-force enumeration of
// k-subsets, majority voting on hand cases, and `rlpp eval` statistics recomputed from the samples
// file it writes.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "rlpp/train/lm/lm_eval.h"
#include "rlpp/train/run.h"
#include "train/lm/lm_test_util.h"

namespace rlpp::train::lm {
namespace {

// Fraction of the k-subsets of n samples (c of them correct) containing a correct one, by enumeration.
double brute_pass_at_k(int n, int c, int k) {
  int64_t hit = 0, total = 0;
  for (uint32_t m = 0; m < (1u << n); ++m) {
    if (__builtin_popcount(m) != k) continue;
    ++total;
    hit += (m & ((1u << c) - 1)) != 0;  // samples 0..c-1 are the correct ones
  }
  return static_cast<double>(hit) / static_cast<double>(total);
}

TEST(LmEval, PassAtKMatchesEnumeration) {
  for (int n = 1; n <= 10; ++n) {
    for (int c = 0; c <= n; ++c) {
      for (int k = 1; k <= n; ++k) EXPECT_NEAR(pass_at_k(n, c, k), brute_pass_at_k(n, c, k), 1e-12) << n << c << k;
    }
  }
  EXPECT_DOUBLE_EQ(pass_at_k(8, 2, 1), 0.25);  // pass@1 = c / n
}

TEST(LmEval, MajorityAnswer) {
  EXPECT_EQ(majority_answer({}), "");
  EXPECT_EQ(majority_answer({"3", "4", "4", "3", "5", "4"}), "4");
  EXPECT_EQ(majority_answer({"7", "8", "8", "7"}), "8");  // tie: the answer that reached 2 first
  EXPECT_EQ(majority_answer({"a"}), "a");
}

TEST(LmEval, SampledEvaluationAgreesWithItsSamplesFile) {
  testing::TempDir tmp("lmeval");
  const std::string recipe =
      "[run]\nalgorithm = \"lm\"\nseed = 3\ntotal_steps = 40\n"
      "[data]\nsource = \"task\"\neval_examples = 8\n[task]\nname = \"arithmetic\"\nmax_digits = 1\n"
      "[model]\nhidden_size = 32\nnum_hidden_layers = 1\nnum_attention_heads = 2\nnum_key_value_heads = 1\n"
      "intermediate_size = 64\nmax_position_embeddings = 64\n"
      "[lm]\nbatch_size = 8\nmicro_batch_size = 8\nseq_len = 32\npack = false\nresponse_only = true\n"
      "learning_rate = 3e-3\nwarmup_steps = 2\neval_every = 0\naccuracy_examples = 0\nmax_new_tokens = 12\n";
  const std::string dir = test_util::run_recipe(recipe, tmp, "run");
  EvalRequest req;
  req.episodes = 12;
  req.seed = 99;
  req.samples = 4;
  req.temperature = 1.0;
  req.samples_path = tmp.sub("samples.jsonl");
  const EvalResult r = evaluate_run(dir, req);
  std::map<std::string, double> extra(r.extra.begin(), r.extra.end());
  ASSERT_TRUE(extra.count("pass@1") && extra.count("pass@2") && extra.count("pass@4") && extra.count("maj@4"));

  std::ifstream in(req.samples_path);
  double pass1 = 0, pass4 = 0, maj = 0;
  int lines = 0;
  for (std::string line; std::getline(in, line); ++lines) {
    const auto j = nlohmann::json::parse(line);
    ASSERT_EQ(j["samples"].size(), 4u);
    int correct = 0;
    for (const auto& s : j["samples"]) correct += s["reward"].get<double>() >= 1.0;
    EXPECT_EQ(correct, j["correct"].get<int>());
    pass1 += correct / 4.0;
    pass4 += correct > 0;
    maj += j["majority_correct"].get<double>();
    EXPECT_TRUE(j.contains("greedy"));
  }
  EXPECT_EQ(lines, 12);
  EXPECT_NEAR(extra["pass@1"], pass1 / 12, 1e-12);
  EXPECT_NEAR(extra["pass@4"], pass4 / 12, 1e-12);
  EXPECT_NEAR(extra["maj@4"], maj / 12, 1e-12);
  EXPECT_GE(extra["pass@4"], extra["pass@2"]);
  EXPECT_GE(extra["pass@2"], extra["pass@1"]);
  // Same request, same numbers.
  const EvalResult again = evaluate_run(dir, req);
  EXPECT_EQ(again.extra, r.extra);
  EXPECT_EQ(again.mean_return, r.mean_return);
}

}  // namespace
}  // namespace rlpp::train::lm
