// CQL's Lagrange variant (cql.lagrange; young-geng/CQL conservative_sac.py, cql_lagrange): the
// critic term and α''s loss against the formulas written out again in double on a hand-built
// batch, with the gradients they must (and must not) carry; then through the trainer: α' starts
// at e, moves by Adam's first step toward the gap, the critics' loss carries α' w (P − gap), and a
// split run resumes bit-identically.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <string>
#include <vector>

#include "common/temp_dir.h"
#include "rlpp/train/offline/cql.h"
#include "rlpp/train/run.h"
#include "train/test_runs.h"

namespace cql_lagrange_test {

namespace ol = rlpp::train::offline;
using rlpp::testing::TempDir;
using namespace rlpp::testing::runs;  // rows_of, make_dataset, start
using Rows = std::vector<std::vector<double>>;

torch::Tensor t1(const std::vector<double>& v) { return torch::tensor(v, torch::kFloat64).to(torch::kFloat32); }
torch::Tensor t2(const Rows& m) {
  std::vector<torch::Tensor> rows;
  for (const auto& r : m) rows.push_back(t1(r));
  return torch::stack(rows);
}

double lse(const std::vector<double>& x) {
  const double m = *std::max_element(x.begin(), x.end());
  double s = 0;
  for (double v : x) s += std::exp(v - m);
  return m + std::log(s);
}

// One critic's values on a batch of B = 2 states, n = 3 actions per proposal.
struct Critic {
  std::vector<double> q_data;
  Rows q_rand, q_curr, q_next;
};
const Rows kLogpCurr = {{-1.0, 0.5, -0.3}, {0.1, -0.8, 1.2}}, kLogpNext = {{0.2, -2.0, -0.7}, {-1.5, 0.6, 0.9}};
const double kLogMu = -3.0 * std::log(2.0);  // uniform on [−1, 1]^3
const Critic kQ1 = {{1.5, -0.5}, {{0.2, 1.1, -0.4}, {0.9, -1.3, 0.0}}, {{1.0, 0.3, 2.0}, {-0.6, 0.4, 0.8}},
                    {{0.5, -0.2, 1.4}, {0.7, 1.9, -1.0}}};
const Critic kQ2 = {{0.8, 0.1}, {{-0.7, 0.6, 1.2}, {0.3, 0.2, -0.9}}, {{0.4, 1.6, -0.5}, {1.1, -0.2, 0.6}},
                    {{-1.2, 0.9, 0.3}, {0.0, 0.5, 1.7}}};

// Terms of the importance-sampled log-sum-exp for state b, in the proposals' order (rand, next, curr).
std::vector<double> terms(const Critic& c, int b) {
  std::vector<double> t;
  for (int k = 0; k < 3; ++k) t.push_back(c.q_rand[b][k] - kLogMu);
  for (int k = 0; k < 3; ++k) t.push_back(c.q_next[b][k] - kLogpNext[b][k]);
  for (int k = 0; k < 3; ++k) t.push_back(c.q_curr[b][k] - kLogpCurr[b][k]);
  return t;
}
// P = mean_b (log Σ exp(terms) − Q(s_b, a_b)) at temperature 1.
double penalty(const Critic& c) {
  double p = 0;
  for (int b = 0; b < 2; ++b) p += (lse(terms(c, b)) - c.q_data[b]) / 2.0;
  return p;
}

struct Leaves {
  torch::Tensor q_data, q_rand;  // requiring grad
  torch::Tensor pen;             // ()
};
Leaves penalty_of(const Critic& c) {
  Leaves l;
  l.q_data = t1(c.q_data).requires_grad_(true);
  l.q_rand = t2(c.q_rand).requires_grad_(true);
  l.pen = ol::cql_penalty(l.q_data, l.q_rand, kLogMu, t2(c.q_curr), t2(kLogpCurr), t2(c.q_next), t2(kLogpNext), 1.0,
                          /*importance_sample=*/true);
  return l;
}

TEST(CqlLagrange, TermsAndGradientsMatchTheDoubleRederivation) {
  const double w = 5.0;
  for (double gap : {1.0, 10.0}) {
    const double p1 = penalty(kQ1), p2 = penalty(kQ2);
    const double a = std::exp(1.0);  // α' at log α' = 1
    Leaves l1 = penalty_of(kQ1), l2 = penalty_of(kQ2);
    torch::Tensor log_ap = torch::full({1}, 1.0, torch::kFloat32).requires_grad_(true);
    const ol::CqlLagrange lg = ol::cql_lagrange_terms(log_ap, l1.pen, l2.pen, w, gap);
    EXPECT_NEAR(lg.alpha_prime, a, 1e-6 * a);
    EXPECT_NEAR(lg.critic_term.item<double>(), a * w * ((p1 - gap) + (p2 - gap)), 1e-4) << gap;
    EXPECT_NEAR(lg.alpha_prime_loss.item<double>(), -0.5 * a * w * ((p1 - gap) + (p2 - gap)), 1e-4) << gap;

    // α''s loss reaches log α' only: dL/dlog α' = −½ α' w Σ_k (P_k − gap), nothing into the critics
    lg.alpha_prime_loss.backward(/*gradient=*/{}, /*retain_graph=*/true);
    EXPECT_NEAR(log_ap.grad().item<double>(), -0.5 * a * w * ((p1 - gap) + (p2 - gap)), 1e-4) << gap;
    EXPECT_FALSE(l1.q_data.grad().defined() && l1.q_data.grad().abs().sum().item<double>() > 0);
    EXPECT_FALSE(l2.q_rand.grad().defined() && l2.q_rand.grad().abs().sum().item<double>() > 0);

    // the critic term reaches the critics only, as α' w times the penalty's gradient:
    // ∂/∂q_data_b = −α' w / B, ∂/∂q_rand_{b,k} = α' w softmax_k / B
    log_ap.mutable_grad() = torch::Tensor();
    lg.critic_term.backward();
    EXPECT_FALSE(log_ap.grad().defined() && log_ap.grad().abs().sum().item<double>() > 0);
    for (const auto& [leaves, c] : {std::pair<Leaves*, const Critic*>{&l1, &kQ1}, {&l2, &kQ2}}) {
      for (int b = 0; b < 2; ++b) {
        EXPECT_NEAR(leaves->q_data.grad()[b].item<double>(), -a * w / 2.0, 1e-5);
        const std::vector<double> t = terms(*c, b);
        const double z = lse(t);
        for (int k = 0; k < 3; ++k)
          EXPECT_NEAR(leaves->q_rand.grad()[b][k].item<double>(), a * w * std::exp(t[static_cast<size_t>(k)] - z) / 2.0,
                      1e-5);
      }
    }
  }
}

// Above 1e6 the clamp holds α' there and stops the gradient into log α' (torch.clamp's).
TEST(CqlLagrange, AlphaPrimeIsClampedAtOneMillion) {
  Leaves l1 = penalty_of(kQ1), l2 = penalty_of(kQ2);
  torch::Tensor log_ap = torch::full({1}, 15.0, torch::kFloat32).requires_grad_(true);  // e^15 ≈ 3.3e6
  const ol::CqlLagrange lg = ol::cql_lagrange_terms(log_ap, l1.pen, l2.pen, 5.0, 1.0);
  EXPECT_DOUBLE_EQ(lg.alpha_prime, 1e6);
  const double term = 1e6 * 5.0 * (penalty(kQ1) + penalty(kQ2) - 2.0);
  EXPECT_NEAR(lg.critic_term.item<double>(), term, 1e-6 * std::abs(term));  // float32 at 2.5e7
  lg.alpha_prime_loss.backward();
  EXPECT_EQ(log_ap.grad().item<double>(), 0.0);
}

// Small Lagrange runs on a Pendulum dataset: one gradient step per row.
std::vector<std::string> small(const std::string& data, double gap, int64_t rows) {
  return {"run.total_steps=" + std::to_string(rows), "offline.gradient_steps=1", "offline.batch_size=16",
          "offline.eval_every=0",  "offline.eval_episodes=1", "run.checkpoint_every=0",
          "dataset.path=\"" + data + "\"", "env.name=\"Pendulum-v1\"", "cql.hidden=[16, 16]", "cql.n_actions=3",
          "cql.lagrange=true", "cql.target_action_gap=" + std::to_string(gap)};
}

// Row 1 logs α' = e before its first step and L_α' = −α' w (P̄ − gap) with P̄ the mean penalty; the
// critics' loss is the two MSEs plus α' w · 2 (P̄ − gap); Adam's first step moves log α' by
// lr · sign(P̄ − gap) (m̂/√v̂ = sign g), so row 2 logs exp(1 ± 3e-4): up while the penalty is above
// the gap, down below it.
TEST(CqlLagrange, TrainerStepsAlphaPrimeTowardTheGap) {
  TempDir dir("cql-lagrange");
  const std::string data = dir / "pendulum.hdf5";
  make_dataset("Pendulum-v1", 1000, data);
  const double w = 5.0, lr = 3e-4;
  for (double gap : {-100.0, 1.0, 100.0}) {
    const std::string out = dir / ("run" + std::to_string(static_cast<int>(gap)));
    ASSERT_TRUE(start("offline_hopper_cql.toml", out, small(data, gap, 3)).finished);
    const auto rows = rows_of(out);
    ASSERT_EQ(rows.size(), 3u);
    const double a1 = rows[0].at("cql/alpha_prime").get<double>();
    const double p1 = rows[0].at("losses/cql_penalty").get<double>();
    EXPECT_NEAR(a1, std::exp(1.0), 1e-6);
    EXPECT_NEAR(rows[0].at("cql/alpha_prime_loss").get<double>(), -a1 * w * (p1 - gap), 1e-4 * (1 + std::abs(gap)));
    const double qf = rows[0].at("losses/qf1_loss").get<double>() + rows[0].at("losses/qf2_loss").get<double>() +
                      a1 * w * 2.0 * (p1 - gap);
    EXPECT_NEAR(rows[0].at("losses/qf_loss").get<double>(), qf, 1e-4 * (1 + std::abs(qf))) << gap;
    const double sign = p1 > gap ? 1.0 : -1.0;
    EXPECT_NEAR(std::log(rows[1].at("cql/alpha_prime").get<double>()), 1.0 + sign * lr, 1e-6) << gap;
    if (gap == -100.0) EXPECT_GT(rows[2].at("cql/alpha_prime").get<double>(), rows[1].at("cql/alpha_prime").get<double>());
    if (gap == 100.0) EXPECT_LT(rows[2].at("cql/alpha_prime").get<double>(), rows[1].at("cql/alpha_prime").get<double>());
  }
}

// Without the variant the rows carry no α'.
TEST(CqlLagrange, OffByDefault) {
  TempDir dir("cql-lagrange-off");
  const std::string data = dir / "pendulum.hdf5", out = dir / "run";
  make_dataset("Pendulum-v1", 1000, data);
  std::vector<std::string> sets = small(data, 1.0, 2);
  sets.pop_back();
  sets.pop_back();
  ASSERT_TRUE(start("offline_hopper_cql.toml", out, sets).finished);
  for (const auto& row : rows_of(out)) EXPECT_FALSE(row.contains("cql/alpha_prime"));
}

// 6 steps in one call equal 3, a checkpoint (with log α' and its Adam), a resume and 3 more.
TEST(CqlLagrange, ResumeIsBitIdentical) {
  TempDir dir("cql-lagrange-resume");
  const std::string data = dir / "pendulum.hdf5", whole = dir / "whole", split = dir / "split";
  make_dataset("Pendulum-v1", 1000, data);
  const auto sets = small(data, 1.0, 6);
  ASSERT_TRUE(start("offline_hopper_cql.toml", whole, sets).finished);
  ASSERT_FALSE(start("offline_hopper_cql.toml", split, sets, /*stop_after=*/3).finished);
  std::atomic<bool> stop{false};
  ASSERT_TRUE(rlpp::train::resume_run(split, {}, 0, true, stop).finished);
  const auto a = rows_of(whole), b = rows_of(split);
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), 6u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].size(), b[i].size()) << "row " << i;
    for (auto& [key, value] : a[i].items()) {
      if (key == "charts/SPS") continue;
      EXPECT_EQ(value, b[i].at(key)) << "row " << i << " metric " << key;
    }
  }
}

}  // namespace cql_lagrange_test
