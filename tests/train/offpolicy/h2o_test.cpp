// H2O (h2o.h) and the offline data of the off-policy run (offline_mix.h): the discriminators'
// losses, the dynamics ratio and gap, the gap-weighted conservative term and the ratio-weighted
// Bellman error against plain double-precision loops on hand-built batches; the mixing (offline
// rows per minibatch, offline rows are the file's, drawn uniformly); a bit-identical split-run
// resume of h2o and of sac with offline data; recipe errors.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <tuple>

#include "../../apps/cli_util.h"
#include "common/temp_dir.h"
#include "train/test_runs.h"
#include "rlpp/core/error.h"
#include "rlpp/env/registry.h"
#include "rlpp/train/offline/collect.h"
#include "rlpp/train/offline/d4rl_dataset.h"
#include "rlpp/train/offpolicy/h2o.h"
#include "rlpp/train/offpolicy/offline_mix.h"
#include "rlpp/train/offpolicy/replay_buffer.h"
#include "rlpp/train/run.h"

namespace h2o_test {

namespace fs = std::filesystem;
namespace op = rlpp::train::offpolicy;
namespace ol = rlpp::train::offline;
using rlpp::testing::TempDir;
using namespace rlpp::testing::runs;  // config, rows_of, make_dataset, start

std::vector<double> to_vec(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

// A (rows, 2) float tensor of logits in [-2, 2] (D's range), reproducible.
torch::Tensor logits(int64_t rows, int seed) {
  torch::manual_seed(static_cast<uint64_t>(seed));
  return 2.0 * torch::tanh(torch::randn({rows, 2}, torch::kFloat32));
}

// log softmax of a 2-vector, in double.
std::pair<double, double> log_softmax2(double a, double b) {
  const double m = std::max(a, b), z = m + std::log(std::exp(a - m) + std::exp(b - m));
  return {a - z, b - z};
}

TEST(H2oLosses, DiscriminatorLossesMatchLoops) {
  const torch::Tensor r_sa = logits(6, 1), r_sas = logits(6, 2), s_sa = logits(5, 3), s_sas = logits(5, 4);
  const op::H2oDiscriminatorLoss l = op::h2o_discriminator_loss(r_sa, r_sas, s_sa, s_sas);
  const auto a = to_vec(r_sa), b = to_vec(r_sas), c = to_vec(s_sa), d = to_vec(s_sas);
  double sa_real = 0, sas_real = 0, sa_sim = 0, sas_sim = 0;
  for (int i = 0; i < 6; ++i) {
    sa_real += -log_softmax2(a[2 * i], a[2 * i + 1]).first;  // real is class 0
    sas_real += -log_softmax2(a[2 * i] + b[2 * i], a[2 * i + 1] + b[2 * i + 1]).first;
  }
  for (int i = 0; i < 5; ++i) {
    sa_sim += -log_softmax2(c[2 * i], c[2 * i + 1]).second;  // sim is class 1
    sas_sim += -log_softmax2(c[2 * i] + d[2 * i], c[2 * i + 1] + d[2 * i + 1]).second;
  }
  EXPECT_NEAR(l.sa.item<double>(), sa_real / 6 + sa_sim / 5, 1e-5);
  EXPECT_NEAR(l.sas.item<double>(), sas_real / 6 + sas_sim / 5, 1e-5);
}

// The code's product form: P_real/P_sim = (p_sas,0 · p_sa,1) / (p_sas,1 · p_sa,0), probabilities.
TEST(H2oLosses, DynamicsRatioMatchesTheProductOfProbabilities) {
  const torch::Tensor sa = logits(7, 5), sas = logits(7, 6);
  const auto lr = to_vec(op::h2o_log_dynamics_ratio(sa, sas));
  const auto a = to_vec(sa), b = to_vec(sas);
  for (int i = 0; i < 7; ++i) {
    const double e0 = std::exp(a[2 * i]), e1 = std::exp(a[2 * i + 1]);
    const double p_sa0 = e0 / (e0 + e1), p_sa1 = e1 / (e0 + e1);
    const double f0 = std::exp(a[2 * i] + b[2 * i]), f1 = std::exp(a[2 * i + 1] + b[2 * i + 1]);
    const double p_sas0 = f0 / (f0 + f1), p_sas1 = f1 / (f0 + f1);
    EXPECT_NEAR(std::exp(lr[i]), (p_sas0 * p_sa1) / (p_sas1 * p_sa0), 1e-5 * std::exp(lr[i])) << i;
  }
  // identical discriminator opinions on (s, a) and (s, a, s'): ratio 1 when D_sas adds nothing
  const auto one = to_vec(op::h2o_log_dynamics_ratio(sa, torch::zeros_like(sas)));
  for (double v : one) EXPECT_NEAR(v, 0.0, 1e-6);
}

TEST(H2oLosses, DynamicsGapIsTheClippedMeanOfTheNegativeLogRatio) {
  const torch::Tensor lr = torch::tensor({-0.5, -1.5, 0.2, 0.1, 0.3, 0.2, -30.0, -20.0, -5.0}, torch::kFloat32).view({3, 3});
  const auto u = to_vec(op::h2o_dynamics_gap(lr, 1e-3, 10.0));
  EXPECT_NEAR(u[0], (0.5 + 1.5 - 0.2) / 3, 1e-6);
  EXPECT_NEAR(u[1], 1e-3, 1e-9);  // mean −0.2 clipped up to the lower bound
  EXPECT_NEAR(u[2], 10.0, 1e-6);  // mean 55/3 clipped to 10
}

TEST(H2oLosses, ConservativeTermMatchesLoops) {
  const std::vector<double> q_sim = {1.0, -0.5, 2.5, 0.3}, gap = {0.2, 1.5, 0.01, 3.0}, q_real = {0.7, 1.2, -0.4};
  for (double temp : {1.0, 0.7}) {
    const auto t = [](const std::vector<double>& v) { return torch::tensor(v, torch::kFloat32); };
    const double got = op::h2o_cql_penalty(t(q_sim), t(gap), t(q_real), temp, 1000.0).item<double>();
    double gsum = 0, s = 0, qr = 0;
    for (double g : gap) gsum += g;
    for (size_t b = 0; b < q_sim.size(); ++b) s += std::exp((q_sim[b] + std::log(gap[b] / gsum)) / temp);  // ω^(1/T) e^(q/T)
    for (double q : q_real) qr += q;
    EXPECT_NEAR(got, temp * std::log(s) - qr / 3, 1e-5) << temp;
    // clipped to ±clip
    EXPECT_NEAR(op::h2o_cql_penalty(t(q_sim), t(gap), t(q_real), temp, 0.25).item<double>(),
                std::clamp(temp * std::log(s) - qr / 3, -0.25, 0.25), 1e-6);
  }
}

// The property H2O relies on: the term pushes Q down on each simulated pair in proportion to
// ω_b exp(Q_b) at T = 1 (a large dynamics gap: pushed down harder) and up on the real pairs by 1/B_real.
TEST(H2oLosses, ConservativeGradientWeighsSimulatedPairsByTheirGap) {
  const std::vector<double> q = {0.5, 0.5, 0.5}, gap = {0.1, 1.0, 4.0};
  torch::Tensor qs = torch::tensor(q, torch::kFloat64).requires_grad_(true);
  torch::Tensor qr = torch::tensor(std::vector<double>{1.0, 2.0}, torch::kFloat64).requires_grad_(true);
  op::h2o_cql_penalty(qs, torch::tensor(gap, torch::kFloat64), qr, 1.0, 1000.0).backward();
  const auto g = to_vec(qs.grad());
  const double gsum = 0.1 + 1.0 + 4.0;
  for (int b = 0; b < 3; ++b) EXPECT_NEAR(g[static_cast<size_t>(b)], gap[static_cast<size_t>(b)] / gsum, 1e-12) << b;
  for (double v : to_vec(qr.grad())) EXPECT_NEAR(v, -0.5, 1e-12);
}

TEST(H2oLosses, BellmanErrorWeighsSimulatedRowsByTheRatio) {
  const std::vector<double> qr = {1.0, 2.0}, yr = {0.5, 2.5}, qs = {0.0, 1.0, -1.0}, ys = {1.0, 1.0, 1.0},
                            w = {1.0, 0.3, 1e-5};
  const auto t = [](const std::vector<double>& v) { return torch::tensor(v, torch::kFloat32); };
  const double got = op::h2o_bellman_error(t(qr), t(yr), t(qs), t(ys), t(w)).item<double>();
  double real = 0, sim = 0;
  for (size_t i = 0; i < qr.size(); ++i) real += (qr[i] - yr[i]) * (qr[i] - yr[i]);
  for (size_t i = 0; i < qs.size(); ++i) sim += w[i] * (qs[i] - ys[i]) * (qs[i] - ys[i]);
  EXPECT_NEAR(got, real / 2 + sim / 3, 1e-6);
}

// ---- the offline data of the off-policy run ----

// Pendulum-shaped rows whose values name their index: obs (i, −i, 0.5 i), action 0.01 i, reward
// i, next_obs (i + 1000, ...), every 7th terminal, every 11th a timeout.
ol::D4rlDataset tagged_rows(int64_t n) {
  ol::D4rlDataset d;
  d.obs_dim = 3;
  d.act_dim = 1;
  d.meta.env_name = "Pendulum-v1";
  for (int64_t i = 0; i < n; ++i) {
    const float x = static_cast<float>(i);
    const float obs[3] = {x, -x, 0.5f * x}, next[3] = {x + 1000, -x, 0.5f * x}, act[1] = {0.01f * x};
    const bool term = i % 7 == 6, timeout = !term && i % 11 == 10;
    d.push(obs, act, x, next, term, timeout);
  }
  return d;
}

TEST(OfflineMix, RowsPerBatchFollowTheRatio) {
  TempDir dir("offline-mix-ratio");
  const std::string path = dir / "rows.hdf5";
  ol::write_d4rl(path, tagged_rows(20));
  const rlpp::env::Spec spec = rlpp::env::make("Pendulum-v1", {})->spec();
  for (const auto& [ratio, batch, want] : std::vector<std::tuple<double, int64_t, int64_t>>{
           {0.5, 256, 128}, {0.5, 7, 4}, {0.25, 32, 8}, {0.0, 32, 0}, {1.0, 32, 32}, {0.3, 10, 3}}) {
    const op::OfflineMix mix(path, ratio, spec, 0.99, "test");
    EXPECT_EQ(mix.rows_per_batch(batch), want) << ratio << " of " << batch;
  }
}

// Offline rows are the file's rows (every field, the bootstrap discount γ (1 − terminal)), drawn
// uniformly: over 40,000 draws each of the 50 rows appears 800 ± 5σ times. In a mixed batch the
// first rows are offline, the rest the replay buffer's.
TEST(OfflineMix, OfflineRowsAreTheFilesRowsDrawnUniformly) {
  TempDir dir("offline-mix-rows");
  const std::string path = dir / "rows.hdf5";
  const int64_t n = 50;
  ol::write_d4rl(path, tagged_rows(n));
  const rlpp::env::Spec spec = rlpp::env::make("Pendulum-v1", {})->spec();
  const op::OfflineMix mix(path, 0.5, spec, 0.99, "test");
  EXPECT_EQ(mix.size(), n);
  EXPECT_EQ(mix.fingerprint().size(), 4u);
  EXPECT_EQ(mix.fingerprint()[0], n);
  rlpp::core::Rng rng(5);
  std::vector<int64_t> count(static_cast<size_t>(n), 0);
  for (int draw = 0; draw < 1000; ++draw) {
    const op::ReplaySample s = mix.sample(40, rng);
    const auto obs = to_vec(s.obs), act = to_vec(s.actions), ret = to_vec(s.returns), next = to_vec(s.next_obs),
               disc = to_vec(s.discount), w = to_vec(s.weights);
    for (int64_t b = 0; b < 40; ++b) {
      const double i = ret[static_cast<size_t>(b)];
      ASSERT_EQ(i, std::round(i));
      ASSERT_TRUE(i >= 0 && i < n);
      const auto k = static_cast<int64_t>(i);
      ++count[static_cast<size_t>(k)];
      EXPECT_EQ(obs[static_cast<size_t>(3 * b)], i);
      EXPECT_EQ(obs[static_cast<size_t>(3 * b + 1)], -i);
      EXPECT_FLOAT_EQ(obs[static_cast<size_t>(3 * b + 2)], 0.5 * i);
      EXPECT_FLOAT_EQ(act[static_cast<size_t>(b)], 0.01f * static_cast<float>(i));
      EXPECT_EQ(next[static_cast<size_t>(3 * b)], i + 1000);
      EXPECT_FLOAT_EQ(disc[static_cast<size_t>(b)], k % 7 == 6 ? 0.0f : 0.99f);  // a timeout bootstraps
      EXPECT_EQ(w[static_cast<size_t>(b)], 1.0);
    }
  }
  const double expected = 40000.0 / n, sigma = std::sqrt(40000.0 * (1.0 / n) * (1.0 - 1.0 / n));
  for (int64_t k = 0; k < n; ++k) EXPECT_NEAR(count[static_cast<size_t>(k)], expected, 5 * sigma) << k;

  // a mixed batch: offline rows first (returns < 1000), the online buffer's after (returns -1)
  op::ReplayBuffer online(64, 1, 3, 1, 0.99, op::ReplayOptions{});
  for (int i = 0; i < 10; ++i) {
    const float o[3] = {-1, -1, -1}, a[1] = {0}, r[1] = {-1};
    const uint8_t no[1] = {0};
    online.add(o, a, r, o, no, no);
  }
  const int64_t nr = mix.rows_per_batch(16);
  const op::ReplaySample off = mix.sample(nr, rng);
  const op::ReplaySample batch = op::OfflineMix::concat(off, online.sample(16 - nr, rng, 1.0));
  const auto ret = to_vec(batch.returns);
  ASSERT_EQ(ret.size(), 16u);
  for (int64_t b = 0; b < 16; ++b) EXPECT_EQ(ret[static_cast<size_t>(b)] >= 0, b < nr) << b;
  EXPECT_EQ(batch.rows.size(), static_cast<size_t>(16 - nr));
}

TEST(OfflineMix, AFileOfAnotherEnvironmentIsRefused) {
  TempDir dir("offline-mix-bad");
  const std::string path = dir / "rows.hdf5";
  ol::write_d4rl(path, tagged_rows(20));
  const rlpp::env::Spec hopper = rlpp::env::make("Hopper-v4", {})->spec();
  try {
    op::OfflineMix(path, 0.5, hopper, 0.99, "replay.offline_dataset");
    ADD_FAILURE() << "a Pendulum file was accepted for Hopper-v4";
  } catch (const rlpp::core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("replay.offline_dataset"), std::string::npos) << e.what();
  }
}

// ---- end to end ----

std::vector<std::string> small(const std::string& data) {
  return {"replay.offline_dataset=\"" + data + "\"", "run.total_steps=240", "offpolicy.steps_per_update=40",
          "offpolicy.learning_starts=30", "offpolicy.buffer_size=300", "offpolicy.batch_size=32"};
}

// K + K updates in one call equal K, a checkpoint, a resume and K more: every metric but the speed
// (h2o's include the evaluation on the real env), and the evaluation of the final checkpoint.
TEST(H2oTrainer, ResumeIsBitIdentical) {
  TempDir dir("h2o-resume");
  const std::string data = dir / "hopper.hdf5";
  make_dataset("Hopper-v4", 400, data);
  struct Case {
    const char* recipe;
    std::vector<std::string> sets;
  };
  std::vector<Case> cases = {
      {"h2o_hopper.toml",
       {"h2o.hidden=[32, 32]", "h2o.discriminator_hidden=[16, 16]", "h2o.discriminator_batch=16",
        "h2o.next_state_samples=3", "h2o.eval_every=3", "h2o.eval_episodes=1"}},
      {"hopper_sac.toml", {"sac.hidden=[32, 32]", "replay.offline_ratio=0.25", "env.gravity_scale=2.0"}},
  };
  for (Case& c : cases) {
    for (const std::string& s : small(data)) c.sets.push_back(s);
    const std::string whole = dir / (std::string("whole-") + c.recipe), split = dir / (std::string("split-") + c.recipe);
    EXPECT_TRUE(start(c.recipe, whole, c.sets).finished) << c.recipe;
    EXPECT_FALSE(start(c.recipe, split, c.sets, /*stop_after=*/3).finished) << c.recipe;
    std::atomic<bool> stop{false};
    EXPECT_TRUE(rlpp::train::resume_run(split, {}, 0, true, stop).finished) << c.recipe;
    const auto a = rows_of(whole), b = rows_of(split);
    ASSERT_EQ(a.size(), 6u) << c.recipe;
    ASSERT_EQ(b.size(), a.size()) << c.recipe;
    for (size_t i = 0; i < a.size(); ++i) {
      for (auto& [key, value] : a[i].items()) {
        if (key == "charts/SPS") continue;
        EXPECT_EQ(value, b[i].at(key)) << c.recipe << " row " << i << " metric " << key;
      }
    }
    EXPECT_TRUE(a.back().contains("losses/qf_loss")) << c.recipe;
    if (std::string(c.recipe) == "h2o_hopper.toml") {
      // evaluated at rows 3 and 6 on the real env, with the D4RL score; the discriminators trained
      EXPECT_TRUE(a[2].contains("eval/score"));
      EXPECT_FALSE(a[3].contains("eval/return"));
      EXPECT_TRUE(a[5].contains("eval/return"));
      EXPECT_TRUE(std::isfinite(a[5]["h2o/dsa_loss"].get<double>()));
      const double ratio = a[5]["h2o/dynamics_ratio"].get<double>();
      EXPECT_TRUE(ratio >= 1e-5 && ratio <= 1.0) << ratio;
    }
    rlpp::train::EvalRequest req;
    req.episodes = 1;
    req.seed = 7;
    EXPECT_EQ(rlpp::train::evaluate_run(whole, req).mean_return, rlpp::train::evaluate_run(split, req).mean_return)
        << c.recipe;
  }
}

// Errors before anything is written; through the program, exit code 2.
TEST(H2oTrainer, BadRecipesAreRefused) {
  TempDir dir("h2o-bad");
  const std::string data = dir / "hopper.hdf5", pendulum = dir / "pendulum.hdf5";
  make_dataset("Hopper-v4", 200, data);
  make_dataset("Pendulum-v1", 200, pendulum);
  const std::string out = dir / "never";
  auto expect_error = [&](const std::string& recipe, std::vector<std::string> sets, const std::string& needle) {
    try {
      start(recipe, out, std::move(sets));
      ADD_FAILURE() << "expected an error containing '" << needle << "'";
    } catch (const rlpp::core::UserError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  const std::string with = "replay.offline_dataset=\"" + data + "\"";
  expect_error("h2o_hopper.toml", {"replay.offline_dataset=\"\""}, "replay.offline_dataset");
  expect_error("h2o_hopper.toml", {"replay.offline_dataset=\"" + pendulum + "\""}, "pendulum.hdf5");
  expect_error("h2o_hopper.toml", {with, "replay.offline_ratio=1.0"}, "replay.offline_ratio");
  expect_error("h2o_hopper.toml", {with, "replay.offline_ratio=1.5"}, "offline_ratio");
  expect_error("h2o_hopper.toml", {with, "env.gravity_scale=0"}, "gravity_scale");
  expect_error("h2o_hopper.toml", {with, "env.friction_scale=-1"}, "friction_scale");
  expect_error("h2o_hopper.toml", {with, "env.action_noise_std=-0.5"}, "action_noise_std");
  expect_error("h2o_hopper.toml", {with, "replay.prioritized=true"}, "prioritized");
  expect_error("pendulum_sac.toml", {"env.gravity_scale=2.0"}, "MuJoCo");
  expect_error("pendulum_sac.toml", {"env.action_noise_std=0.1"}, "MuJoCo");
  EXPECT_FALSE(fs::exists(out));
  const auto r = rlpp::testing::run_cli(
      "train configs/h2o_hopper.toml --quiet --out " + (dir / "cli") + " --set env.gravity_scale=-2", dir);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("gravity_scale"), std::string::npos) << r.err;
}

}  // namespace h2o_test
