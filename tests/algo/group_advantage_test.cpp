// Group advantage estimators (grpo, dr_grpo, rloo, opo, grpo_passk, hapo_tga) against their
// per-group formulas written out here in double with explicit loops, and hand-computed groups.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "rlpp/algo/advantage.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

constexpr double kEps = 1e-6;
const std::vector<std::string> kGroupEstimators = {"grpo", "dr_grpo", "rloo", "opo", "grpo_passk", "hapo_tga"};

// A language batch: response i has reward r[i], group id[i] and its first len[i] of L tokens valid.
struct Batch {
  std::vector<double> r;
  std::vector<int64_t> id;
  std::vector<int64_t> len;
  int64_t L = 6;

  AdvantageInput input() const {
    const int64_t B = static_cast<int64_t>(r.size());
    AdvantageInput in;
    in.seq_rewards = torch::tensor(std::vector<float>(r.begin(), r.end()));
    in.group_ids = torch::tensor(id);
    in.lengths = torch::tensor(std::vector<float>(len.begin(), len.end()));
    in.mask = torch::zeros({B, L});
    for (int64_t i = 0; i < B; ++i) in.mask.index_put_({i, torch::indexing::Slice(0, len[i])}, 1.0);
    return in;
  }
  // Indices of the responses in i's group.
  std::vector<size_t> group(size_t i) const {
    std::vector<size_t> g;
    for (size_t j = 0; j < r.size(); ++j)
      if (id[j] == id[i]) g.push_back(j);
    return g;
  }
};

// Random batch with float-exact rewards, a singleton group and groups of varied sizes.
Batch random_batch(uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> u(-1, 2);
  std::uniform_int_distribution<int64_t> len(1, 6);
  const std::vector<int64_t> ids = {17, -3, 1000, 5, 5, 17, 17, 99, -3, 1000, 5, 17, 1000, -3, 5, 2};
  Batch b;
  for (int64_t g : ids) {
    b.id.push_back(g);
    b.r.push_back(static_cast<float>(u(gen)));
    b.len.push_back(len(gen));
  }
  return b;
}

double mean_of(const Batch& b, const std::vector<size_t>& g) {
  double s = 0;
  for (size_t j : g) s += b.r[j];
  return s / g.size();
}

double std_of(const Batch& b, const std::vector<size_t>& g) {  // unbiased
  const double m = mean_of(b, g);
  double ss = 0;
  for (size_t j : g) ss += (b.r[j] - m) * (b.r[j] - m);
  return std::sqrt(ss / (g.size() - 1));
}

double grpo_ref(const Batch& b, size_t i) {
  const auto g = b.group(i);
  if (g.size() == 1) return 0;
  return (b.r[i] - mean_of(b, g)) / (std_of(b, g) + kEps);
}

double dr_grpo_ref(const Batch& b, size_t i) { return b.r[i] - mean_of(b, b.group(i)); }

double rloo_ref(const Batch& b, size_t i) {  // leave-one-out mean, summed directly
  const auto g = b.group(i);
  if (g.size() == 1) return 0;
  double others = 0;
  for (size_t j : g)
    if (j != i) others += b.r[j];
  return b.r[i] - others / (g.size() - 1);
}

double opo_ref(const Batch& b, size_t i) {
  double num = 0, den = 0;
  for (size_t j : b.group(i)) {
    num += b.len[j] * b.r[j];
    den += b.len[j];
  }
  return b.r[i] - num / den;
}

double passk_ref(const Batch& b, size_t i) {
  const auto g = b.group(i);
  if (g.size() == 1) return 0;
  std::vector<double> rs;
  for (size_t j : g) rs.push_back(b.r[j]);
  std::sort(rs.rbegin(), rs.rend());
  if (b.r[i] != rs[0] || rs[0] == rs[1]) return 0;
  return (rs[0] - rs[1]) / (std_of(b, g) + kEps);
}

double hapo_ref(const Batch& b, size_t i) {
  const auto g = b.group(i);
  double w = 0, wr = 0;
  for (size_t j : g) {
    w += b.len[j];
    wr += b.len[j] * b.r[j];
  }
  const double mu = wr / w;
  double wss = 0;
  for (size_t j : g) wss += b.len[j] * (b.r[j] - mu) * (b.r[j] - mu);
  const double sigma = std::sqrt(wss / w);
  for (size_t j : g)
    if (std::abs((b.r[j] - mu) / (sigma + kEps)) >= 5.0) return grpo_ref(b, i);
  return (b.r[i] - mu) / (sigma + kEps);
}

using Ref = std::function<double(const Batch&, size_t)>;

AdvantageOutput run(const std::string& name, const AdvantageInput& in) {
  return build_default(advantage_registry(), name)->compute(in);
}

// advantages[i, t] = A_i on valid tokens, exactly 0 on masked ones; returns = advantages.
void expect_broadcast(const AdvantageOutput& out, const Batch& b, const std::vector<double>& a,
                      const std::string& what) {
  ASSERT_EQ(out.advantages.sizes(), (std::vector<int64_t>{static_cast<int64_t>(b.r.size()), b.L})) << what;
  ASSERT_EQ(out.advantages.scalar_type(), torch::kFloat) << what;
  ASSERT_TRUE(out.returns.defined()) << what;
  EXPECT_TRUE(torch::equal(out.returns, out.advantages)) << what;
  const auto acc = out.advantages.accessor<float, 2>();
  double max_diff = 0;
  for (size_t i = 0; i < b.r.size(); ++i) {
    for (int64_t t = 0; t < b.L; ++t) {
      if (t < b.len[i]) {
        max_diff = std::max(max_diff, std::abs(acc[i][t] - a[i]) / (1 + std::abs(a[i])));
      } else {
        EXPECT_EQ(acc[i][t], 0.0f) << what << " masked token (" << i << ", " << t << ")";
      }
    }
  }
  EXPECT_LT(max_diff, 1e-5) << what;
}

void expect_matches(const std::string& name, const Ref& ref, const Batch& b) {
  std::vector<double> a;
  for (size_t i = 0; i < b.r.size(); ++i) a.push_back(ref(b, i));
  expect_broadcast(run(name, b.input()), b, a, name);
}

TEST(GroupAdvantage, MatchesPerGroupFormulasOnRandomBatches) {
  for (uint64_t seed : {1, 2, 3, 4, 5}) {
    const Batch b = random_batch(seed);
    expect_matches("grpo", grpo_ref, b);
    expect_matches("dr_grpo", dr_grpo_ref, b);
    expect_matches("rloo", rloo_ref, b);
    expect_matches("opo", opo_ref, b);
    expect_matches("grpo_passk", passk_ref, b);
    expect_matches("hapo_tga", hapo_ref, b);
  }
}

TEST(GroupAdvantage, HandComputedGroups) {
  Batch b{{1, 0, 0, 1}, {0, 0, 0, 0}, {2, 3, 1, 6}};
  // mean 0.5, unbiased std sqrt(1/3): ±0.5/(0.5773503 + 1e-6).
  expect_broadcast(run("grpo", b.input()), b, {0.866024, -0.866024, -0.866024, 0.866024}, "grpo");

  b = Batch{{1, 2, 3, 6}, {4, 4, 4, 4}, {1, 1, 1, 1}};
  expect_broadcast(run("dr_grpo", b.input()), b, {-2, -1, 0, 3}, "dr_grpo");
  // 1 − 11/3, 2 − 10/3, 3 − 3, 6 − 2.
  expect_broadcast(run("rloo", b.input()), b, {-8.0 / 3, -4.0 / 3, 0, 4}, "rloo");

  b = Batch{{1, 0}, {0, 0}, {3, 1}};
  expect_broadcast(run("opo", b.input()), b, {0.25, -0.75}, "opo");  // baseline (3·1 + 1·0)/4

  b = Batch{{0.25, 1.0, 0.5}, {0, 0, 0}, {1, 1, 1}};
  // gap 0.5, unbiased std of {0.25, 1, 0.5} = sqrt(0.1458333).
  expect_broadcast(run("grpo_passk", b.input()), b, {0, 0.5 / (std::sqrt(0.4375 / 3) + kEps), 0}, "grpo_passk");
  b = Batch{{1.0, 1.0, 0.5}, {0, 0, 0}, {1, 1, 1}};  // tied best: no credit
  expect_broadcast(run("grpo_passk", b.input()), b, {0, 0, 0}, "grpo_passk tie");

  b = Batch{{1, 0}, {0, 0}, {1, 3}};
  // μ = 1/4, σ = sqrt((0.75² + 3·0.25²)/4) = sqrt(0.1875).
  expect_broadcast(run("hapo_tga", b.input()), b, {1.7320508, -0.5773503}, "hapo_tga");
}

TEST(GroupAdvantage, HapoTgaFallsBackToGrpoOnOutlierGroups) {
  // μ = 3/103 and σ ≈ 0.168 make the short correct answers ≈ 5.77 ≥ 5: group 0 falls back.
  // Group 1 (equal lengths) stays token-level: there μ and σ are the plain (biased) mean and std.
  Batch b{{0, 1, 1, 1, 1, 0}, {0, 0, 0, 0, 1, 1}, {6, 1, 1, 1, 2, 2}};
  b.L = 6;
  AdvantageInput in = b.input();
  in.lengths = torch::tensor(std::vector<float>{100, 1, 1, 1, 2, 2});
  // grpo on {0, 1, 1, 1}: mean 0.75, std 0.5.
  const double hi = 0.25 / (0.5 + kEps), lo = -0.75 / (0.5 + kEps);
  expect_broadcast(run("hapo_tga", in), b, {lo, hi, hi, hi, 0.5 / (0.5 + kEps), -0.5 / (0.5 + kEps)}, "hapo_tga");
}

TEST(GroupAdvantage, InvariantToRowOrderAndGroupLabels) {
  const Batch b = random_batch(11);
  std::vector<size_t> perm(b.r.size());
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), std::mt19937_64(7));
  Batch p = b;
  for (size_t k = 0; k < perm.size(); ++k) {
    p.r[k] = b.r[perm[k]];
    p.id[k] = b.id[perm[k]] * 31 + 4;  // a different labelling of the same groups
    p.len[k] = b.len[perm[k]];
  }
  const torch::Tensor index = torch::tensor(std::vector<int64_t>(perm.begin(), perm.end()));
  for (const auto& name : kGroupEstimators) {
    const torch::Tensor a = run(name, b.input()).advantages.index_select(0, index);
    const torch::Tensor ap = run(name, p.input()).advantages;
    EXPECT_LT((a - ap).abs().max().item<double>(), 1e-6) << name;
    EXPECT_GT(a.abs().max().item<double>(), 0.1) << name;  // the comparison is not vacuous
  }
}

TEST(GroupAdvantage, EqualRewardsAndSingletonGroupsGiveZeroWithoutNaN) {
  const Batch b{{0.7f, 0.7f, 0.7f, -1.3f, -1.3f, 2.5f}, {1, 1, 1, 2, 2, 3}, {2, 5, 1, 3, 4, 6}};
  for (const auto& name : kGroupEstimators) {
    const torch::Tensor a = run(name, b.input()).advantages;
    EXPECT_TRUE(torch::isfinite(a).all().item<bool>()) << name;
    EXPECT_LT(a.abs().max().item<double>(), 1e-6) << name;
  }
}

TEST(GroupAdvantage, LengthsDefaultToMaskRowSums) {
  const Batch b = random_batch(21);
  AdvantageInput in = b.input();
  in.lengths = torch::Tensor();
  for (const std::string name : {"opo", "hapo_tga"}) {
    EXPECT_TRUE(torch::allclose(run(name, in).advantages, run(name, b.input()).advantages)) << name;
  }
}

TEST(GroupAdvantage, RejectsMissingOrMisshapenInputs) {
  const Batch b = random_batch(3);
  for (const auto& name : kGroupEstimators) {
    AdvantageInput in = b.input();
    in.group_ids = torch::Tensor();
    EXPECT_THROW(run(name, in), core::UserError) << name;
    in = b.input();
    in.group_ids = in.group_ids.to(torch::kFloat);
    EXPECT_THROW(run(name, in), core::UserError) << name;
    in = b.input();
    in.mask = in.mask.slice(0, 1);
    EXPECT_THROW(run(name, in), core::UserError) << name;
    in = b.input();
    in.seq_rewards = in.seq_rewards.unsqueeze(1);
    EXPECT_THROW(run(name, in), core::UserError) << name;
  }
  AdvantageInput in = b.input();
  in.lengths = in.lengths.slice(0, 1);
  EXPECT_THROW(run("opo", in), core::UserError);
}

TEST(GroupAdvantage, RegisteredWithOptions) {
  auto& reg = advantage_registry();
  for (const auto& name : kGroupEstimators) EXPECT_TRUE(reg.contains(name)) << name;
  EXPECT_TRUE(reg.contains("reinforce_pp"));
  EXPECT_TRUE(reg.contains("reinforce_pp_baseline"));
  const core::Recipe recipe = core::Recipe::parse("[advantage]\nid = \"grpo\"\neps = 0.5\n", "t.toml");
  const Batch b{{1, 0}, {0, 0}, {1, 1}};
  // std of {1, 0} = sqrt(0.5): 0.5/(0.7071068 + 0.5).
  const double a = 0.5 / (std::sqrt(0.5) + 0.5);
  expect_broadcast(build_component(reg, "grpo", recipe, "advantage")->compute(b.input()), b, {a, -a}, "grpo eps");
  const core::Recipe bad = core::Recipe::parse("[advantage]\neps = 0\n", "t.toml");
  EXPECT_THROW(build_component(reg, "grpo", bad, "advantage"), core::UserError);
  const core::Recipe unknown = core::Recipe::parse("[advantage]\neps = 0.1\n", "t.toml");
  EXPECT_THROW(build_component(reg, "rloo", unknown, "advantage"), core::UserError);
  const auto rows = describe_component(reg, "hapo_tga");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].key, "fallback_threshold");
}

// REINFORCE++ reference: token rewards plus R on the last valid token, discounted return by the
// explicit sum, whitened with the population mean and std over the valid tokens.
struct ReinforceRef {
  std::vector<std::vector<double>> adv, ret;
};

ReinforceRef reinforce_ref(const Batch& b, const std::vector<std::vector<double>>& tok,
                           const std::vector<double>& seq, double gamma, double eps) {
  const size_t B = b.r.size();
  std::vector<std::vector<double>> r(B, std::vector<double>(b.L, 0.0)), g = r;
  for (size_t i = 0; i < B; ++i) {
    for (int64_t t = 0; t < b.len[i]; ++t) r[i][t] = tok[i][t];
    if (b.len[i] > 0) r[i][b.len[i] - 1] += seq[i];
  }
  double sum = 0, n = 0;
  for (size_t i = 0; i < B; ++i) {
    for (int64_t t = 0; t < b.len[i]; ++t) {
      for (int64_t k = t; k < b.L; ++k) g[i][t] += std::pow(gamma, k - t) * r[i][k];
      sum += g[i][t];
      n += 1;
    }
  }
  const double mean = sum / n;
  double ss = 0;
  for (size_t i = 0; i < B; ++i)
    for (int64_t t = 0; t < b.len[i]; ++t) ss += (g[i][t] - mean) * (g[i][t] - mean);
  const double sd = std::sqrt(ss / n);
  ReinforceRef out{std::vector<std::vector<double>>(B, std::vector<double>(b.L, 0.0)), g};
  for (size_t i = 0; i < B; ++i) {
    for (int64_t t = 0; t < b.L; ++t) {
      if (t < b.len[i]) {
        out.adv[i][t] = (g[i][t] - mean) / (sd + eps);
      } else {
        out.ret[i][t] = 0;
      }
    }
  }
  return out;
}

void expect_grid(const torch::Tensor& x, const std::vector<std::vector<double>>& ref, const std::string& what) {
  ASSERT_EQ(x.size(0), static_cast<int64_t>(ref.size())) << what;
  const auto acc = x.accessor<float, 2>();
  double max_diff = 0;
  for (size_t i = 0; i < ref.size(); ++i)
    for (size_t t = 0; t < ref[i].size(); ++t)
      max_diff = std::max(max_diff, std::abs(acc[i][t] - ref[i][t]) / (1 + std::abs(ref[i][t])));
  EXPECT_LT(max_diff, 1e-5) << what;
}

TEST(ReinforcePp, MatchesExplicitReturnsAndBatchWhitening) {
  Batch b = random_batch(31);
  b.len[3] = 0;  // an empty response gets no reward and no advantage
  std::mt19937_64 gen(5);
  std::uniform_real_distribution<double> u(-0.1, 0.1);
  std::vector<std::vector<double>> tok(b.r.size(), std::vector<double>(b.L));
  for (auto& row : tok)
    for (auto& x : row) x = static_cast<float>(u(gen));
  AdvantageInput in = b.input();
  in.token_rewards = torch::zeros({static_cast<int64_t>(b.r.size()), b.L});
  for (size_t i = 0; i < tok.size(); ++i)
    for (int64_t t = 0; t < b.L; ++t) in.token_rewards.index_put_({static_cast<int64_t>(i), t}, tok[i][t]);
  in.token_rewards.masked_fill_(in.mask < 0.5, 1e3);  // padding values must not leak in

  for (double gamma : {1.0, 0.9}) {
    const ReinforcePpOptions opts{gamma, 1e-8};
    const auto want = reinforce_ref(b, tok, b.r, gamma, 1e-8);
    const AdvantageOutput out = reinforce_pp(in, opts);
    expect_grid(out.advantages, want.adv, "reinforce_pp advantages");
    expect_grid(out.returns, want.ret, "reinforce_pp returns");

    std::vector<double> centred;
    for (size_t i = 0; i < b.r.size(); ++i) centred.push_back(dr_grpo_ref(b, i));
    const auto want_b = reinforce_ref(b, tok, centred, gamma, 1e-8);
    const AdvantageOutput out_b = reinforce_pp_baseline(in, opts);
    expect_grid(out_b.advantages, want_b.adv, "reinforce_pp_baseline advantages");
    expect_grid(out_b.returns, want_b.ret, "reinforce_pp_baseline returns");
  }
}

TEST(ReinforcePp, HandComputed) {
  // γ = 1, no token rewards: returns are R on every valid token; over the 3 + 1 valid tokens
  // G = {1, 1, 1, 0}: mean 0.75, population std sqrt(3)/4.
  const Batch b{{1, 0}, {0, 0}, {3, 1}, 3};
  const AdvantageOutput out = run("reinforce_pp", b.input());
  const double s = std::sqrt(3.0) / 4;
  expect_grid(out.advantages, {{0.25 / s, 0.25 / s, 0.25 / s}, {-0.75 / s, 0, 0}}, "reinforce_pp");
  expect_grid(out.returns, {{1, 1, 1}, {0, 0, 0}}, "reinforce_pp returns");
  // Each response alone in its group: R − mean = 0 everywhere, so 0 and no NaN.
  const Batch single{{1, 0}, {0, 1}, {3, 1}, 3};
  const AdvantageOutput zero = run("reinforce_pp_baseline", single.input());
  EXPECT_TRUE(torch::isfinite(zero.advantages).all().item<bool>());
  EXPECT_EQ(zero.advantages.abs().max().item<double>(), 0.0);
}

}  // namespace
}  // namespace rlpp::algo
