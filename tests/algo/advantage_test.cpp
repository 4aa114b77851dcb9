// GAE and Monte-Carlo returns against the explicit sums that define them, written out here in
// double precision, and against hand-computed examples.
#include "rlpp/algo/advantage.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <random>
#include <vector>

#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

using Grid = std::vector<std::vector<double>>;  // [t][n]

struct Episode {
  int T = 0, N = 0;
  Grid r, v, term, trunc, fv;
  std::vector<double> next_v;

  AdvantageInput input() const {
    const auto to_tensor = [&](const Grid& g) {
      std::vector<float> flat;
      for (const auto& row : g) flat.insert(flat.end(), row.begin(), row.end());
      return torch::tensor(flat).reshape({T, N});
    };
    AdvantageInput in;
    in.rewards = to_tensor(r);
    in.values = to_tensor(v);
    in.terminated = to_tensor(term) > 0.5;  // bool, as environments store it
    in.truncated = to_tensor(trunc);        // float 0/1 also accepted
    in.final_values = to_tensor(fv);
    in.next_value = torch::tensor(std::vector<float>(next_v.begin(), next_v.end()));
    return in;
  }
};

// Random rollout whose float32 values are exactly representable, so the double references see the
// same numbers the library does.
Episode random_episode(int T, int N, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> u(-2, 2);
  std::bernoulli_distribution term(0.1), trunc(0.1);
  const auto f = [](double x) { return static_cast<double>(static_cast<float>(x)); };
  Episode e;
  e.T = T;
  e.N = N;
  e.r = e.v = e.term = e.trunc = e.fv = Grid(T, std::vector<double>(N));
  for (int t = 0; t < T; ++t) {
    for (int n = 0; n < N; ++n) {
      e.r[t][n] = f(u(gen));
      e.v[t][n] = f(u(gen));
      e.term[t][n] = term(gen);
      e.trunc[t][n] = trunc(gen);
      e.fv[t][n] = f(u(gen));
    }
  }
  for (int n = 0; n < N; ++n) e.next_v.push_back(f(u(gen)));
  return e;
}

double at(const torch::Tensor& x, int t, int n) { return x.index({t, n}).item<double>(); }

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

// G_t = Σ γ^{k−t} (r_k + bootstrap term) until the episode ends, + γ^{T−t} next_value if it runs on.
double return_sum(const Episode& e, int t, int n, double gamma, bool bootstrap, bool use_next_value) {
  double sum = 0, w = 1;
  for (int k = t; k < e.T; ++k) {
    sum += w * e.r[k][n];
    if (bootstrap && e.trunc[k][n] > 0 && !(e.term[k][n] > 0)) sum += w * gamma * e.fv[k][n];
    if (e.term[k][n] > 0 || e.trunc[k][n] > 0) return sum;
    w *= gamma;
  }
  return use_next_value ? sum + w * e.next_v[n] : sum;
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

TEST(Mc, WithoutValuesOrNextValueIsThePlainReturnToGo) {
  const Episode e = random_episode(/*T=*/20, /*N=*/3, /*seed=*/5);
  AdvantageInput in = e.input();
  in.values = torch::Tensor();
  in.next_value = torch::Tensor();
  const AdvantageOutput m = mc(in, McOptions{0.9, false});
  for (int t = 0; t < e.T; ++t) {
    for (int n = 0; n < e.N; ++n) {
      const double G = return_sum(e, t, n, 0.9, false, /*use_next_value=*/false);
      EXPECT_NEAR(at(m.advantages, t, n), G, 1e-5);
      EXPECT_NEAR(at(m.returns, t, n), G, 1e-5);
    }
  }
}

// T = 3, N = 1, γ = λ = 0.5, r = (1, 2, 3), V = (0.5, 1, 1.5), next_value = 2:
//   δ = (1 + 0.5 − 0.5, 2 + 0.75 − 1, 3 + 1 − 1.5) = (1, 1.75, 2.5)
//   A2 = 2.5, A1 = 1.75 + 0.25·2.5 = 2.375, A0 = 1 + 0.25·2.375 = 1.59375.
AdvantageInput three_steps() {
  AdvantageInput in;
  in.rewards = torch::tensor({1.f, 2.f, 3.f}).reshape({3, 1});
  in.values = torch::tensor({0.5f, 1.f, 1.5f}).reshape({3, 1});
  in.terminated = torch::zeros({3, 1});
  in.truncated = torch::zeros({3, 1});
  in.next_value = torch::tensor({2.f});
  // Garbage everywhere but a truncated step: never read there.
  in.final_values = torch::full({3, 1}, 1e9f);
  return in;
}

void expect_column(const torch::Tensor& x, std::vector<double> want) {
  for (int t = 0; t < 3; ++t) EXPECT_NEAR(at(x, t, 0), want[t], 1e-6) << "t=" << t;
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

TEST(AdvantageRegistry, BuildsFromRecipeWithDefaultsAndOverrides) {
  auto& reg = advantage_registry();
  EXPECT_TRUE(reg.contains("gae"));
  EXPECT_TRUE(reg.contains("mc"));
  const core::Recipe recipe =
      core::Recipe::parse("[advantage]\nid = \"gae\"\ngamma = 0.5\nlambda = 0.5\n", "t.toml");
  auto est = build_component(reg, "gae", recipe, "advantage");
  expect_column(est->compute(three_steps()).advantages, {1.59375, 2.375, 2.5});

  const core::Recipe bad = core::Recipe::parse("[advantage]\nlamda = 0.5\n", "t.toml");
  EXPECT_THROW(build_component(reg, "gae", bad, "advantage"), core::UserError);
  const core::Recipe out_of_range = core::Recipe::parse("[advantage]\ngamma = 1.5\n", "t.toml");
  EXPECT_THROW(build_component(reg, "gae", out_of_range, "advantage"), core::UserError);
  EXPECT_THROW(reg.get("gea"), core::UserError);

  const auto rows = describe_component(reg, "gae");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].key, "gamma");
  EXPECT_EQ(rows[0].default_value, "0.99");
  EXPECT_EQ(list_advantages().size(), reg.names().size());
}

}  // namespace
}  // namespace rlpp::algo
