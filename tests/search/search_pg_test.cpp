// Policy gradient on searched data: trajectories and step advantages read off a hand-built tree,
// the padded batch they make, and the PPO-clip loss of that batch against a double-precision
// re-derivation (full-forward log-probs, the clipped surrogate and token-mean written out again).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "rlpp/algo/advantage.h"
#include "rlpp/algo/objective.h"
#include "rlpp/search/search_pg.h"
#include "search/tiny_lm.h"
#include "search/toy_game.h"

using namespace rlpp;
using namespace rlpp::search;

namespace {

StepCandidate step(Tokens t, bool terminal = false, double reward = 0) {
  StepCandidate c;
  c.tokens = std::move(t);
  c.logp = -1.0;
  c.terminal = terminal;
  c.reward = reward;
  return c;
}

// root ─ a {1, 2} (value 0.2) ─ c {4} terminal +1
//      └ b {3} terminal −1 (never visited)
// backup(a, 0.6), backup(c, 1): N(root) = 2, W = 1.6; N(a) = 2, W = 1.6; N(c) = 1, W = 1.
// Q(root) = 0.8, Q(a) = 0.8, Q(c) = 1, Q(b) = its reward −1.
struct HandTree {
  toy::DigitGame game{3, 3, 0, 1.0};
  Mcts tree{game, MctsOptions{}};
  HandTree() {
    const int64_t a = tree.add_child(0, step({1, 2}), 0.2);
    tree.add_child(0, step({3}, true, -1.0), 0.0);
    tree.backup(a, 0.6);
    const int64_t c = tree.add_child(a, step({4}, true, 1.0), 0.0);
    tree.backup(c, 1.0);
  }
};

}  // namespace

TEST(SearchPg, TerminalTrajectoriesCarryStepQAdvantages) {
  HandTree h;
  const auto t = terminal_trajectories(h.tree);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].steps, Tokens{3});
  EXPECT_EQ(t[0].step_lengths, std::vector<int64_t>{1});
  ASSERT_EQ(t[0].step_advantages.size(), 1u);
  EXPECT_NEAR(t[0].step_advantages[0], -1.0 - 0.8, 1e-12);
  EXPECT_EQ(t[0].reward, -1.0);
  EXPECT_EQ(t[1].steps, (Tokens{1, 2, 4}));
  EXPECT_EQ(t[1].step_lengths, (std::vector<int64_t>{2, 1}));
  ASSERT_EQ(t[1].step_advantages.size(), 2u);
  EXPECT_NEAR(t[1].step_advantages[0], 0.8 - 0.8, 1e-12);
  EXPECT_NEAR(t[1].step_advantages[1], 1.0 - 0.8, 1e-12);
  EXPECT_EQ(t[1].reward, 1.0);
}

TEST(SearchPg, BatchAndAdvantagesAreLaidOutByHand) {
  HandTree h;
  const auto t = terminal_trajectories(h.tree);
  const PgBatch b = make_pg_batch({{{9}, t[0], 0}, {{9, 8}, t[1], 0}});
  // Rows: 9 3 · · and 9 8 1 2 4.
  EXPECT_TRUE(b.tokens.equal(torch::tensor({9, 3, 0, 0, 0, 9, 8, 1, 2, 4}, torch::kLong).view({2, 5})));
  EXPECT_TRUE(b.mask.equal(torch::tensor({0.f, 1.f, 0.f, 0.f, 0.f, 0.f, 0.f, 1.f, 1.f, 1.f}).view({2, 5})));
  EXPECT_TRUE(torch::allclose(b.step_advantages,
                              torch::tensor({0.f, -1.8f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.2f}).view({2, 5}), 0, 1e-6));
  EXPECT_TRUE(b.lengths.equal(torch::tensor({1, 3}, torch::kLong)));
  EXPECT_TRUE(torch::allclose(pg_advantages(b, "q", nullptr), b.step_advantages));
  // GRPO on the group's rewards (−1, +1): mean 0, unbiased std sqrt 2 → ∓1/(sqrt 2 + 1e-6) on every solution token.
  auto grpo = algo::build_default(algo::advantage_registry(), "grpo");
  const double g = 1.0 / (std::sqrt(2.0) + 1e-6);
  const torch::Tensor want = torch::tensor({0.0, -g, 0.0, 0.0, 0.0, 0.0, 0.0, g, g, g}).view({2, 5}).to(torch::kFloat32);
  EXPECT_TRUE(torch::allclose(pg_advantages(b, "reward", grpo.get()), want, 0, 1e-5));
  EXPECT_THROW(pg_advantages(b, "reward", nullptr), core::UserError);
}

// "potential": φ = the tree's Q of the state each step starts from (root 0.8; a 0.8), the verifier
// reward on the last step, shaped r'_s = r_s + γ·φ(s+1) − φ(s) with φ(terminal) = 0, then returns
// G_s = r'_s + γ·G_{s+1}. By hand, γ = 0.9: row 0 (one step, R = −1): G_0 = −1 − 0.8 = −1.8; row 1
// (R = 1): r'_1 = 1 − 0.8 = 0.2, r'_0 = 0.9·0.8 − 0.8 = −0.08, G_0 = −0.08 + 0.9·0.2 = 0.1. At
// γ = 1 every G_s is R − φ(s): the shaping telescopes.
TEST(SearchPg, PotentialShapedAdvantagesByHand) {
  HandTree h;
  const auto t = terminal_trajectories(h.tree);
  ASSERT_EQ(t[1].step_values, (std::vector<double>{0.8, 0.8}));
  const PgBatch b = make_pg_batch({{{9}, t[0], 0}, {{9, 8}, t[1], 0}});
  EXPECT_TRUE(torch::allclose(pg_advantages(b, "potential", nullptr, 0.9),
                              torch::tensor({0.f, -1.8f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.1f, 0.1f, 0.2f}).view({2, 5}), 0, 1e-6));
  EXPECT_TRUE(torch::allclose(pg_advantages(b, "potential", nullptr, 1.0),
                              torch::tensor({0.f, -1.8f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.2f, 0.2f, 0.2f}).view({2, 5}), 0, 1e-6));
  EXPECT_THROW(pg_advantages(b, "potentail", nullptr), core::UserError);
}

TEST(SearchPg, PpoClipLossMatchesADoublePrecisionReference) {
  torch::set_num_threads(1);
  auto model = test::tiny_lm(3);
  HandTree h;
  const auto t = terminal_trajectories(h.tree);
  const PgBatch b = make_pg_batch({{{9}, t[0], 0}, {{9, 8}, t[1], 0}});
  const std::vector<Tokens> seqs = {{9, 3}, {9, 8, 1, 2, 4}};
  std::vector<std::vector<double>> lp;
  for (const Tokens& s : seqs) lp.push_back(test::reference_logp(model, s));
  // logp_old: the current log-probs shifted by hand on three tokens, so ratios r = exp(−shift)
  // fall inside and outside the clip range [0.8, 1.2].
  const std::vector<std::vector<double>> shift = {{0, 0.5, 0, 0, 0}, {0, 0, -0.3, 0.05, 0}};
  torch::Tensor logp_old = torch::zeros({2, 5}, torch::kFloat32);
  for (int i = 0; i < 2; ++i)
    for (size_t j = 0; j < seqs[i].size(); ++j) logp_old[i][static_cast<int64_t>(j)] = lp[i][j] + shift[i][j];
  const torch::Tensor adv = torch::tensor({0.f, -1.5f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.7f, -0.4f, 0.9f}).view({2, 5});
  // ℓ = max(−r A, −clip(r, 1 − ε, 1 + ε) A) per solution token; token-mean over the 4 tokens.
  double want = 0;
  const std::vector<std::pair<int, int>> tokens = {{0, 1}, {1, 2}, {1, 3}, {1, 4}};
  for (auto [i, j] : tokens) {
    const double r = std::exp(-shift[i][j]), a = adv[i][j].item<double>();
    want += std::max(-r * a, -std::clamp(r, 0.8, 1.2) * a) / 4.0;
  }
  auto ppo = algo::build_default(algo::objective_registry(), "ppo_clip");
  const PgLoss l = search_pg_loss(model, b, torch::tensor({0, 1}, torch::kLong), logp_old, adv, *ppo,
                                  algo::Aggregation::kTokenMean);
  EXPECT_NEAR(l.loss.item<double>(), want, 1e-5);
  // Clipped (no gradient): token (0, 1), r = e^−0.5 = 0.61 < 0.8 with A < 0, and token (1, 2),
  // r = e^0.3 = 1.35 > 1.2 with A > 0: two of four.
  EXPECT_NEAR(l.metrics.at(algo::metric::kClipFrac).item<double>(), 0.5, 1e-6);
  // One row alone: its own counts (token-mean over its single token).
  const PgLoss one = search_pg_loss(model, b, torch::tensor({0}, torch::kLong), logp_old, adv, *ppo,
                                    algo::Aggregation::kTokenMean);
  EXPECT_NEAR(one.loss.item<double>(), std::max(-std::exp(-0.5) * -1.5, -0.8 * -1.5), 1e-5);
}
