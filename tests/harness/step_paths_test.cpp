#include "rlpp/harness/step_paths.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <set>

#include "harness/harness_test_util.h"

namespace rlpp::harness {
namespace {

using test::prepare;
using test::tool;

// A path written as "a,b|c|prepare_to_answer": steps joined by '|', names of a step sorted.
std::string show(const StepPath& p) {
  std::string s;
  for (size_t i = 0; i < p.steps.size(); ++i) s += (i ? "|" : "") + step_key(p.steps[i].names);
  return s;
}

std::set<std::string> shown(const std::vector<StepPath>& ps) {
  std::set<std::string> s;
  for (const auto& p : ps) s.insert(show(p));
  return s;
}

std::set<std::string> optimal(const std::vector<StepPath>& ps) {
  std::set<std::string> s;
  for (const auto& p : ps)
    if (p.optimal) s.insert(show(p));
  return s;
}

const std::string P = "prepare_to_answer";

TEST(StepPaths, SerialChainHasOnePath) {
  // a -> b -> c -> answer
  const std::vector<GoldenNode> nodes{tool(0, "a"), tool(1, "b", {0}), tool(2, "c", {1}), prepare(3, {2})};
  const auto paths = enumerate_step_paths(nodes);
  EXPECT_EQ(shown(paths), (std::set<std::string>{"a|b|c|" + P}));
  EXPECT_EQ(optimal(paths), shown(paths));
  EXPECT_EQ(dag_shape(nodes), DagShape::kSerial);
}

TEST(StepPaths, TwoParallelCallsGiveThreePaths) {
  // a, b independent: {a,b} together, or a then b, or b then a.
  const std::vector<GoldenNode> nodes{tool(0, "a"), tool(1, "b"), prepare(2, {0, 1})};
  const auto paths = enumerate_step_paths(nodes);
  EXPECT_EQ(shown(paths), (std::set<std::string>{"a,b|" + P, "a|b|" + P, "b|a|" + P}));
  EXPECT_EQ(optimal(paths), (std::set<std::string>{"a,b|" + P}));
  EXPECT_EQ(dag_shape(nodes), DagShape::kParallel);
}

TEST(StepPaths, ThreeParallelCallsGiveThirteenPaths) {
  // Ordered set partitions of {a,b,c}: 1 (one block) + 6 (a pair and a single, both orders) + 6.
  const std::vector<GoldenNode> nodes{tool(0, "a"), tool(1, "b"), tool(2, "c"), prepare(3, {0, 1, 2})};
  const auto paths = enumerate_step_paths(nodes);
  EXPECT_EQ(shown(paths), (std::set<std::string>{
                              "a,b,c|" + P,
                              "a,b|c|" + P, "c|a,b|" + P, "a,c|b|" + P, "b|a,c|" + P, "b,c|a|" + P, "a|b,c|" + P,
                              "a|b|c|" + P, "a|c|b|" + P, "b|a|c|" + P, "b|c|a|" + P, "c|a|b|" + P, "c|b|a|" + P}));
  EXPECT_EQ(paths.size(), 13u);
  EXPECT_EQ(optimal(paths), (std::set<std::string>{"a,b,c|" + P}));
}

TEST(StepPaths, MixedDagWithJoin) {
  // a, b -> c (c needs both): the parallel pair in any of its 3 ways, then c.
  const std::vector<GoldenNode> nodes{tool(0, "a"), tool(1, "b"), tool(2, "c", {0, 1}), prepare(3, {2})};
  const auto paths = enumerate_step_paths(nodes);
  EXPECT_EQ(shown(paths), (std::set<std::string>{"a,b|c|" + P, "a|b|c|" + P, "b|a|c|" + P}));
  EXPECT_EQ(optimal(paths), (std::set<std::string>{"a,b|c|" + P}));
  EXPECT_EQ(dag_shape(nodes), DagShape::kCombined);
}

TEST(StepPaths, MixedDagWithIndependentBranch) {
  // a -> c, b independent. Ready {a,b}: take {a,b} -> {c}; take {a} -> ready {b,c}: 3 ways;
  // take {b} -> {a} -> {c}. Five paths; the two of 2 tool steps are optimal.
  const std::vector<GoldenNode> nodes{tool(0, "a"), tool(1, "b"), tool(2, "c", {0}), prepare(3, {1, 2})};
  const auto paths = enumerate_step_paths(nodes);
  EXPECT_EQ(shown(paths), (std::set<std::string>{"a,b|c|" + P, "a|b,c|" + P, "a|b|c|" + P, "a|c|b|" + P,
                                                 "b|a|c|" + P}));
  EXPECT_EQ(optimal(paths), (std::set<std::string>{"a,b|c|" + P, "a|b,c|" + P}));
}

TEST(StepPaths, SameNamedCallsAreDedupedByMultiset) {
  // Two get_weather calls: node level {w1,w2}, w1|w2, w2|w1 -> by names {w,w} and w|w.
  const std::vector<GoldenNode> nodes{tool(0, "w"), tool(1, "w"), prepare(2, {0, 1})};
  EXPECT_EQ(shown(enumerate_step_paths(nodes)), (std::set<std::string>{"w,w|" + P, "w|w|" + P}));
  PathOptions node_level;
  node_level.dedupe_by_names = false;
  EXPECT_EQ(enumerate_step_paths(nodes, node_level).size(), 3u);
}

TEST(StepPaths, ClarifyAndChatArePseudoSteps) {
  const std::vector<GoldenNode> clarify{test::ask_user(0, "x"), tool(1, "a", {0}), prepare(2, {1})};
  EXPECT_EQ(shown(enumerate_step_paths(clarify)),
            (std::set<std::string>{"ask_user_for_required_parameters|a|" + P}));
  const std::vector<GoldenNode> chat{prepare(0, {}, "chat")};
  EXPECT_EQ(shown(enumerate_step_paths(chat)), (std::set<std::string>{P}));
  EXPECT_EQ(dag_shape(chat), DagShape::kNone);
}

TEST(StepPaths, PrepareWaitsForEveryNodeEvenWithoutDependencies) {
  const std::vector<GoldenNode> nodes{tool(0, "a"), prepare(1, {})};
  EXPECT_EQ(shown(enumerate_step_paths(nodes)), (std::set<std::string>{"a|" + P}));
}

TEST(StepPaths, LimitGivesAClearError) {
  // 6 parallel calls: Fubini(6) = 4683 paths > 100.
  std::vector<GoldenNode> nodes;
  for (int i = 0; i < 6; ++i) nodes.push_back(tool(i, std::string(1, static_cast<char>('a' + i))));
  nodes.push_back(prepare(6, {0, 1, 2, 3, 4, 5}));
  PathOptions o;
  o.max_paths = 100;
  try {
    enumerate_step_paths(nodes, o);
    FAIL() << "expected length_error";
  } catch (const std::length_error& e) {
    EXPECT_NE(std::string(e.what()).find("more than 100 step paths"), std::string::npos) << e.what();
  }
  o.max_paths = 4683;
  EXPECT_EQ(enumerate_step_paths(nodes, o).size(), 4683u);
}

// Independent reference: a node-level path is a surjective map level: tools -> {0..m-1} with
// level[d] < level[v] for every edge d -> v (calls of one step run together; a dependency must be
// done in an earlier step). Count such maps by brute force over all level vectors.
size_t brute_force_count(const std::vector<std::vector<int>>& deps) {
  const int n = static_cast<int>(deps.size());
  size_t count = 0;
  std::vector<int> level(n, 0);
  std::function<void(int)> rec = [&](int i) {
    if (i == n) {
      int m = 0;
      for (int l : level) m = std::max(m, l + 1);
      std::vector<bool> used(m, false);
      for (int l : level) used[l] = true;
      for (bool u : used)
        if (!u) return;
      for (int v = 0; v < n; ++v)
        for (int d : deps[v])
          if (level[d] >= level[v]) return;
      ++count;
      return;
    }
    for (int l = 0; l < n; ++l) {
      level[i] = l;
      rec(i + 1);
    }
  };
  rec(0);
  return count;
}

TEST(StepPaths, NodeLevelCountMatchesBruteForceOnRandomDags) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 30; ++trial) {
    const int n = 1 + static_cast<int>(rng() % 5);
    std::vector<std::vector<int>> deps(n);
    std::vector<GoldenNode> nodes;
    std::vector<int> all;
    for (int v = 0; v < n; ++v) {
      for (int d = 0; d < v; ++d)
        if (rng() % 3 == 0) deps[v].push_back(d);
      nodes.push_back(tool(v, "t" + std::to_string(v), deps[v]));
      all.push_back(v);
    }
    nodes.push_back(prepare(n, all));
    PathOptions o;
    o.dedupe_by_names = false;
    EXPECT_EQ(enumerate_step_paths(nodes, o).size(), brute_force_count(deps)) << "trial " << trial << " n " << n;
  }
}

}  // namespace
}  // namespace rlpp::harness
