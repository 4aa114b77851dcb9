// Shared inputs and references of the advantage-estimator tests: control rollouts (time-major,
// float32-exact values) with the return-to-go written out in double, and language batches
// (groups of responses with ragged lengths) with the group formulas written out in double.
#pragma once
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "rlpp/algo/advantage.h"

namespace rlpp::algo::adv_test {

// ---- control rollouts -------------------------------------------------------------------------

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
inline Episode random_episode(int T, int N, uint64_t seed) {
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

inline double at(const torch::Tensor& x, int t, int n) { return x.index({t, n}).item<double>(); }

// G_t = Σ γ^{k−t} (r_k + bootstrap term) until the episode ends, + γ^{T−t} next_value if it runs on.
inline double return_sum(const Episode& e, int t, int n, double gamma, bool bootstrap, bool use_next_value) {
  double sum = 0, w = 1;
  for (int k = t; k < e.T; ++k) {
    sum += w * e.r[k][n];
    if (bootstrap && e.trunc[k][n] > 0 && !(e.term[k][n] > 0)) sum += w * gamma * e.fv[k][n];
    if (e.term[k][n] > 0 || e.trunc[k][n] > 0) return sum;
    w *= gamma;
  }
  return use_next_value ? sum + w * e.next_v[n] : sum;
}

// T = 3, N = 1, γ = λ = 0.5, r = (1, 2, 3), V = (0.5, 1, 1.5), next_value = 2:
//   δ = (1 + 0.5 − 0.5, 2 + 0.75 − 1, 3 + 1 − 1.5) = (1, 1.75, 2.5)
//   A2 = 2.5, A1 = 1.75 + 0.25·2.5 = 2.375, A0 = 1 + 0.25·2.375 = 1.59375.
inline AdvantageInput three_steps() {
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

inline void expect_column(const torch::Tensor& x, std::vector<double> want) {
  for (int t = 0; t < 3; ++t) EXPECT_NEAR(at(x, t, 0), want[t], 1e-6) << "t=" << t;
}

// ---- language batches -------------------------------------------------------------------------

constexpr double kEps = 1e-6;

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
inline Batch random_batch(uint64_t seed) {
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

inline double mean_of(const Batch& b, const std::vector<size_t>& g) {
  double s = 0;
  for (size_t j : g) s += b.r[j];
  return s / g.size();
}

inline double std_of(const Batch& b, const std::vector<size_t>& g) {  // unbiased
  const double m = mean_of(b, g);
  double ss = 0;
  for (size_t j : g) ss += (b.r[j] - m) * (b.r[j] - m);
  return std::sqrt(ss / (g.size() - 1));
}

inline double grpo_ref(const Batch& b, size_t i) {
  const auto g = b.group(i);
  if (g.size() == 1) return 0;
  return (b.r[i] - mean_of(b, g)) / (std_of(b, g) + kEps);
}

inline double dr_grpo_ref(const Batch& b, size_t i) { return b.r[i] - mean_of(b, b.group(i)); }

inline double rloo_ref(const Batch& b, size_t i) {  // leave-one-out mean, summed directly
  const auto g = b.group(i);
  if (g.size() == 1) return 0;
  double others = 0;
  for (size_t j : g)
    if (j != i) others += b.r[j];
  return b.r[i] - others / (g.size() - 1);
}

inline double opo_ref(const Batch& b, size_t i) {
  double num = 0, den = 0;
  for (size_t j : b.group(i)) {
    num += b.len[j] * b.r[j];
    den += b.len[j];
  }
  return b.r[i] - num / den;
}

inline double passk_ref(const Batch& b, size_t i) {
  const auto g = b.group(i);
  if (g.size() == 1) return 0;
  std::vector<double> rs;
  for (size_t j : g) rs.push_back(b.r[j]);
  std::sort(rs.rbegin(), rs.rend());
  if (b.r[i] != rs[0] || rs[0] == rs[1]) return 0;
  return (rs[0] - rs[1]) / (std_of(b, g) + kEps);
}

inline double hapo_ref(const Batch& b, size_t i) {
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

inline AdvantageOutput run(const std::string& name, const AdvantageInput& in) {
  return build_default(advantage_registry(), name)->compute(in);
}

// advantages[i, t] = A_i on valid tokens, exactly 0 on masked ones; returns = advantages.
inline void expect_broadcast(const AdvantageOutput& out, const Batch& b, const std::vector<double>& a,
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

}  // namespace rlpp::algo::adv_test
