// gae against the explicit sums that define it, written out here in double precision, and against
// hand-computed examples.
#include "rlpp/algo/advantages/gae.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "algo/advantage_test_util.h"
#include "rlpp/algo/advantages/mc.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

using namespace adv_test;

// δ_t as defined by the convention in advantage.h.
double delta(const Episode& e, int t, int n, double gamma, bool bootstrap) {
  const bool done = e.term[t][n] > 0 || e.trunc[t][n] > 0;
  const double v_next = t + 1 < e.T ? e.v[t + 1][n] : e.next_v[n];
  double d = e.r[t][n] + (done ? 0.0 : gamma * v_next) - e.v[t][n];
  if (bootstrap && e.trunc[t][n] > 0 && !(e.term[t][n] > 0)) d += gamma * e.fv[t][n];
  return d;
}

// A_t = Σ_{k>=t} (γλ)^{k−t} δ_k, summed forward until (and including) the first done step.
double gae_sum(const Episode& e, int t, int n, double gamma, double lambda, bool bootstrap) {
  double sum = 0, w = 1;
  for (int k = t; k < e.T; ++k) {
    sum += w * delta(e, k, n, gamma, bootstrap);
    if (e.term[k][n] > 0 || e.trunc[k][n] > 0) break;
    w *= gamma * lambda;
  }
  return sum;
}

TEST(Gae, MatchesExplicitSumOnRandomRollouts) {
  for (bool bootstrap : {false, true}) {
    const Episode e = random_episode(/*T=*/37, /*N=*/5, /*seed=*/bootstrap ? 11 : 12);
    const GaeOptions opts{/*gamma=*/0.97, /*lambda=*/0.9, bootstrap};
    const AdvantageOutput out = gae(e.input(), opts);
    ASSERT_EQ(out.advantages.sizes(), (std::vector<int64_t>{37, 5}));
    EXPECT_EQ(out.advantages.scalar_type(), torch::kFloat);
    double max_err = 0;
    for (int t = 0; t < e.T; ++t) {
      for (int n = 0; n < e.N; ++n) {
        const double a = gae_sum(e, t, n, opts.gamma, opts.lambda, bootstrap);
        max_err = std::max(max_err, std::abs(at(out.advantages, t, n) - a));
        max_err = std::max(max_err, std::abs(at(out.returns, t, n) - (a + e.v[t][n])));
      }
    }
    EXPECT_LT(max_err, 1e-5) << "bootstrap=" << bootstrap;
  }
}

TEST(Gae, LambdaOneEqualsMonteCarloReturnMinusValues) {
  for (bool bootstrap : {false, true}) {
    const Episode e = random_episode(/*T=*/50, /*N=*/4, /*seed=*/21);
    const AdvantageInput in = e.input();
    const AdvantageOutput g = gae(in, GaeOptions{0.95, /*lambda=*/1.0, bootstrap});
    const AdvantageOutput m = mc(in, McOptions{0.95, bootstrap});
    double max_err = 0;
    for (int t = 0; t < e.T; ++t) {
      for (int n = 0; n < e.N; ++n) {
        const double G = return_sum(e, t, n, 0.95, bootstrap, /*use_next_value=*/true);
        max_err = std::max(max_err, std::abs(at(m.returns, t, n) - G));
        max_err = std::max(max_err, std::abs(at(m.advantages, t, n) - (G - e.v[t][n])));
        max_err = std::max(max_err, std::abs(at(g.advantages, t, n) - (G - e.v[t][n])));
        max_err = std::max(max_err, std::abs(at(g.returns, t, n) - G));
      }
    }
    EXPECT_LT(max_err, 1e-5) << "bootstrap=" << bootstrap;
  }
}

TEST(Gae, HandComputedThreeSteps) {
  const AdvantageOutput out = gae(three_steps(), GaeOptions{0.5, 0.5, false});
  expect_column(out.advantages, {1.59375, 2.375, 2.5});
  expect_column(out.returns, {2.09375, 3.375, 4.0});
}

TEST(Gae, TerminalStopsBootstrapping) {
  AdvantageInput in = three_steps();
  in.terminated.index_put_({1, 0}, 1.f);
  // δ1 = 2 − 1 = 1 and A1 = δ1; step 2 is a new episode (unchanged); A0 = 1 + 0.25·1.
  for (bool bootstrap : {false, true}) {
    in.final_values.index_put_({1, 0}, 4.f);
    in.truncated.index_put_({1, 0}, bootstrap ? 1.f : 0.f);  // terminated wins over truncated
    const AdvantageOutput out = gae(in, GaeOptions{0.5, 0.5, bootstrap});
    expect_column(out.advantages, {1.25, 1.0, 2.5});
  }
}

TEST(Gae, TruncationBootstrapsOnlyWhenEnabled) {
  AdvantageInput in = three_steps();
  in.truncated.index_put_({1, 0}, 1.f);
  in.final_values.index_put_({1, 0}, 4.f);
  // Off: the cut episode ends like a terminal one.
  expect_column(gae(in, GaeOptions{0.5, 0.5, false}).advantages, {1.25, 1.0, 2.5});
  // On: δ1 = 2 + 0.5·4 − 1 = 3, A1 = 3, A0 = 1 + 0.25·3 = 1.75.
  expect_column(gae(in, GaeOptions{0.5, 0.5, true}).advantages, {1.75, 3.0, 2.5});
}

TEST(Gae, RejectsMissingOrMisshapenInputs) {
  AdvantageInput in = three_steps();
  in.next_value = torch::Tensor();
  EXPECT_THROW(gae(in, GaeOptions{}), core::UserError);
  in = three_steps();
  in.next_value = torch::zeros({2});
  EXPECT_THROW(gae(in, GaeOptions{}), core::UserError);
  in = three_steps();
  in.values = torch::zeros({3, 2});
  EXPECT_THROW(gae(in, GaeOptions{}), core::UserError);
  in = three_steps();
  in.final_values = torch::Tensor();
  EXPECT_NO_THROW(gae(in, GaeOptions{0.99, 0.95, false}));
  EXPECT_THROW(gae(in, GaeOptions{0.99, 0.95, true}), core::UserError);
}

}  // namespace
}  // namespace rlpp::algo
