// CQL's fast critic step (cql.backend = "fast", fast_cql_critic.h) against the LibTorch reference:
// the loss and every parameter's gradient of one critic on the same rows (autograd through
// ContinuousQ and cql_penalty), over several chunks, with and without importance sampling; then
// whole runs of both backends side by side (losses close step by step), and a fast run's
// bit-identical resume.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cmath>
#include <string>
#include <vector>

#include "common/temp_dir.h"
#include "rlpp/train/offline/cql.h"
#include "rlpp/train/offline/fast_cql_critic.h"
#include "rlpp/train/offpolicy/networks.h"
#include "rlpp/train/run.h"
#include "train/test_runs.h"

namespace fast_cql_critic_test {

namespace ol = rlpp::train::offline;
using rlpp::testing::TempDir;
using namespace rlpp::testing::runs;  // rows_of, make_dataset, start

double max_abs(const torch::Tensor& t) { return t.abs().max().item<double>(); }

void check_against_autograd(const std::vector<int64_t>& hidden) {
  torch::manual_seed(3);
  const int64_t S = 4, A = 2, B = 37, n = 3;  // 37 states: chunks of 16, 16 and 5
  rlpp::train::offpolicy::ContinuousQ q(S, A, hidden);
  const torch::Tensor obs = torch::randn({B, S}), actions = torch::rand({B, A}) * 2 - 1;
  const torch::Tensor rand_a = torch::rand({B * n, A}) * 2 - 1, curr_a = torch::tanh(torch::randn({B * n, A})),
                      next_a = torch::tanh(torch::randn({B * n, A}));
  const torch::Tensor target = torch::randn({B}), logp_curr = torch::randn({B, n}), logp_next = torch::randn({B, n});
  const double log_mu = -A * std::log(2.0), w = 5.0;

  // the layout: state b's rows are [s_b, a_b], then [s_b, ã] for rand, curr, next
  const torch::Tensor x = ol::cql_state_major_rows(obs, actions, rand_a, curr_a, next_a);
  ASSERT_EQ(x.size(0), B * (1 + 3 * n));
  EXPECT_TRUE(torch::equal(x[5 * 10 + 0], torch::cat({obs[5], actions[5]})));
  EXPECT_TRUE(torch::equal(x[5 * 10 + 1 + 2], torch::cat({obs[5], rand_a[5 * n + 2]})));
  EXPECT_TRUE(torch::equal(x[5 * 10 + 1 + n + 1], torch::cat({obs[5], curr_a[5 * n + 1]})));
  EXPECT_TRUE(torch::equal(x[5 * 10 + 1 + 2 * n], torch::cat({obs[5], next_a[5 * n]})));

  for (bool importance : {true, false}) {
    for (double temp : {1.0, 0.5}) {
      // reference: autograd on the rows segment by segment, as the LibTorch path
      for (auto& p : q->parameters()) p.mutable_grad() = torch::Tensor();
      const torch::Tensor obs_rep = obs.repeat_interleave(n, 0);
      const torch::Tensor qa = q->forward(torch::cat({obs, obs_rep, obs_rep, obs_rep}),
                                          torch::cat({actions, rand_a, curr_a, next_a}));
      const torch::Tensor q_data = qa.narrow(0, 0, B);
      const torch::Tensor mse = (q_data - target).pow(2).mean();
      const torch::Tensor pen =
          ol::cql_penalty(q_data, qa.narrow(0, B, B * n).view({B, n}), log_mu, qa.narrow(0, B + B * n, B * n).view({B, n}),
                          logp_curr, qa.narrow(0, B + 2 * B * n, B * n).view({B, n}), logp_next, temp, importance);
      (mse + w * pen).backward();

      ol::CqlCriticRows rows;
      rows.B = B;
      rows.n = n;
      rows.x = x;
      rows.target = target;
      rows.logp_curr = logp_curr;
      rows.logp_next = logp_next;
      rows.log_mu_rand = log_mu;
      rows.temperature = temp;
      rows.importance_sample = importance;
      std::vector<torch::Tensor> grads;
      for (const auto& p : q->parameters()) grads.push_back(torch::full_like(p, 7.0f));  // overwritten
      ol::FastCqlCritic fast;
      const ol::CqlCriticLoss l = fast.loss_and_grad(q->parameters(), grads, rows, w);
      EXPECT_NEAR(l.mse, mse.item<double>(), 1e-5 * (1 + mse.item<double>()));
      EXPECT_NEAR(l.penalty, pen.item<double>(), 1e-5 * (1 + std::abs(pen.item<double>())));
      EXPECT_NEAR(l.q_data_mean, q_data.mean().item<double>(), 1e-5);
      const auto params = q->parameters();
      for (size_t i = 0; i < params.size(); ++i) {
        const torch::Tensor ref = params[i].grad();
        const double err = max_abs(grads[i] - ref), scale = max_abs(ref);
        EXPECT_LT(err, 1e-5 * (1 + scale)) << "param " << i << " importance " << importance << " T " << temp
                                            << " hidden layers " << hidden.size();
        EXPECT_GT(scale, 1e-3) << "param " << i;
      }
    }
  }
}

TEST(FastCqlCritic, LossAndGradientsMatchAutograd) {
  check_against_autograd({16, 12});
  check_against_autograd({8});  // one hidden layer
}

std::vector<std::string> small(const std::string& data, const std::string& out_backend, bool lagrange, int64_t steps) {
  return {"run.total_steps=" + std::to_string(steps), "offline.gradient_steps=1", "offline.batch_size=20",
          "offline.eval_every=0", "offline.eval_episodes=1", "run.checkpoint_every=0",
          "dataset.path=\"" + data + "\"", "env.name=\"Pendulum-v1\"", "cql.hidden=[32, 32]", "cql.n_actions=4",
          "cql.backend=\"" + out_backend + "\"", std::string("cql.lagrange=") + (lagrange ? "true" : "false")};
}

// Both backends from the same start on the same draws: every logged loss stays close over 8 steps
// (the float sums are ordered differently, so not bit for bit).
TEST(FastCqlCritic, RunsTrackTheLibTorchBackend) {
  TempDir dir("cql-fast");
  const std::string data = dir / "pendulum.hdf5";
  make_dataset("Pendulum-v1", 1000, data);
  for (bool lagrange : {false, true}) {
    const std::string a = dir / ("torch" + std::to_string(lagrange)), b = dir / ("fast" + std::to_string(lagrange));
    ASSERT_TRUE(start("offline_hopper_cql.toml", a, small(data, "libtorch", lagrange, 8)).finished);
    ASSERT_TRUE(start("offline_hopper_cql.toml", b, small(data, "fast", lagrange, 8)).finished);
    const auto ra = rows_of(a), rb = rows_of(b);
    ASSERT_EQ(ra.size(), 8u);
    ASSERT_EQ(rb.size(), 8u);
    for (size_t i = 0; i < ra.size(); ++i) {
      EXPECT_EQ(ra[i].size(), rb[i].size());
      for (auto& [key, value] : ra[i].items()) {
        if (key == "charts/SPS" || key == "step" || !value.is_number()) continue;
        const double x = value.get<double>(), y = rb[i].at(key).get<double>();
        EXPECT_NEAR(x, y, 2e-4 * (1 + std::abs(x))) << "lagrange " << lagrange << " row " << i << " " << key;
      }
    }
  }
}

TEST(FastCqlCritic, ResumeIsBitIdentical) {
  TempDir dir("cql-fast-resume");
  const std::string data = dir / "pendulum.hdf5", whole = dir / "whole", split = dir / "split";
  make_dataset("Pendulum-v1", 1000, data);
  const auto sets = small(data, "fast", /*lagrange=*/true, 6);
  ASSERT_TRUE(start("offline_hopper_cql.toml", whole, sets).finished);
  ASSERT_FALSE(start("offline_hopper_cql.toml", split, sets, /*stop_after=*/3).finished);
  std::atomic<bool> stop{false};
  ASSERT_TRUE(rlpp::train::resume_run(split, {}, 0, true, stop).finished);
  const auto a = rows_of(whole), b = rows_of(split);
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), 6u);
  for (size_t i = 0; i < a.size(); ++i)
    for (auto& [key, value] : a[i].items())
      if (key != "charts/SPS") EXPECT_EQ(value, b[i].at(key)) << "row " << i << " metric " << key;
}

}  // namespace fast_cql_critic_test
