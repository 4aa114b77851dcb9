// Offline-to-online: the online phase of the offline trainers (offline.online_steps) and FamO2O.
//   * FamO2O's pieces against the formulas written out again in double with plain loops on
//     hand-built batches: the coefficient's sin-cos encoding, the β-conditioned AWR weights with
//     their clip and the universal model's loss, the balance model's tanh-Gaussian log-density and
//     objective, and the objective's gradient with respect to the balance model's mean against
//     central finite differences of the loop version;
//   * the run: a split run with an online phase equals an uninterrupted one, bit for bit (iql on
//     Hopper-v4, whose random-policy episodes end in terminals; famo2o on Pendulum-v1, whose
//     episodes end in time-limit truncations), the offline rows do not depend on the online phase,
//     (split at the switch, with an empty online store, and 2 online updates in), and combinations
//     that cannot run are refused (exit code 2 through the program).
// Needs the built `rlpp` (rlpp_cli).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cmath>
#include <fstream>
#include <vector>

#include "../../apps/cli_util.h"
#include "common/temp_dir.h"
#include "train/test_runs.h"
#include "rlpp/core/error.h"
#include "rlpp/train/offline/collect.h"
#include "rlpp/train/offline/d4rl_dataset.h"
#include "rlpp/train/offline/famo2o.h"
#include "rlpp/train/offline/iql.h"
#include "rlpp/train/run.h"

namespace o2o_test {

namespace off = rlpp::train::offline;
using rlpp::testing::TempDir;
using namespace rlpp::testing::runs;  // config, rows_of, make_dataset, start

torch::Tensor f1(const std::vector<double>& v) { return torch::tensor(v, torch::kFloat64).to(torch::kFloat32); }
double at(const torch::Tensor& t) { return t.to(torch::kFloat64).item<double>(); }
double at(const torch::Tensor& t, int64_t i) { return t.to(torch::kFloat64)[i].item<double>(); }
double at(const torch::Tensor& t, int64_t i, int64_t j) { return t.to(torch::kFloat64)[i][j].item<double>(); }

// ---- FamO2O's losses ---------------------------------------------------------------------------

TEST(Famo2oLoss, SinCosEncodingMatchesTheFormula) {
  const std::vector<double> beta = {1.0, 2.5, 5.0, 3.7};
  const int d = 6;
  const double n = 10000.0;
  const torch::Tensor e = off::sin_cos_encoding(f1(beta), d, n);
  ASSERT_EQ(e.sizes(), (std::vector<int64_t>{4, 6}));
  for (size_t b = 0; b < beta.size(); ++b) {
    for (int i = 0; i < d / 2; ++i) {
      const double x = beta[b] / std::pow(n, 2.0 * i / d);
      EXPECT_NEAR(at(e, static_cast<int64_t>(b), 2 * i), std::sin(x), 1e-6) << b << " " << i;
      EXPECT_NEAR(at(e, static_cast<int64_t>(b), 2 * i + 1), std::cos(x), 1e-6) << b << " " << i;
    }
  }
  // the range's ends: u = −1 -> β_min, u = 1 -> β_max, u = 0 -> the middle
  const torch::Tensor c = off::coefficient_from_unit(f1({-1.0, 0.0, 1.0, 0.5}), 1.0, 5.0);
  EXPECT_NEAR(at(c, 0), 1.0, 1e-7);
  EXPECT_NEAR(at(c, 1), 3.0, 1e-7);
  EXPECT_NEAR(at(c, 2), 5.0, 1e-7);
  EXPECT_NEAR(at(c, 3), 4.0, 1e-7);
}

TEST(Famo2oLoss, CoefficientConditionedAwrLossWithItsClip) {
  // row 2: exp(4.5 · 1.2) = 221 > 100, clipped; row 3: a negative advantage
  const std::vector<double> adv = {0.3, 1.2, -0.8, 0.0}, beta = {1.0, 4.5, 2.0, 3.0};
  const std::vector<std::vector<double>> mean = {{0.1, -0.2}, {0.5, 0.0}, {-0.3, 0.4}, {0.0, 0.9}};
  const std::vector<std::vector<double>> act = {{0.2, -0.1}, {0.1, 0.3}, {-0.5, 0.4}, {0.2, 0.6}};
  const std::vector<double> log_std = {-0.5, 0.3};
  const double max_w = 100.0;
  const torch::Tensor w = off::family_awr_weights(f1(adv), f1(beta), max_w);
  std::vector<torch::Tensor> m, a;
  for (size_t b = 0; b < 4; ++b) m.push_back(f1(mean[b])), a.push_back(f1(act[b]));
  const torch::Tensor logp = off::gaussian_log_prob(torch::stack(m), f1(log_std), torch::stack(a));
  const torch::Tensor loss = off::awr_actor_loss(w, logp);
  double want = 0;
  for (size_t b = 0; b < 4; ++b) {
    const double wb = std::min(std::exp(beta[b] * adv[b]), max_w);
    EXPECT_NEAR(at(w, static_cast<int64_t>(b)), wb, 1e-5 * wb) << b;
    double lp = 0;
    for (size_t k = 0; k < 2; ++k) {
      const double z = (act[b][k] - mean[b][k]) / std::exp(log_std[k]);
      lp += -0.5 * z * z - log_std[k] - 0.5 * std::log(2 * M_PI);
    }
    want += -wb * lp / 4.0;
  }
  EXPECT_EQ(at(w, 1), max_w);
  EXPECT_NEAR(at(loss), want, 1e-5 * std::abs(want));
}

// The balance model's objective as the trainer builds it, in double with loops: for row b,
//   x = μ_b + σ ε_b, u = tanh x, β = lo + (u + 1)/2 (hi − lo), e = e(β) (d = 4, n = 100),
//   ã = tanh(W [s_b, e]) (a fixed universal model's mean, one action component),
//   q = −(ã − a*_b)²  (a hand critic), log p = log N(x; μ_b, σ²) − log(1 − u²),
//   L = mean_b (α log p − q).
struct BalanceCase {
  std::vector<double> s = {0.3, -0.6, 0.9}, noise = {0.4, -1.1, 0.2}, target = {0.5, -0.3, 0.1};
  std::vector<double> w = {0.7, -0.4, 0.9, 0.3, -0.8};  // over [s, e0, e1, e2, e3]
  double log_std = -0.7, lo = 1.0, hi = 5.0, n = 100.0, alpha = 0.3;
  int d = 4;
};

double balance_objective_loops(const BalanceCase& c, const std::vector<double>& mu) {
  double total = 0;
  for (size_t b = 0; b < mu.size(); ++b) {
    const double sigma = std::exp(c.log_std);
    const double x = mu[b] + sigma * c.noise[b];
    const double u = std::tanh(x);
    const double beta = c.lo + (u + 1.0) / 2.0 * (c.hi - c.lo);
    double z = c.w[0] * c.s[b];
    for (int i = 0; i < c.d / 2; ++i) {
      const double arg = beta / std::pow(c.n, 2.0 * i / c.d);
      z += c.w[static_cast<size_t>(1 + 2 * i)] * std::sin(arg) + c.w[static_cast<size_t>(2 + 2 * i)] * std::cos(arg);
    }
    const double a = std::tanh(z);
    const double q = -(a - c.target[b]) * (a - c.target[b]);
    const double logp = -0.5 * c.noise[b] * c.noise[b] - c.log_std - 0.5 * std::log(2 * M_PI) - std::log(1.0 - u * u);
    total += c.alpha * logp - q;
  }
  return total / static_cast<double>(mu.size());
}

TEST(Famo2oLoss, BalanceObjectiveAndItsGradientAgainstFiniteDifferences) {
  const BalanceCase c;
  const std::vector<double> mu = {0.2, -0.5, 1.3};
  torch::Tensor mu_t = f1(mu).requires_grad_(true);
  const off::TanhSample smp = off::tanh_gaussian_sample(mu_t, f1({c.log_std}), f1(c.noise));
  const torch::Tensor beta = off::coefficient_from_unit(smp.u, c.lo, c.hi);
  const torch::Tensor x = torch::cat({f1(c.s).unsqueeze(1), off::sin_cos_encoding(beta, c.d, c.n)}, 1);  // (3, 5)
  const torch::Tensor a = torch::tanh(torch::matmul(x, f1(c.w)));                                    // (3)
  const torch::Tensor q = -(a - f1(c.target)).pow(2);
  const torch::Tensor loss = off::balance_loss(smp.logp, q, c.alpha);
  const double want = balance_objective_loops(c, mu);
  EXPECT_NEAR(at(loss), want, 1e-5 * std::max(1.0, std::abs(want)));
  // the log-density on its own (the stable form of log(1 − tanh² x))
  for (size_t b = 0; b < 3; ++b) {
    const double xb = mu[b] + std::exp(c.log_std) * c.noise[b];
    const double lp = -0.5 * c.noise[b] * c.noise[b] - c.log_std - 0.5 * std::log(2 * M_PI) -
                      std::log(1.0 - std::tanh(xb) * std::tanh(xb));
    EXPECT_NEAR(at(smp.logp, static_cast<int64_t>(b)), lp, 1e-5 * std::max(1.0, std::abs(lp))) << b;
  }
  loss.backward();
  const double h = 1e-5;
  for (size_t b = 0; b < 3; ++b) {
    std::vector<double> up = mu, dn = mu;
    up[b] += h;
    dn[b] -= h;
    const double fd = (balance_objective_loops(c, up) - balance_objective_loops(c, dn)) / (2 * h);
    const double g = at(mu_t.grad(), static_cast<int64_t>(b));
    EXPECT_GT(std::abs(fd), 1e-3) << b << ": a case where the sign says something";
    EXPECT_EQ(g > 0, fd > 0) << b << " autograd " << g << " finite differences " << fd;
    EXPECT_NEAR(g, fd, 1e-3 * std::max(1.0, std::abs(fd))) << b;
  }
}

// ---- the online phase through the run ------------------------------------------------------------

// 2 offline updates of 50 gradient steps, then 5 online updates of 50 env steps (250 > Pendulum's
// 200-step time limit), small networks, an evaluation every 3rd update and at the phase's end.
std::vector<std::string> small(const std::string& algo, const std::string& data, const std::string& env) {
  return {"run.total_steps=100",       "offline.gradient_steps=50", "offline.online_steps=250",
          "offline.batch_size=16",     "offline.eval_every=3",      "offline.eval_episodes=1",
          "run.checkpoint_every=0",    "dataset.path=\"" + data + "\"", "env.name=\"" + env + "\"",
          algo + ".hidden=[16, 16]"};
}

// The tensor `key` anywhere in a checkpoint archive (top level or a child archive).
bool find_tensor(torch::serialize::InputArchive& a, const std::string& key, torch::Tensor* out) {
  if (a.try_read(key, *out)) return true;
  for (const std::string& k : a.keys()) {
    torch::serialize::InputArchive c;
    if (a.try_read(k, c) && find_tensor(c, key, out)) return true;
  }
  return false;
}

// The online rows of a finished run's checkpoint (observations not normalised): where an episode
// goes on, next_obs is the following row's obs; where it ended, next_obs is the episode's last
// observation, not the next episode's first (the following row's obs); a terminal has
// terminated = 1, a time-limit truncation terminated = 0 (it keeps bootstrapping), truncated = 1.
// Returns the number of {terminals, truncations}.
std::pair<int, int> check_online_rows(const std::string& ckpt, int64_t rows, int64_t obs_dim) {
  torch::serialize::InputArchive a;
  a.load_from(ckpt);
  torch::Tensor obs, next_obs, term, trunc;
  EXPECT_TRUE(find_tensor(a, "online_replay.obs", &obs) && find_tensor(a, "online_replay.next_obs", &next_obs) &&
              find_tensor(a, "online_replay.terminated", &term) && find_tensor(a, "online_replay.truncated", &trunc))
      << ckpt;
  if (!obs.defined() || !term.defined()) return {0, 0};
  EXPECT_EQ(term.numel(), rows);
  obs = obs.reshape({rows, obs_dim});
  next_obs = next_obs.reshape({rows, obs_dim});
  int terminals = 0, truncations = 0;
  for (int64_t j = 0; j + 1 < rows; ++j) {
    const bool te = term[j].item<float>() != 0, tr = trunc[j].item<float>() != 0;
    terminals += te;
    truncations += tr && !te;
    EXPECT_EQ(torch::equal(next_obs[j], obs[j + 1]), !(te || tr)) << "row " << j;
  }
  return {terminals, truncations};
}

TEST(OfflineToOnline, SplitRunWithAnOnlinePhaseEqualsAWholeOne) {
  TempDir dir("o2o-resume");
  const std::string hopper = dir / "hopper.hdf5", pendulum = dir / "pendulum.hdf5";
  make_dataset("Hopper-v4", 1000, hopper);
  make_dataset("Pendulum-v1", 600, pendulum);
  struct Case {
    const char* algo;
    const char* recipe;
    const char* env;
    int64_t stop_after;  // 2: at the switch (an empty online store in the checkpoint); 4: 2 online updates in
  };
  for (const Case& c : {Case{"iql", "offline_hopper_iql_o2o.toml", "Hopper-v4", 4},
                        Case{"famo2o", "offline_hopper_famo2o.toml", "Pendulum-v1", 2}}) {
    const std::string data = std::string(c.env) == "Hopper-v4" ? hopper : pendulum;
    const auto sets = small(c.algo, data, c.env);
    const std::string whole = dir / (std::string(c.algo) + "-whole"),
                      split = dir / (std::string(c.algo) + "-split" + std::to_string(c.stop_after));
    EXPECT_TRUE(start(c.recipe, whole, sets).finished) << c.algo;
    EXPECT_FALSE(start(c.recipe, split, sets, c.stop_after).finished) << c.algo;
    std::atomic<bool> stop{false};
    EXPECT_TRUE(rlpp::train::resume_run(split, {}, 0, true, stop).finished) << c.algo;
    const auto a = rows_of(whole), b = rows_of(split);
    ASSERT_EQ(a.size(), 7u) << c.algo;
    ASSERT_EQ(b.size(), 7u) << c.algo;
    for (size_t i = 0; i < a.size(); ++i) {
      for (auto& [key, value] : a[i].items()) {
        if (key == "charts/SPS") continue;
        EXPECT_EQ(value, b[i].at(key)) << c.algo << " row " << i << " metric " << key;
      }
      EXPECT_EQ(a[i].size(), b[i].size()) << c.algo << " row " << i;
      const bool online = i >= 2;
      EXPECT_EQ(a[i].contains("charts/online_env_steps"), online) << c.algo << " row " << i;
      if (online) EXPECT_EQ(a[i]["charts/online_env_steps"].get<double>(), 50.0 * static_cast<double>(i - 1));
      // one gradient step per env step online
      EXPECT_EQ(a[i]["charts/gradient_steps"].get<double>(), 50.0 * static_cast<double>(i + 1)) << c.algo;
      // evaluations: every 3rd update, the end of the offline phase (2) and the end (7)
      EXPECT_EQ(a[i].contains("eval/return"), i == 1 || i == 2 || i == 5 || i == 6) << c.algo << " row " << i;
    }
    EXPECT_GT(a.back()["charts/episodes"].get<double>(), 0.0) << c.algo;  // episodes ended online
    const auto [terminals, truncations] = check_online_rows(whole + "/checkpoints/update_0000007.pt", 250,
                                                            std::string(c.env) == "Hopper-v4" ? 11 : 3);
    if (std::string(c.env) == "Hopper-v4") {  // a falling Hopper terminates; 250 steps never reach its 1000-step limit
      EXPECT_GT(terminals, 0);
      EXPECT_EQ(truncations, 0);
    } else {  // Pendulum never terminates; its 200-step limit truncates once in 250 steps
      EXPECT_EQ(terminals, 0);
      EXPECT_EQ(truncations, 1);
    }
    rlpp::train::EvalRequest req;
    req.episodes = 1;
    req.seed = 7;
    EXPECT_EQ(rlpp::train::evaluate_run(whole, req).mean_return, rlpp::train::evaluate_run(split, req).mean_return)
        << c.algo;
  }
}

// The offline phase does not see the online one: its rows are those of the same run without it
// (the actor's lr held constant, since a cosine schedule spans the whole run).
TEST(OfflineToOnline, OfflineRowsDoNotDependOnTheOnlinePhase) {
  TempDir dir("o2o-offline-rows");
  const std::string data = dir / "pendulum.hdf5";
  make_dataset("Pendulum-v1", 400, data);
  auto with = small("iql", data, "Pendulum-v1");
  with.push_back("iql.cosine_actor_lr=false");
  auto without = with;
  without.push_back("offline.online_steps=0");
  EXPECT_TRUE(start("offline_hopper_iql_o2o.toml", dir / "with", with).finished);
  EXPECT_TRUE(start("offline_hopper_iql_o2o.toml", dir / "without", without).finished);
  const auto a = rows_of(dir / "with"), b = rows_of(dir / "without");
  ASSERT_EQ(a.size(), 7u);
  ASSERT_EQ(b.size(), 2u);
  for (size_t i = 0; i < b.size(); ++i) {
    for (auto& [key, value] : b[i].items()) {
      if (key == "charts/SPS") continue;
      EXPECT_EQ(value, a[i].at(key)) << "row " << i << " metric " << key;
    }
    EXPECT_EQ(a[i].size(), b[i].size()) << "row " << i;
  }
}

TEST(OfflineToOnline, CombinationsThatCannotRunAreRefused) {
  TempDir dir("o2o-bad");
  const std::string data = dir / "pendulum.hdf5";
  make_dataset("Pendulum-v1", 300, data);
  auto expect_error = [&](const std::string& recipe, std::vector<std::string> sets, const std::string& needle) {
    try {
      start(recipe, dir / "never", std::move(sets));
      ADD_FAILURE() << "expected an error containing '" << needle << "'";
    } catch (const rlpp::core::UserError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  const std::vector<std::string> base = {"dataset.path=\"" + data + "\"", "env.name=\"Pendulum-v1\"",
                                         "run.total_steps=100", "offline.gradient_steps=50"};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> s = base;
    s.insert(s.end(), more.begin(), more.end());
    return s;
  };
  // not a whole number of online updates
  expect_error("offline_hopper_iql_o2o.toml", with({"offline.online_steps=120"}), "multiple of offline.gradient_steps");
  // a trainer without an exploration action
  expect_error("offline_hopper_bc.toml", with({"offline.online_steps=100"}), "online phase");
  expect_error("offline_hopper_famo2o.toml", with({"famo2o.beta_max=0.5"}), "famo2o.beta_max");
  expect_error("offline_hopper_famo2o.toml", with({"famo2o.encoding_dim=5"}), "even");
  const auto r = rlpp::testing::run_cli("train configs/offline_hopper_bc.toml --quiet --out " + (dir / "cli") +
                                            " --set dataset.path=" + data +
                                            " --set env.name=Pendulum-v1 --set offline.online_steps=5000",
                                        dir);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("online phase"), std::string::npos) << r.err;
}

}  // namespace o2o_test
