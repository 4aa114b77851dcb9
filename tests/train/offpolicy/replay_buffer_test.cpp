// The replay buffer against hand values and the distributions it must sample from.
#include "rlpp/train/offpolicy/replay_buffer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <vector>

#include "common/temp_dir.h"
#include "rlpp/core/error.h"
#include "rlpp/env/registry.h"
#include "rlpp/train/offpolicy/offpolicy_run.h"

namespace replay_buffer_test {

using rlpp::train::offpolicy::ReplayBuffer;
using rlpp::train::offpolicy::ReplayOptions;
using rlpp::train::offpolicy::SumTree;

// One step of N copies with obs = next_obs - 1 = `base + i` (scalar observations), action i,
// reward r[i] and the flags given.
void add_step(ReplayBuffer& rb, const std::vector<float>& obs, const std::vector<float>& reward,
              const std::vector<uint8_t>& term, const std::vector<uint8_t>& trunc, const std::vector<float>& next_obs) {
  std::vector<float> act(obs.size());
  for (size_t i = 0; i < act.size(); ++i) act[i] = static_cast<float>(i);
  rb.add(obs.data(), act.data(), reward.data(), next_obs.data(), term.data(), trunc.data());
}

// Pearson's chi-square statistic of `counts` against probabilities `p` over `draws` draws.
double chi_square(const std::vector<double>& counts, const std::vector<double>& p, double draws) {
  double x2 = 0;
  for (size_t k = 0; k < counts.size(); ++k) {
    const double e = p[k] * draws;
    x2 += (counts[k] - e) * (counts[k] - e) / e;
  }
  return x2;
}

TEST(ReplayBuffer, SumTreeFindsPrefixSums) {
  SumTree t(5);  // 8 leaves
  const double v[] = {1.0, 0.0, 2.0, 0.5, 1.5};
  for (int i = 0; i < 5; ++i) t.set(i, v[i]);
  EXPECT_DOUBLE_EQ(t.total(), 5.0);
  EXPECT_EQ(t.find(0.0), 0);
  EXPECT_EQ(t.find(0.999), 0);
  EXPECT_EQ(t.find(1.0), 2);  // leaf 1 has weight 0: skipped
  EXPECT_EQ(t.find(2.999), 2);
  EXPECT_EQ(t.find(3.0), 3);
  EXPECT_EQ(t.find(3.5), 4);
  EXPECT_EQ(t.find(4.9999), 4);
  EXPECT_EQ(t.find(5.0), 4);  // rounding past the total lands on the last positive leaf
}

// 10 stored rows, 200k draws: the chi-square statistic against 1/10 each stays below the 0.999
// quantile of chi-square with 9 degrees of freedom (27.88).
TEST(ReplayBuffer, UniformSamplingFrequencies) {
  ReplayOptions o;
  ReplayBuffer rb(16, 1, 1, 1, 0.99, o);
  for (int k = 0; k < 10; ++k) add_step(rb, {float(k)}, {float(k)}, {0}, {0}, {float(k + 1)});
  rlpp::core::Rng rng(3);
  std::vector<double> counts(10, 0.0);
  const int64_t batch = 1000, rounds = 200;
  for (int r = 0; r < rounds; ++r) {
    const auto s = rb.sample(batch, rng, 0.4);
    const float* obs = s.obs.data_ptr<float>();
    const float* w = s.weights.data_ptr<float>();
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t row = s.rows[static_cast<size_t>(b)];
      ASSERT_GE(row, 0);
      ASSERT_LT(row, 10);
      ASSERT_EQ(obs[b], float(row));  // the row's own data
      ASSERT_EQ(w[b], 1.f);
      counts[static_cast<size_t>(row)] += 1;
    }
  }
  const double x2 = chi_square(counts, std::vector<double>(10, 0.1), double(batch * rounds));
  EXPECT_LT(x2, 27.88) << "chi-square " << x2;
  EXPECT_GT(x2, 0.5) << "too good to be random";
}

// Priorities p = {1, 2, ..., 8}, alpha = 0.5: P(j) = sqrt(p_j) / sum_k sqrt(p_k) (written out in
// double here); 0.999 quantile of chi-square with 7 degrees of freedom: 24.32. Importance weights
// of a batch: (8 P(j))^-beta / max over the batch.
TEST(ReplayBuffer, ProportionalSamplingFrequenciesAndWeights) {
  ReplayOptions o;
  o.prioritized = true;
  o.alpha = 0.5;
  o.priority_eps = 1e-6;
  ReplayBuffer rb(8, 2, 1, 1, 0.99, o);
  for (int k = 0; k < 4; ++k) add_step(rb, {float(2 * k), float(2 * k + 1)}, {0, 0}, {0, 0}, {0, 0}, {0, 0});
  std::vector<int64_t> rows = {0, 1, 2, 3, 4, 5, 6, 7};
  std::vector<float> td = {1, 2, 3, 4, 5, 6, 7, 8};
  rb.update_priorities(rows, td.data());
  std::vector<double> p(8);
  double z = 0;
  for (int j = 0; j < 8; ++j) z += std::sqrt(double(j + 1) + 1e-6);
  for (int j = 0; j < 8; ++j) {
    p[static_cast<size_t>(j)] = std::sqrt(double(j + 1) + 1e-6) / z;
    EXPECT_NEAR(rb.probability(j), p[static_cast<size_t>(j)], 1e-12);
  }
  rlpp::core::Rng rng(5);
  std::vector<double> counts(8, 0.0);
  const int64_t batch = 1000, rounds = 200;
  const double beta = 0.4;
  for (int r = 0; r < rounds; ++r) {
    const auto s = rb.sample(batch, rng, beta);
    const float* obs = s.obs.data_ptr<float>();
    const float* w = s.weights.data_ptr<float>();
    double wmax = 0;
    for (int64_t b = 0; b < batch; ++b) wmax = std::max(wmax, std::pow(8.0 * p[size_t(s.rows[size_t(b)])], -beta));
    for (int64_t b = 0; b < batch; ++b) {
      const auto j = static_cast<size_t>(s.rows[static_cast<size_t>(b)]);
      counts[j] += 1;
      ASSERT_EQ(obs[b], float(j));
      ASSERT_NEAR(w[b], std::pow(8.0 * p[j], -beta) / wmax, 1e-6);
    }
  }
  const double x2 = chi_square(counts, p, double(batch * rounds));
  EXPECT_LT(x2, 24.32) << "chi-square " << x2;
  // a new row enters with the largest priority seen (8 + eps)
  add_step(rb, {8, 9}, {0, 0}, {0, 0}, {0, 0}, {0, 0});
  EXPECT_NEAR(rb.probability(0), std::sqrt(8.0 + 1e-6) / (z - 1.0 - std::sqrt(2.0) + 2 * std::sqrt(8.0 + 1e-6)), 1e-6);
}

// Two copies, n = 3, gamma = 0.5. Copy 0: rewards 1, 2, 4 (terminal at step 2), then 8, 16.
// Copy 1: rewards 1, 3 (truncated at step 1), 5, 7, 9. Hand values:
//   copy 0 step 0: 1 + 0.5*2 + 0.25*4 = 3, terminal inside: discount 0
//   copy 0 step 1: 2 + 0.5*4 = 4, discount 0
//   copy 0 step 3: 8 + 0.5*16 = 16, newest stored step after 2: discount 0.25, next_obs of step 4
//   copy 1 step 0: 1 + 0.5*3 = 2.5, truncated: discount 0.25, next_obs = its final observation
//   copy 1 step 2: 5 + 0.5*7 + 0.25*9 = 10.75, discount 0.125
TEST(ReplayBuffer, NStepReturnsAcrossEpisodeEnds) {
  ReplayOptions o;
  o.n_step = 3;
  ReplayBuffer rb(20, 2, 1, 1, 0.5, o);
  const std::vector<std::vector<float>> r = {{1, 1}, {2, 3}, {4, 5}, {8, 7}, {16, 9}};
  const std::vector<std::vector<uint8_t>> term = {{0, 0}, {0, 0}, {1, 0}, {0, 0}, {0, 0}};
  const std::vector<std::vector<uint8_t>> trunc = {{0, 0}, {0, 1}, {0, 0}, {0, 0}, {0, 0}};
  for (int t = 0; t < 5; ++t) {
    add_step(rb, {float(10 * t), float(10 * t + 1)}, r[size_t(t)], term[size_t(t)], trunc[size_t(t)],
             {float(10 * t + 100), float(10 * t + 101)});
  }
  auto row = [](int t, int i) { return int64_t(2 * t + i); };
  struct Case {
    int t, i;
    double ret, discount;
    int last_t;
  };
  for (const Case c : {Case{0, 0, 3.0, 0.0, 2}, Case{1, 0, 4.0, 0.0, 2}, Case{2, 0, 4.0, 0.0, 2},
                       Case{3, 0, 16.0, 0.25, 4}, Case{4, 0, 16.0, 0.5, 4}, Case{0, 1, 2.5, 0.25, 1},
                       Case{1, 1, 3.0, 0.5, 1}, Case{2, 1, 10.75, 0.125, 4}, Case{3, 1, 11.5, 0.25, 4}}) {
    const auto s = rb.n_step(row(c.t, c.i));
    EXPECT_DOUBLE_EQ(s.ret, c.ret) << c.t << "," << c.i;
    EXPECT_DOUBLE_EQ(s.discount, c.discount) << c.t << "," << c.i;
    EXPECT_EQ(s.last, row(c.last_t, c.i)) << c.t << "," << c.i;
  }
  // a sampled batch carries the same: next_obs of the bootstrap row
  rlpp::core::Rng rng(1);
  const auto s = rb.sample(64, rng, 0.4);
  for (int64_t b = 0; b < 64; ++b) {
    const auto n = rb.n_step(s.rows[size_t(b)]);
    EXPECT_FLOAT_EQ(s.returns[b].item<float>(), float(n.ret));
    EXPECT_FLOAT_EQ(s.discount[b].item<float>(), float(n.discount));
    EXPECT_FLOAT_EQ(s.next_obs[b][0].item<float>(), float(100 + 10 * (n.last / 2) + n.last % 2));
  }
}

// One-step: a termination stops bootstrapping, a truncation bootstraps from the stored final
// observation; a step both terminated and truncated is terminated.
TEST(ReplayBuffer, TruncationIsNotTermination) {
  ReplayOptions o;
  ReplayBuffer rb(6, 3, 1, 1, 0.9, o);
  add_step(rb, {0, 1, 2}, {1, 1, 1}, {1, 0, 1}, {0, 1, 1}, {-1, 42, -3});
  for (int i = 0; i < 3; ++i) {
    const auto s = rb.n_step(i);
    EXPECT_DOUBLE_EQ(s.ret, 1.0);
    EXPECT_DOUBLE_EQ(s.discount, i == 1 ? 0.9 : 0.0) << i;
  }
}

// Wrap-around: capacity 4 rows of 2 copies; after 3 steps the oldest step is overwritten and an
// n-step sum never runs from the newest row into the oldest.
TEST(ReplayBuffer, RingOverwritesTheOldestAndNeverWrapsIntoIt) {
  ReplayOptions o;
  o.n_step = 2;
  ReplayBuffer rb(4, 2, 1, 1, 0.5, o);
  for (int t = 0; t < 3; ++t) add_step(rb, {float(t), float(t)}, {float(t + 1), float(t + 1)}, {0, 0}, {0, 0}, {0, 0});
  EXPECT_EQ(rb.size(), 4);
  EXPECT_EQ(rb.position(), 2);
  // rows 2, 3 hold step 1 (reward 2); rows 0, 1 step 2 (reward 3, the newest)
  EXPECT_DOUBLE_EQ(rb.n_step(2).ret, 2 + 0.5 * 3);
  EXPECT_DOUBLE_EQ(rb.n_step(2).discount, 0.25);
  EXPECT_DOUBLE_EQ(rb.n_step(0).ret, 3);
  EXPECT_DOUBLE_EQ(rb.n_step(0).discount, 0.5);
}

TEST(ReplayBuffer, SaveLoadRoundTripIsExact) {
  rlpp::testing::TempDir dir("replay");
  for (const bool prioritized : {false, true}) {
    ReplayOptions o;
    o.prioritized = prioritized;
    o.n_step = 2;
    ReplayBuffer a(6, 2, 1, 1, 0.9, o);
    for (int t = 0; t < 5; ++t) {
      add_step(a, {float(t), float(t + 0.5)}, {float(t) * 0.3f, 1}, {uint8_t(t == 2), 0}, {0, uint8_t(t == 3)},
               {float(t + 1), float(t + 1.5)});
    }
    std::vector<int64_t> rows = {1, 4};
    std::vector<float> td = {3.f, 0.25f};
    a.update_priorities(rows, td.data());
    rlpp::train::CheckpointWriter w;
    a.save(w, "replay");
    const std::string path = w.commit(dir.sub(prioritized ? "p" : "u"), 1, 1);
    rlpp::train::CheckpointReader r(path);
    ReplayBuffer b(6, 2, 1, 1, 0.9, o);
    b.load(r, "replay");
    EXPECT_EQ(a.size(), b.size());
    EXPECT_EQ(a.position(), b.position());
    for (int64_t j = 0; j < 6; ++j) EXPECT_EQ(a.probability(j), b.probability(j)) << j;
    rlpp::core::Rng ra(9), rb_(9);
    const auto sa = a.sample(32, ra, 0.5), sb = b.sample(32, rb_, 0.5);
    EXPECT_EQ(sa.rows, sb.rows);
    for (const auto& [x, y] : {std::pair{sa.obs, sb.obs}, {sa.next_obs, sb.next_obs}, {sa.actions, sb.actions},
                               {sa.returns, sb.returns}, {sa.discount, sb.discount}, {sa.weights, sb.weights}}) {
      EXPECT_TRUE(torch::equal(x, y));
    }
    // a buffer of another shape is refused
    ReplayBuffer c(8, 2, 1, 1, 0.9, o);
    EXPECT_THROW(c.load(r, "replay"), rlpp::core::UserError);
  }
}

}  // namespace replay_buffer_test

namespace replay_buffer_test {

// What the trainers store as next_obs after an auto-resetting step, checked by physics: CartPole
// (pushed right until it falls) ends with |x| > 2.4 or |theta| > 0.2095 rad, while the next
// episode's first observation has every component within 0.05; Pendulum truncates at 200 steps
// and its final observation is where the pendulum is, not a fresh start.
TEST(ReplayBuffer, TrueFinalObservationAfterAutoReset) {
  rlpp::env::VecEnvOptions o;
  o.num_envs = 2;
  auto envs = rlpp::env::make("CartPole-v1", o);
  envs->reset(3);
  std::vector<float> act = {1.f, 0.f}, next(8);
  int ended = 0;
  for (int t = 0; t < 200 && ended < 4; ++t) {
    envs->step(act.data());
    rlpp::train::offpolicy::transition_next_obs(*envs, next.data());
    for (int i = 0; i < 2; ++i) {
      const float* row = next.data() + 4 * i;
      if (envs->terminated()[i]) {
        ++ended;
        EXPECT_TRUE(std::abs(row[0]) > 2.4f || std::abs(row[2]) > 0.2095f) << row[0] << " " << row[2];
        for (int k = 0; k < 4; ++k) EXPECT_LE(std::abs(envs->obs()[4 * i + k]), 0.05f);  // the reset
      } else {
        for (int k = 0; k < 4; ++k) EXPECT_EQ(row[k], envs->obs()[4 * i + k]);
      }
    }
  }
  EXPECT_EQ(ended, 4);

  o.num_envs = 1;
  auto pend = rlpp::env::make("Pendulum-v1", o);
  pend->reset(5);
  std::vector<float> torque = {0.f}, last(3), pnext(3);
  for (int t = 0; t < 200; ++t) {
    std::copy_n(pend->obs(), 3, last.begin());
    pend->step(torque.data());
    rlpp::train::offpolicy::transition_next_obs(*pend, pnext.data());
  }
  ASSERT_TRUE(pend->truncated()[0] && !pend->terminated()[0]);
  // one step of free swing from `last`: |dcos| + |dsin| <= 2 |dtheta| <= 2 * 8 * 0.05 = 0.8
  EXPECT_LT(std::abs(pnext[0] - last[0]) + std::abs(pnext[1] - last[1]), 0.9f);
  EXPECT_NE(pnext[0], pend->obs()[0]);  // the reset drew a new state
}

}  // namespace replay_buffer_test
