// Step-level DPO / IPO on sibling pairs (the MCTS-DPO loop's update), against a double-precision
// re-derivation from the full forward: log-ratios summed from the divergence point, then the
// DPO-with-label-smoothing, IPO and NLL formulas written out again.
#include <gtest/gtest.h>

#include <cmath>

#include "rlpp/core/error.h"
#include "rlpp/search/step_dpo.h"
#include "rlpp/train/lm/adamw.h"
#include "search/tiny_lm.h"

using namespace rlpp;
using namespace rlpp::search;

namespace {

// Σ_{t ≥ d} (log π(s_t) − log π_ref(s_t)).
double log_ratio_from(nn::lm::TransformerLm& pol, nn::lm::TransformerLm& ref, const Tokens& s, size_t d) {
  const auto a = test::reference_logp(pol, s), b = test::reference_logp(ref, s);
  double h = 0;
  for (size_t t = d; t < s.size(); ++t) h += a[t] - b[t];
  return h;
}

double log_sigmoid(double x) { return x >= 0 ? -std::log1p(std::exp(-x)) : x - std::log1p(std::exp(x)); }

struct Case {
  std::vector<StepPreference> prefs;
  std::vector<size_t> divergence;  // per pair, written by hand
};

Case two_pairs() {
  Case c;
  // Pair 1: prefix {4}, steps {5, 6} vs {7}: sequences 1 2 3 4 | 5 6 and 1 2 3 4 | 7 → diverge at 4.
  c.prefs.push_back({{4}, {5, 6}, {7}, 0.5, -0.5});
  // Pair 2: empty prefix, steps {3, 4, 5} vs {3, 8}: they share the step's first token → diverge at 4.
  c.prefs.push_back({{}, {3, 4, 5}, {3, 8}, 1.0, -1.0});
  c.divergence = {4, 4};
  return c;
}

}  // namespace

TEST(StepDpo, PairSequencesArePromptPrefixStep) {
  const auto seqs = pair_sequences({1, 2, 3}, two_pairs().prefs);
  ASSERT_EQ(seqs.size(), 2u);
  EXPECT_EQ(seqs[0].chosen, (Tokens{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(seqs[0].rejected, (Tokens{1, 2, 3, 4, 7}));
  EXPECT_EQ(seqs[1].chosen, (Tokens{1, 2, 3, 3, 4, 5}));
  EXPECT_EQ(seqs[1].rejected, (Tokens{1, 2, 3, 3, 8}));
}

TEST(StepDpo, LossesMatchADoublePrecisionReference) {
  torch::set_num_threads(1);
  auto pol = test::tiny_lm(1), ref = test::tiny_lm(2);
  const Case c = two_pairs();
  const auto seqs = pair_sequences({1, 2, 3}, c.prefs);
  std::vector<double> margin;  // h_w − h_l per pair
  double nll_sum = 0, nll_count = 0;
  for (size_t i = 0; i < seqs.size(); ++i) {
    margin.push_back(log_ratio_from(pol, ref, seqs[i].chosen, c.divergence[i]) -
                     log_ratio_from(pol, ref, seqs[i].rejected, c.divergence[i]));
    const auto lw = test::reference_logp(pol, seqs[i].chosen);
    for (size_t t = c.divergence[i]; t < lw.size(); ++t) nll_sum -= lw[t], nll_count += 1;
  }
  std::vector<const PairSequences*> batch = {&seqs[0], &seqs[1]};
  const double beta = 0.3, eps = 0.2, alpha = 0.7;

  StepDpoOptions o;
  o.beta = beta;
  o.label_smoothing = eps;
  double want = 0;
  for (double m : margin) want += (-(1 - eps) * log_sigmoid(beta * m) - eps * log_sigmoid(-beta * m)) / 2;
  StepDpoLoss l = step_dpo_loss(pol, ref, batch, o);
  EXPECT_NEAR(l.preference.loss.item<double>(), want, 1e-4);
  EXPECT_NEAR(l.total.item<double>(), want, 1e-4);

  o = StepDpoOptions{};
  o.loss = "ipo";
  o.beta = beta;
  o.nll_weight = alpha;
  want = 0;
  for (double m : margin) want += std::pow(m - 1.0 / (2 * beta), 2) / 2;
  l = step_dpo_loss(pol, ref, batch, o);
  EXPECT_NEAR(l.preference.loss.item<double>(), want, 1e-4);
  EXPECT_NEAR(l.total.item<double>(), want + alpha * nll_sum / nll_count, 1e-4);
  EXPECT_NEAR(l.preference.metrics.at(algo::metric::kRewardMargin).item<double>(), beta * (margin[0] + margin[1]) / 2, 1e-4);
}

TEST(StepDpo, IpoTrainingMovesTheMarginTowardItsTarget) {
  torch::set_num_threads(1);
  auto pol = test::tiny_lm(1), ref = test::tiny_lm(1);  // the reference starts equal: margin 0
  const auto seqs = pair_sequences({1, 2, 3}, two_pairs().prefs);
  StepDpoOptions o;
  o.loss = "ipo";
  o.beta = 0.5;  // target margin 1/(2β) = 1
  o.epochs = 30;
  o.batch_pairs = 1;
  train::lm::AdamWSettings s;
  s.lr = 1e-2;
  auto opt = train::lm::make_adamw(pol->parameters(), s);
  core::Rng rng(7);
  const StepDpoStats st = train_step_dpo(pol, ref, seqs, o, *opt, rng);
  EXPECT_EQ(st.updates, 60);  // 30 epochs × 2 batches of one pair
  EXPECT_NEAR(st.loss_first, 1.0, 1e-4);  // (0 − 1)² at the start
  const double m = log_ratio_from(pol, ref, seqs[0].chosen, 4) - log_ratio_from(pol, ref, seqs[0].rejected, 4);
  EXPECT_GT(m, 0.5);                   // pushed from 0 toward the target 1
  EXPECT_LT(std::abs(m - 1.0), 1.0);   // and ends closer to it than it started (Adam may overshoot)
}

TEST(StepDpo, BadOptionsAreUserErrors) {
  StepDpoOptions o;
  o.loss = "kto";
  EXPECT_THROW(o.validate(), core::UserError);
  o = StepDpoOptions{};
  o.loss = "ipo";
  o.label_smoothing = 0.1;
  EXPECT_THROW(o.validate(), core::UserError);
  o = StepDpoOptions{};
  o.label_smoothing = 0.5;
  EXPECT_THROW(o.validate(), core::UserError);
}
