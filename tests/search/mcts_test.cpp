// MCTS: PUCT selection and mean-value backup on a hand-built tree with hand-computed numbers;
// MCTS-DPO's step-reward backup (R = O + λ·C, Q = R + γ·V, visit-weighted V) on a hand-built tree
// with hand-computed numbers, and the step pairs read off its Q; the self-evaluation hook called
// once per expansion; expansion, re-rooting and the optimum of a small game against brute force.
#include <gtest/gtest.h>

#include <cmath>
#include <initializer_list>
#include <string>

#include "rlpp/core/error.h"
#include "rlpp/search/mcts.h"
#include "rlpp/search/tree_data.h"
#include "search/toy_game.h"

using namespace rlpp;
using namespace rlpp::search;

namespace {

// A core::UserError whose message holds every part (local: this file shares a unity batch).
template <class Fn>
void expect_mcts_user_error(Fn fn, std::initializer_list<std::string> parts) {
  try {
    fn();
    ADD_FAILURE() << "no UserError";
  } catch (const core::UserError& e) {
    const std::string msg = e.what();
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "message: " << msg << "\nlacks: " << p;
  }
}

StepCandidate step(Tokens t, double logp, bool terminal = false, double reward = 0) {
  StepCandidate c;
  c.tokens = std::move(t);
  c.logp = logp;
  c.terminal = terminal;
  c.reward = reward;
  return c;
}

}  // namespace

TEST(Mcts, PuctAndBackupOnAHandBuiltTree) {
  toy::DigitGame game(3, 3, 0, 1.0);  // only supplies the root value (0)
  MctsOptions opts;
  opts.c_puct = 1.0;
  opts.prior_length_exponent = 1.25;
  Mcts tree(game, opts, /*root_state=*/{7});
  const int64_t a = tree.add_child(0, step({1, 2}, -0.5), 0.2);
  const int64_t b = tree.add_child(0, step({3}, -1.2), -0.1);
  // Priors: exp(−0.5 / 2^1.25) and exp(−1.2 / 1^1.25).
  const double pa = std::exp(-0.5 / std::pow(2.0, 1.25)), pb = std::exp(-1.2);
  EXPECT_NEAR(tree.nodes()[a].prior, pa, 1e-12);
  EXPECT_NEAR(tree.nodes()[b].prior, pb, 1e-12);
  // Unvisited: Q = the evaluation; N(root) = 0 so the exploration term vanishes.
  EXPECT_NEAR(tree.puct(a), 0.2, 1e-12);
  EXPECT_NEAR(tree.puct(b), -0.1, 1e-12);

  tree.backup(a, 0.6);
  tree.backup(a, 0.2);
  // N(A) = 2, W(A) = 0.8, N(root) = 2.
  EXPECT_EQ(tree.nodes()[0].visits, 2);
  EXPECT_NEAR(tree.nodes()[a].q(), 0.4, 1e-12);
  EXPECT_NEAR(tree.puct(a), 0.4 + pa * std::sqrt(2.0) / 3.0, 1e-12);
  EXPECT_NEAR(tree.puct(b), -0.1 + pb * std::sqrt(2.0) / 1.0, 1e-12);
  EXPECT_EQ(tree.select_child(0), a);  // 0.782 > 0.326

  const int64_t c = tree.add_child(a, step({4}, 0.0, /*terminal=*/true, /*reward=*/-1.0), 0.0);
  EXPECT_NEAR(tree.nodes()[c].value, -1.0, 1e-12);  // a terminal child takes the reward
  tree.backup(c, -1.0);
  // N(A) = 3, W(A) = −0.2; N(root) = 3, W(root) = −0.2.
  EXPECT_NEAR(tree.nodes()[a].q(), -0.2 / 3, 1e-12);
  EXPECT_NEAR(tree.nodes()[0].q(), -0.2 / 3, 1e-12);
  EXPECT_NEAR(tree.puct(a), -0.2 / 3 + pa * std::sqrt(3.0) / 4.0, 1e-12);  // 0.284
  EXPECT_NEAR(tree.puct(b), -0.1 + pb * std::sqrt(3.0), 1e-12);            // 0.422
  EXPECT_EQ(tree.select_child(0), b);

  EXPECT_EQ(tree.state(c), (Tokens{7, 1, 2, 4}));
  EXPECT_EQ(tree.best_terminal(), c);
  EXPECT_EQ(tree.advance(), a);  // most visited
  EXPECT_EQ(tree.root(), a);
}

TEST(Mcts, OneIterationExpandsValuesAndBacksUp) {
  toy::DigitGame game(3, 2, 0, 4.0);
  game.value_fn = [](const Tokens& s) { return s.empty() ? 0.5 : 0.1 * static_cast<double>(s.back()); };
  MctsOptions opts;
  opts.num_children = 3;
  Mcts tree(game, opts);
  EXPECT_NEAR(tree.nodes()[0].value, 0.5, 1e-12);
  tree.run(1);  // expands the root (3 children valued 0, 0.1, 0.2), backs up the root's own value
  ASSERT_EQ(tree.nodes()[0].children.size(), 3u);
  EXPECT_EQ(tree.nodes()[0].visits, 1);
  EXPECT_NEAR(tree.nodes()[0].value_sum, 0.5, 1e-12);
  EXPECT_NEAR(tree.nodes()[tree.nodes()[0].children[2]].value, 0.2, 1e-12);
  EXPECT_EQ(game.compute().evaluations, 1 + 3);
  // Second iteration: PUCT = Q + p·sqrt(1)/1 with p = 1/3 for all: the child valued 0.2 wins.
  tree.run(1);
  EXPECT_EQ(tree.nodes()[tree.nodes()[0].children[2]].visits, 1);
  EXPECT_TRUE(tree.nodes()[tree.nodes()[0].children[2]].expanded);
}

TEST(Mcts, FindsTheOptimumOfASmallGame) {
  // 3 digits in base 3, target 16 = (1 2 1)_3: 27 leaves, unique optimum with reward 1.
  toy::DigitGame game(3, 3, 16, 8.0);
  EXPECT_NEAR(game.best_from({}), 1.0, 1e-12);
  MctsOptions opts;
  opts.num_children = 3;
  opts.iterations = 60;
  opts.root_multiplier = 2;
  opts.c_puct = 1.0;
  opts.max_depth = 3;
  Mcts tree(game, opts);
  const MctsResult r = tree.solve();
  EXPECT_TRUE(r.terminal);
  EXPECT_EQ(r.solution, (Tokens{1, 2, 1}));
  EXPECT_NEAR(r.reward, game.best_from({}), 1e-12);
  EXPECT_GT(r.compute.expansions, 0);
  EXPECT_EQ(r.compute.tokens_generated, 3 * r.compute.expansions);
}

TEST(Mcts, TooSmallABudgetMissesTheOptimum) {
  // The same game with one iteration per move: the search commits before it has seen the leaves,
  // so the optimum is not found (the budget matters; the previous test is not vacuous).
  toy::DigitGame game(3, 3, 16, 8.0);
  MctsOptions opts;
  opts.num_children = 3;
  opts.iterations = 1;
  opts.root_multiplier = 1;
  opts.max_depth = 3;
  Mcts tree(game, opts);
  const MctsResult r = tree.solve();
  EXPECT_LT(r.reward, 1.0);
}

TEST(Mcts, BadOptionsAreUserErrors) {
  toy::DigitGame game(3, 3, 16, 8.0);
  MctsOptions opts;
  opts.iterations = 0;
  EXPECT_THROW(Mcts(game, opts), core::UserError);
  opts = MctsOptions{};
  opts.c_puct = -1;
  EXPECT_THROW(Mcts(game, opts), core::UserError);
}

TEST(MctsStepReward, BackupOnAHandBuiltTree) {
  toy::DigitGame game(3, 3, 0, 1.0);  // only supplies the root value (0)
  MctsOptions opts;
  opts.backup = "step_reward";
  opts.gamma = 0.9;
  opts.confidence_weight = 0.5;
  Mcts tree(game, opts);
  // a: open step, evaluation 0.2, C = 0.6: R = 0.5·0.6 = 0.3, Q = 0.3 + 0.9·0.2 = 0.48.
  const int64_t a = tree.add_child(0, step({1}, -0.5), /*value=*/0.2, /*confidence=*/0.6);
  // b: finished, verifier −1, C = 0.8: R = −1 + 0.4 = −0.6; no future: Q = −0.6.
  const int64_t b = tree.add_child(0, step({2}, -0.5, /*terminal=*/true, /*reward=*/-1.0), 0.0, 0.8);
  EXPECT_NEAR(tree.nodes()[a].reward, 0.3, 1e-12);
  EXPECT_NEAR(tree.nodes()[a].q(), 0.48, 1e-12);
  EXPECT_NEAR(tree.nodes()[b].reward, -0.6, 1e-12);
  EXPECT_NEAR(tree.nodes()[b].q(), -0.6, 1e-12);
  EXPECT_NEAR(tree.nodes()[b].value, -1.0, 1e-12);  // the verifier's reward stays the node's value
  EXPECT_NEAR(tree.puct(a), 0.48, 1e-12);            // N(root) = 0: Q alone

  tree.backup_step_rewards(0);  // the root was expanded: V(root) = (0.48 − 0.6) / 2 (unvisited count once)
  EXPECT_EQ(tree.nodes()[0].visits, 1);
  EXPECT_NEAR(tree.nodes()[0].q(), -0.06, 1e-12);

  // a expanded: c open (evaluation −0.5, C = 0.2): R = 0.1, Q = 0.1 − 0.45 = −0.35;
  // d finished correct (C = 0.9): R = 1 + 0.45 = 1.45 = Q.
  const int64_t c = tree.add_child(a, step({1}, -0.5), -0.5, 0.2);
  const int64_t d = tree.add_child(a, step({2}, -0.5, true, 1.0), 0.0, 0.9);
  EXPECT_NEAR(tree.nodes()[c].q(), -0.35, 1e-12);
  EXPECT_NEAR(tree.nodes()[d].q(), 1.45, 1e-12);
  tree.backup_step_rewards(a);
  // V(a) = (−0.35 + 1.45) / 2 = 0.55; Q(a) = 0.3 + 0.9·0.55 = 0.795;
  // V(root) = (max(1, N_a = 1)·0.795 + max(1, 0)·(−0.6)) / 2 = 0.0975.
  EXPECT_EQ(tree.nodes()[a].visits, 1);
  EXPECT_NEAR(tree.nodes()[a].q(), 0.795, 1e-12);
  EXPECT_NEAR(tree.nodes()[0].q(), 0.0975, 1e-12);
  EXPECT_EQ(tree.nodes()[0].visits, 2);

  tree.backup_step_rewards(d);
  tree.backup_step_rewards(d);
  // N(d) = 2, N(c) = 0, N(a) = 3: V(a) = (1·(−0.35) + 2·1.45) / 3 = 0.85, Q(a) = 0.3 + 0.765 = 1.065;
  // N(root) = 4: V(root) = (3·1.065 + 1·(−0.6)) / 4 = 0.64875. Q(d) = 1.45 + 0.9·0 (no future).
  EXPECT_EQ(tree.nodes()[d].visits, 2);
  EXPECT_EQ(tree.nodes()[a].visits, 3);
  EXPECT_EQ(tree.nodes()[0].visits, 4);
  EXPECT_NEAR(tree.nodes()[d].q(), 1.45, 1e-12);
  EXPECT_NEAR(tree.nodes()[a].q(), 1.065, 1e-12);
  EXPECT_NEAR(tree.nodes()[0].q(), 0.64875, 1e-12);
  EXPECT_NEAR(tree.nodes()[b].q(), -0.6, 1e-12);  // not on the path: unchanged
  // PUCT(a) = 1.065 + 1·p·sqrt(4) / (1 + 3), p = exp(−0.5).
  EXPECT_NEAR(tree.puct(a), 1.065 + std::exp(-0.5) * 2.0 / 4.0, 1e-12);

  // MCTS-DPO's pairs come from these Q: root (a 1.065 ≻ b −0.6, gap 1.665), a (d 1.45 ≻ c −0.35,
  // gap 1.8); a gap of 1.7 keeps only a's pair.
  const auto all = step_preferences(tree, 0.0);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].chosen, (Tokens{1}));
  EXPECT_EQ(all[0].rejected, (Tokens{2}));
  EXPECT_NEAR(all[0].q_chosen, 1.065, 1e-12);
  EXPECT_NEAR(all[0].q_rejected, -0.6, 1e-12);
  EXPECT_EQ(all[1].prefix, (Tokens{1}));
  EXPECT_EQ(all[1].chosen, (Tokens{2}));
  EXPECT_NEAR(all[1].q_chosen, 1.45, 1e-12);
  EXPECT_NEAR(all[1].q_rejected, -0.35, 1e-12);
  const auto wide = step_preferences(tree, 1.7);
  ASSERT_EQ(wide.size(), 1u);
  EXPECT_EQ(wide[0].prefix, (Tokens{1}));
}

TEST(MctsStepReward, SelfEvaluationIsCalledOncePerExpansionWithEveryNewStep) {
  toy::DigitGame game(3, 2, 0, 4.0);
  std::vector<Tokens> states;
  std::vector<size_t> batch_sizes;
  MctsOptions opts;
  opts.num_children = 3;
  opts.backup = "step_reward";
  opts.confidence_weight = 2.0;
  opts.step_confidence = [&](StepModel&, const Tokens& state, const std::vector<Tokens>& steps) {
    states.push_back(state);
    batch_sizes.push_back(steps.size());
    std::vector<double> c;
    for (const Tokens& s : steps) c.push_back(0.1 * static_cast<double>(s.at(0) + 1));  // digit d: 0.1·(d + 1)
    return c;
  };
  Mcts tree(game, opts);
  tree.run(1);  // expands the root: steps 0, 1, 2 with C = 0.1, 0.2, 0.3 → Q = 2·C (evaluations 0)
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0], Tokens{});
  EXPECT_EQ(batch_sizes[0], 3u);
  const auto& kids = tree.nodes()[0].children;
  ASSERT_EQ(kids.size(), 3u);
  EXPECT_NEAR(tree.nodes()[kids[2]].confidence, 0.3, 1e-12);
  EXPECT_NEAR(tree.nodes()[kids[2]].q(), 0.6, 1e-12);
  EXPECT_NEAR(tree.nodes()[0].q(), (0.2 + 0.4 + 0.6) / 3, 1e-12);
  tree.run(1);  // PUCT: equal priors and visits, so the highest Q (digit 2) is expanded next
  ASSERT_EQ(states.size(), 2u);
  EXPECT_EQ(states[1], Tokens{2});
  EXPECT_EQ(batch_sizes[1], 3u);

  // The mean backup never asks for a self-evaluation.
  opts.backup = "mean";
  states.clear();
  Mcts mean_tree(game, opts);
  mean_tree.run(3);
  EXPECT_TRUE(states.empty());
}

TEST(MctsStepReward, BadBackupOptionsAreUserErrors) {
  toy::DigitGame game(3, 3, 16, 8.0);
  MctsOptions opts;
  opts.backup = "max";
  expect_mcts_user_error([&] { Mcts(game, opts); }, {"backup", "max"});
  opts = MctsOptions{};
  opts.gamma = 1.5;
  expect_mcts_user_error([&] { Mcts(game, opts); }, {"gamma"});
  opts = MctsOptions{};
  opts.confidence_weight = -1;
  expect_mcts_user_error([&] { Mcts(game, opts); }, {"confidence_weight"});
}

TEST(TreeData, SiblingPreferencesAndValueTargets) {
  toy::DigitGame game(3, 3, 0, 1.0);
  Mcts tree(game, MctsOptions{});
  const int64_t a = tree.add_child(0, step({1}, -0.7), 0.3);
  const int64_t b = tree.add_child(0, step({2}, -0.7), -0.4);
  const int64_t c = tree.add_child(0, step({0}, -0.7), 0.1);
  EXPECT_NEAR(tree.nodes()[b].q(), -0.4, 1e-12);
  tree.backup(a, 0.9);  // Q(a) = 0.9
  tree.backup(c, 0.5);
  tree.backup(c, -0.1);  // Q(c) = 0.2; b unvisited: Q = its value −0.4
  tree.add_child(a, step({2}, -0.7), 0.0);  // a single child: no pair under a
  auto prefs = step_preferences(tree);
  ASSERT_EQ(prefs.size(), 1u);
  EXPECT_EQ(prefs[0].prefix, Tokens{});
  EXPECT_EQ(prefs[0].chosen, Tokens{1});
  EXPECT_EQ(prefs[0].rejected, Tokens{2});
  EXPECT_NEAR(prefs[0].q_chosen - prefs[0].q_rejected, 1.3, 1e-12);
  // Only visited children: a (0.9) against c (0.2).
  prefs = step_preferences(tree, /*min_gap=*/0.0, /*min_visits=*/1);
  ASSERT_EQ(prefs.size(), 1u);
  EXPECT_EQ(prefs[0].rejected, Tokens{0});
  EXPECT_TRUE(step_preferences(tree, /*min_gap=*/2.0).empty());
  // Visited nodes: root (3 visits, W = 1.3), a, c.
  const auto targets = value_targets(tree);
  ASSERT_EQ(targets.size(), 3u);
  EXPECT_NEAR(targets[0].q, 1.3 / 3, 1e-12);
  EXPECT_EQ(targets[0].visits, 3);
  EXPECT_EQ(targets[2].state, Tokens{0});
  EXPECT_NEAR(targets[2].q, 0.2, 1e-12);
}

TEST(MctsWidening, ChildLimitIsCeilOfCTimesNToTheAlpha) {
  toy::DigitGame game(3, 3, 0, 1.0);
  MctsOptions opts;
  opts.progressive_widening = true;
  opts.widening_c = 1.0;
  opts.widening_alpha = 0.5;
  Mcts a(game, opts);
  // ceil(sqrt(N)): 0, 1, 2 (N = 2, 3, 4), 3 (N = 5 … 9), 4 (N = 10).
  const std::vector<std::pair<int64_t, int64_t>> half = {{0, 0}, {1, 1}, {2, 2}, {4, 2}, {5, 3}, {9, 3}, {10, 4}};
  for (const auto& [n, want] : half) EXPECT_EQ(a.child_limit(n), want) << "N = " << n;
  opts.widening_c = 1.5;
  opts.widening_alpha = 0.25;
  Mcts b(game, opts);
  EXPECT_EQ(b.child_limit(16), 3);  // 1.5 · 2 = 3 exactly
  EXPECT_EQ(b.child_limit(17), 4);  // 1.5 · 17^¼ = 3.046
  EXPECT_EQ(b.child_limit(1), 2);   // 1.5
}

TEST(MctsWidening, HandBuiltCountsGiveTheRightNumberOfChildren) {
  // Root with two children and N(root) = 9 set by hand: ceil(1 · 9^½) = 3 allows one more child,
  // sampled in one expand() call of k = 1 when selection next reaches the root.
  toy::DigitGame game(1000, 3, 0, 1.0);  // 1000 digits: a repeated draw is unlikely
  game.sample_moves = true;
  MctsOptions opts;
  opts.progressive_widening = true;
  Mcts tree(game, opts);
  const int64_t a = tree.add_child(0, step({11}, -1.0), 0.0);
  const int64_t b = tree.add_child(0, step({12}, -1.0), 0.0);
  for (int i = 0; i < 5; ++i) tree.backup(a, 0.0);
  for (int i = 0; i < 4; ++i) tree.backup(b, 0.0);
  ASSERT_EQ(tree.nodes()[0].visits, 9);
  tree.run(1);
  EXPECT_EQ(tree.nodes()[0].children.size(), 3u);
  EXPECT_EQ(game.requested, 1);
  const int64_t c = tree.nodes()[0].children[2];
  EXPECT_EQ(tree.nodes()[c].visits, 1);  // the new child is the iteration's leaf
  EXPECT_EQ(tree.nodes()[0].visits, 10);
  // N = 10: ceil(sqrt 10) = 4, one more.
  tree.run(1);
  EXPECT_EQ(tree.nodes()[0].children.size(), 4u);
  EXPECT_EQ(game.requested, 2);
}

TEST(MctsWidening, IterationsAddChildrenAsVisitsGrow) {
  // Children of the root, every one at max_depth (never expanded), policy always proposing a
  // new step: before iteration t the root has N = t − 1 visits, so after T iterations it has
  // max(k, ceil(sqrt(T − 1))) children (k = 1): T = 1…11 → 1 1 2 2 2 3 3 3 3 3 4.
  class Fresh : public StepModel {
   public:
    std::vector<std::vector<StepCandidate>> expand(const std::vector<Tokens>& states, int64_t k) override {
      std::vector<std::vector<StepCandidate>> out(states.size());
      for (auto& o : out)
        for (int64_t i = 0; i < k; ++i) o.push_back(step({next_++}, -1.0));
      return out;
    }
    std::vector<double> evaluate(const std::vector<Tokens>& s) override { return std::vector<double>(s.size(), 0.0); }
    SearchCompute compute() const override { return {}; }

   private:
    int64_t next_ = 100;
  } fresh;
  MctsOptions opts;
  opts.progressive_widening = true;
  opts.num_children = 1;
  opts.max_depth = 1;
  Mcts tree(fresh, opts);
  const std::vector<size_t> want = {1, 1, 2, 2, 2, 3, 3, 3, 3, 3, 4};
  for (size_t t = 0; t < want.size(); ++t) {
    tree.run(1);
    EXPECT_EQ(tree.nodes()[0].children.size(), want[t]) << "after " << t + 1 << " iterations";
  }
  // Off: the root keeps its single first-expansion child.
  opts.progressive_widening = false;
  Mcts plain(fresh, opts);
  plain.run(11);
  EXPECT_EQ(plain.nodes()[0].children.size(), 1u);
}

TEST(MctsWidening, FindsTheOptimumWithOneSamplePerExpansion) {
  // 3 digits in base 3, target 16 = (1 2 1)_3, a policy that samples k = 1 digit per expansion
  // (with replacement). Without widening every node keeps the single child of its first
  // expansion, so the search follows one random line; with widening revisited nodes keep adding
  // digits until the tree covers the game and the optimum (brute force: reward 1) is found.
  toy::DigitGame game(3, 3, 16, 8.0);
  game.sample_moves = true;
  MctsOptions opts;
  opts.num_children = 1;
  opts.iterations = 60;
  opts.root_multiplier = 2;
  opts.max_depth = 3;
  opts.progressive_widening = true;
  opts.widening_c = 1.0;
  opts.widening_alpha = 0.5;
  const MctsResult r = Mcts(game, opts).solve();
  EXPECT_TRUE(r.terminal);
  EXPECT_EQ(r.solution, (Tokens{1, 2, 1}));
  EXPECT_NEAR(r.reward, game.best_from({}), 1e-12);

  opts.progressive_widening = false;
  Mcts narrow(game, opts);
  narrow.solve();
  for (const MctsNode& n : narrow.nodes()) EXPECT_LE(n.children.size(), 1u);
}

TEST(MctsWidening, BadWideningOptionsAreUserErrors) {
  toy::DigitGame game(3, 3, 16, 8.0);
  MctsOptions opts;
  opts.widening_c = 0;
  EXPECT_THROW(Mcts(game, opts), core::UserError);
  opts = MctsOptions{};
  opts.widening_alpha = 1.5;
  EXPECT_THROW(Mcts(game, opts), core::UserError);
}
