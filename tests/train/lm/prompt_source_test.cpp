// Prompt sources of the rlvr trainer: fresh prompts get new ids; a pool is drawn in epochs that
// cover every prompt once; prioritized draws follow the tracker's weights sqrt(p(1 - p)) + floor
// (frequencies over many draws against the weights computed here).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "rlpp/core/config.h"
#include "rlpp/core/error.h"
#include "rlpp/train/lm/prompt_source.h"

namespace rlpp::train::lm {
namespace {

LmData arithmetic_data() {
  const core::Recipe recipe = core::Recipe::parse(
      "[data]\nsource = \"task\"\neval_examples = 4\n[task]\nname = \"arithmetic\"\nmax_digits = 3\n", "test.toml");
  return LmData(core::read_options<LmDataOptions>(recipe, "data"), recipe);
}

TEST(PromptSource, FreshPromptsGetNewIds) {
  LmData data = arithmetic_data();
  PromptSource src(&data, /*pool_size=*/0, /*pool_seed=*/1);
  core::Rng rng(3);
  const PromptPick a = src.next(3, rng), b = src.next(2, rng);
  EXPECT_EQ(a.ids, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(b.ids, (std::vector<int64_t>{3, 4}));
  ASSERT_EQ(b.examples.size(), 2u);
  EXPECT_FALSE(b.examples[0].prompt.empty());
}

TEST(PromptSource, PoolEpochsCoverEveryPromptOnce) {
  LmData data = arithmetic_data();
  PromptSource src(&data, /*pool_size=*/10, /*pool_seed=*/7);
  core::Rng rng(3);
  std::multiset<int64_t> first, second;
  for (int k = 0; k < 5; ++k) {
    for (int64_t id : src.next(2, rng).ids) first.insert(id);
  }
  for (int k = 0; k < 5; ++k) {
    const PromptPick p = src.next(2, rng);
    for (size_t i = 0; i < p.ids.size(); ++i) {
      second.insert(p.ids[i]);
      EXPECT_EQ(p.examples[i].prompt, src.example(p.ids[i]).prompt);  // an id always names the same prompt
    }
  }
  for (int64_t id = 0; id < 10; ++id) {
    EXPECT_EQ(first.count(id), 1u) << id;
    EXPECT_EQ(second.count(id), 1u) << id;
  }
  // The pool depends on its seed only.
  PromptSource again(&data, 10, 7);
  for (int64_t id = 0; id < 10; ++id) EXPECT_EQ(again.example(id).prompt, src.example(id).prompt);
}

TEST(PromptSource, PrioritizedDrawsFollowTheTrackerWeights) {
  LmData data = arithmetic_data();
  PromptSource src(&data, /*pool_size=*/4, /*pool_seed=*/7);
  algo::SpoOptions o;
  o.sample_floor = 0.05;
  algo::SpoTracker tracker(o);
  // p̂ = α/(α+β): prompt 0 ≈ 0.5, 1 = 0.9, 2 = 0.1/0.98 ..., 3 unseen (prior 0.5).
  tracker.update(0, {1, 0, 1, 0}, 1.0);
  tracker.update(1, std::vector<double>(20, 1.0), 1.0);
  tracker.update(2, std::vector<double>(40, 0.0), 1.0);
  std::map<int64_t, double> weight;
  double total = 0;
  for (int64_t id = 0; id < 4; ++id) {
    const auto s = tracker.state(id);
    const double p = s.alpha / (s.alpha + s.beta);
    weight[id] = std::sqrt(p * (1 - p)) + 0.05;
    total += weight[id];
  }
  core::Rng rng(11);
  std::map<int64_t, double> count;
  const int draws = 20000;
  for (int d = 0; d < draws; ++d) count[src.next(1, rng, &tracker).ids[0]] += 1;
  for (int64_t id = 0; id < 4; ++id) {
    const double p = weight[id] / total;
    const double se = std::sqrt(p * (1 - p) / draws);
    EXPECT_NEAR(count[id] / draws, p, 5 * se) << "prompt " << id;
  }
  EXPECT_THROW(src.next(5, rng, &tracker), core::UserError);  // more than the pool without replacement
}

}  // namespace
}  // namespace rlpp::train::lm
