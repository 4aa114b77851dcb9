// Offline-to-online: the online phase of the offline trainers (offline.online_steps) and FamO2O.
//   * FamO2O's pieces against the formulas written out again in double with plain loops on
//     hand-built batches: the coefficient's sin-cos encoding, the β-conditioned AWR weights with
//     their clip and the universal model's loss, the balance model's tanh-Gaussian log-density and
//     objective, and the objective's gradient with respect to the balance model's mean against
//     central finite differences of the loop version;
//   * the run: a split run with an online phase equals an uninterrupted one, bit for bit (iql,
//     td3_bc and odice on Hopper-v4, whose random-policy episodes end in terminals; famo2o and cql
//     on Pendulum-v1, whose episodes end in time-limit truncations; split at the switch, with an
//     empty online store, and 2 online updates in), the offline rows do not depend on the online
//     phase (iql, td3_bc, cql), and combinations that cannot run are refused (exit code 2 through
//     the program);
//   * the exploration actions a run stores online, against the distribution each trainer's policy
//     defines, its networks read back from the checkpoint and run again in double, the moments
//     integrated numerically in double: TD3's clip(μ(s) + N(0, (σ · scale)²)) (td3_bc, prdc and
//     a2pr), CQL's tanh-Gaussian sample and ODICE's Gaussian sample clipped to the box.
// Needs the built `rlpp` (rlpp_cli).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <string>
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

// Every hidden-width key of `algo`'s section, set to 16-16.
std::vector<std::string> small_networks(const std::string& algo) {
  if (algo == "odice") return {"odice.value_hidden=[16, 16]", "odice.policy_hidden=[16, 16]"};
  if (algo == "a2pr") return {"a2pr.actor_hidden=[16, 16]", "a2pr.critic_hidden=[16, 16]", "a2pr.vae_hidden=[16, 16]"};
  return {algo + ".hidden=[16, 16]"};
}

// 2 offline updates of 50 gradient steps, then 5 online updates of 50 env steps (250 > Pendulum's
// 200-step time limit), small networks, an evaluation every 3rd update and at the phase's end.
std::vector<std::string> small(const std::string& algo, const std::string& data, const std::string& env) {
  std::vector<std::string> s = {"run.total_steps=100",       "offline.gradient_steps=50", "offline.online_steps=250",
                                "offline.batch_size=16",     "offline.eval_every=3",      "offline.eval_episodes=1",
                                "run.checkpoint_every=0",    "dataset.path=\"" + data + "\"", "env.name=\"" + env + "\""};
  for (const std::string& n : small_networks(algo)) s.push_back(n);
  return s;
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

// Every logged value of `want` equals `got`'s (the wall-clock charts/SPS aside), and the rows have the same keys.
void expect_row_equal(const nlohmann::json& want, const nlohmann::json& got, const std::string& what) {
  for (auto& [key, value] : want.items()) {
    if (key == "charts/SPS") continue;
    EXPECT_EQ(value, got.at(key)) << what << " metric " << key;
  }
  EXPECT_EQ(want.size(), got.size()) << what;
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
                        Case{"famo2o", "offline_hopper_famo2o.toml", "Pendulum-v1", 2},
                        Case{"td3_bc", "offline_hopper_td3_bc.toml", "Hopper-v4", 4},
                        Case{"cql", "offline_hopper_cql.toml", "Pendulum-v1", 4},
                        Case{"odice", "offline_hopper_odice.toml", "Hopper-v4", 2}}) {
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
      expect_row_equal(a[i], b[i], std::string(c.algo) + " row " + std::to_string(i));
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
// (iql's actor lr held constant, since a cosine schedule spans the whole run).
TEST(OfflineToOnline, OfflineRowsDoNotDependOnTheOnlinePhase) {
  TempDir dir("o2o-offline-rows");
  const std::string data = dir / "pendulum.hdf5";
  make_dataset("Pendulum-v1", 400, data);
  struct Case {
    const char* algo;
    const char* recipe;
    std::vector<std::string> more;
  };
  for (const Case& c : {Case{"iql", "offline_hopper_iql_o2o.toml", {"iql.cosine_actor_lr=false"}},
                        Case{"td3_bc", "offline_hopper_td3_bc.toml", {}}, Case{"cql", "offline_hopper_cql.toml", {}}}) {
    auto with = small(c.algo, data, "Pendulum-v1");
    with.insert(with.end(), c.more.begin(), c.more.end());
    auto without = with;
    without.push_back("offline.online_steps=0");
    const std::string a_dir = dir / (std::string(c.algo) + "-with"), b_dir = dir / (std::string(c.algo) + "-without");
    EXPECT_TRUE(start(c.recipe, a_dir, with).finished) << c.algo;
    EXPECT_TRUE(start(c.recipe, b_dir, without).finished) << c.algo;
    const auto a = rows_of(a_dir), b = rows_of(b_dir);
    ASSERT_EQ(a.size(), 7u) << c.algo;
    ASSERT_EQ(b.size(), 2u) << c.algo;
    for (size_t i = 0; i < b.size(); ++i) expect_row_equal(b[i], a[i], std::string(c.algo) + " row " + std::to_string(i));
  }
}

// ---- the exploration actions of the online phase -------------------------------------------------

// The tensor at a path of nested archives of a checkpoint file (a module's parameter, e.g.
// {"actor", "net", "0", "weight"}), in double.
torch::Tensor tensor_at(torch::serialize::InputArchive& a, const std::vector<std::string>& path, size_t i = 0) {
  if (i + 1 == path.size()) {
    torch::Tensor t;
    if (!a.try_read(path[i], t)) throw std::runtime_error("checkpoint: no tensor '" + path[i] + "'");
    return t.to(torch::kFloat64);
  }
  torch::serialize::InputArchive child;
  if (!a.try_read(path[i], child)) throw std::runtime_error("checkpoint: no archive '" + path[i] + "'");
  return tensor_at(child, path, i + 1);
}

// y = W x + b of the Linear layer at `path` (…/weight, …/bias), in double. x: (N, in) -> (N, out).
torch::Tensor linear_at(torch::serialize::InputArchive& a, std::vector<std::string> path, const torch::Tensor& x) {
  path.push_back("weight");
  const torch::Tensor w = tensor_at(a, path);
  path.back() = "bias";
  return x.matmul(w.t()) + tensor_at(a, path);
}

// A ReLU MLP of `layers` Linear layers stored as relu_mlp stores it (Sequential children "0", "2",
// "4", …, ReLU between), in double. x: (N, in) -> (N, out).
torch::Tensor relu_mlp_at(torch::serialize::InputArchive& a, const std::vector<std::string>& path, int layers,
                          torch::Tensor x) {
  for (int l = 0; l < layers; ++l) {
    std::vector<std::string> p = path;
    p.push_back(std::to_string(2 * l));
    x = linear_at(a, p, x);
    if (l + 1 < layers) x = x.clamp_min(0.0);
  }
  return x;
}

// E, the central 2nd and 4th moments of f(m + s Z), Z ~ N(0, 1), by Simpson's rule on z in
// [−12, 12] (4800 intervals), in double.
struct Moments {
  double mean = 0, var = 0, m4 = 0;
};
Moments gaussian_moments(const std::function<double(double)>& f, double m, double s) {
  const int n = 4800;
  const double lo = -12.0, h = 24.0 / n;
  auto integrate = [&](const std::function<double(double)>& g) {
    double sum = 0;
    for (int i = 0; i <= n; ++i) {
      const double z = lo + h * i, w = (i == 0 || i == n) ? 1.0 : (i % 2 ? 4.0 : 2.0);
      sum += w * g(f(m + s * z)) * std::exp(-0.5 * z * z);
    }
    return sum * h / 3.0 / std::sqrt(2.0 * M_PI);
  };
  Moments r;
  r.mean = integrate([](double y) { return y; });
  r.var = integrate([&](double y) { return (y - r.mean) * (y - r.mean); });
  r.m4 = integrate([&](double y) { return std::pow(y - r.mean, 4); });
  return r;
}

// Independent draws a_i against their distributions' moments: Σ (a_i − E_i) / sqrt(Σ V_i) is about
// N(0, 1); Σ (a_i − E_i)² / Σ V_i is about 1 with standard deviation sqrt(Σ (M4_i − V_i²)) / Σ V_i.
// Both must lie within 4.5 standard deviations.
void expect_draws_match(const std::vector<double>& a, const std::vector<Moments>& m, const std::string& what) {
  ASSERT_EQ(a.size(), m.size()) << what;
  double dev = 0, sq = 0, var = 0, var_sq = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dev += a[i] - m[i].mean;
    sq += (a[i] - m[i].mean) * (a[i] - m[i].mean);
    var += m[i].var;
    var_sq += m[i].m4 - m[i].var * m[i].var;
  }
  const double z_mean = dev / std::sqrt(var), ratio = sq / var, ratio_sd = std::sqrt(var_sq) / var;
  EXPECT_LT(std::abs(z_mean), 4.5) << what << ": standardised mean deviation " << z_mean;
  EXPECT_LT(std::abs(ratio - 1.0), 4.5 * ratio_sd)
      << what << ": sum of squared deviations / sum of variances = " << ratio << " (sd " << ratio_sd << ")";
  std::cout << "[ stats    ] " << what << ": n " << a.size() << ", standardised mean deviation " << z_mean
            << ", squared deviations / variances " << ratio << " (sd " << ratio_sd << ")\n";
}

// Pendulum-v1's action box (its max torque): [−2, 2], scale 2, bias 0.
constexpr double kPendulumHigh = 2.0;
constexpr int64_t kExploreSteps = 500;

// The online rows of a Pendulum-v1 run of `algo` whose acting networks do not move: one offline
// update of 50 gradient steps, then kExploreSteps online env steps, with the learning rate of the
// networks that act set to 1e-20 by `more` (an Adam step moves a weight by about the learning rate,
// far below a float's resolution), so every stored action is a draw from the final checkpoint's
// policy at the stored (normalised) observation. Returns the checkpoint's archive; obs (N, 3) and
// actions (N) in double.
torch::serialize::InputArchive frozen_policy_run(const std::string& algo, const std::string& recipe,
                                                 const std::string& data, const std::string& out,
                                                 const std::vector<std::string>& more, torch::Tensor* obs,
                                                 std::vector<double>* actions) {
  auto sets = small(algo, data, "Pendulum-v1");
  for (const std::string& m : {std::string("run.total_steps=50"), "offline.online_steps=" + std::to_string(kExploreSteps),
                               std::string("offline.eval_every=0")})
    sets.push_back(m);
  sets.insert(sets.end(), more.begin(), more.end());
  EXPECT_TRUE(start(recipe, out, sets).finished) << algo;
  char last[32];  // the last update: 1 offline, kExploreSteps / 50 online
  std::snprintf(last, sizeof last, "update_%07lld.pt", static_cast<long long>(1 + kExploreSteps / 50));
  torch::serialize::InputArchive a;
  a.load_from(out + "/checkpoints/" + last);
  *obs = tensor_at(a, {"online_replay.obs"}).reshape({kExploreSteps, 3});
  const torch::Tensor act = tensor_at(a, {"online_replay.actions"}).reshape({kExploreSteps});
  actions->assign(act.data_ptr<double>(), act.data_ptr<double>() + kExploreSteps);
  return a;
}

// TD3's exploration (td3_offline_run.h): a = clip(μ(s) + N(0, (σ · scale)²), low, high), μ(s) =
// tanh(MLP(s)) · scale + bias, for the three trainers on the TD3 base; prdc with σ = 0.25 (its
// section's exploration_noise), the others with the default 0.1.
TEST(OfflineToOnline, Td3ExplorationIsTheActorPlusClippedGaussianNoise) {
  TempDir dir("o2o-explore-td3");
  const std::string data = dir / "pendulum.hdf5";
  make_dataset("Pendulum-v1", 400, data);
  struct Case {
    const char* algo;
    const char* recipe;
    double sigma;
    std::vector<std::string> more;
  };
  for (const Case& c :
       {Case{"td3_bc", "offline_hopper_td3_bc.toml", 0.1, {"td3_bc.learning_rate=1e-20"}},
        Case{"prdc", "offline_hopper_prdc.toml", 0.25, {"prdc.learning_rate=1e-20", "prdc.exploration_noise=0.25"}},
        Case{"a2pr", "offline_hopper_a2pr.toml", 0.1, {"a2pr.learning_rate=1e-20"}}}) {
    torch::Tensor obs;
    std::vector<double> a;
    torch::serialize::InputArchive ck = frozen_policy_run(c.algo, c.recipe, data, dir / c.algo, c.more, &obs, &a);
    const torch::Tensor mu = torch::tanh(relu_mlp_at(ck, {"actor", "net"}, 3, obs)).reshape({kExploreSteps}) * kPendulumHigh;
    const double sd = c.sigma * kPendulumHigh;
    const auto clip = [](double x) { return std::clamp(x, -kPendulumHigh, kPendulumHigh); };
    std::vector<Moments> m;
    int inside = 0;
    for (int64_t i = 0; i < kExploreSteps; ++i) {
      m.push_back(gaussian_moments(clip, mu[i].item<double>(), sd));
      inside += a[static_cast<size_t>(i)] >= -kPendulumHigh && a[static_cast<size_t>(i)] <= kPendulumHigh;
    }
    EXPECT_EQ(inside, kExploreSteps) << c.algo;
    expect_draws_match(a, m, c.algo);
  }
}

// CQL's exploration: a sample of its tanh-Gaussian, a = tanh(μ(s) + σ(s) ε) · scale + bias, with
// μ and log σ = −5 + 3.5 (tanh(raw(s)) + 1) (the bounded log-std of sac.h) from the actor's trunk.
TEST(OfflineToOnline, CqlExplorationSamplesItsTanhGaussian) {
  TempDir dir("o2o-explore-cql");
  const std::string data = dir / "pendulum.hdf5";
  make_dataset("Pendulum-v1", 400, data);
  torch::Tensor obs;
  std::vector<double> a;
  torch::serialize::InputArchive ck =
      frozen_policy_run("cql", "offline_hopper_cql.toml", data, dir / "cql", {"cql.policy_lr=1e-20"}, &obs, &a);
  torch::Tensor h = obs;
  for (const char* layer : {"0", "2"}) h = linear_at(ck, {"actor", "trunk", layer}, h).clamp_min(0.0);
  const torch::Tensor mean = linear_at(ck, {"actor", "mean"}, h).reshape({kExploreSteps});
  const torch::Tensor log_std =
      (-5.0 + 3.5 * (torch::tanh(linear_at(ck, {"actor", "log_std"}, h)) + 1.0)).reshape({kExploreSteps});
  std::vector<Moments> m;
  int inside = 0;
  for (int64_t i = 0; i < kExploreSteps; ++i) {
    m.push_back(gaussian_moments([](double x) { return kPendulumHigh * std::tanh(x); }, mean[i].item<double>(),
                                 std::exp(log_std[i].item<double>())));
    inside += std::abs(a[static_cast<size_t>(i)]) <= kPendulumHigh;
  }
  EXPECT_EQ(inside, kExploreSteps);
  expect_draws_match(a, m, "cql");
}

// ODICE's exploration: a sample of its Gaussian (mean MLP(s), state-independent log σ clamped to
// [−5, 2]) clipped to the box; σ = 1 at the start, so a share of the draws lands on the bounds.
TEST(OfflineToOnline, OdiceExplorationSamplesItsGaussianClippedToTheBox) {
  TempDir dir("o2o-explore-odice");
  const std::string data = dir / "pendulum.hdf5";
  make_dataset("Pendulum-v1", 400, data);
  torch::Tensor obs;
  std::vector<double> a;
  torch::serialize::InputArchive ck = frozen_policy_run("odice", "offline_hopper_odice.toml", data, dir / "odice",
                                                        {"odice.policy_learning_rate=1e-20"}, &obs, &a);
  const torch::Tensor mean = relu_mlp_at(ck, {"policy", "net"}, 3, obs).reshape({kExploreSteps});
  const double sigma = std::exp(std::clamp(tensor_at(ck, {"policy", "log_std"})[0].item<double>(), -5.0, 2.0));
  const auto clip = [](double x) { return std::clamp(x, -kPendulumHigh, kPendulumHigh); };
  std::vector<Moments> m;
  int on_bounds = 0;
  for (int64_t i = 0; i < kExploreSteps; ++i) {
    m.push_back(gaussian_moments(clip, mean[i].item<double>(), sigma));
    const double x = a[static_cast<size_t>(i)];
    EXPECT_TRUE(x >= -kPendulumHigh && x <= kPendulumHigh) << "row " << i << ": " << x;
    on_bounds += std::abs(x) == kPendulumHigh;
  }
  EXPECT_GT(on_bounds, 0) << "no draw was clipped (sigma " << sigma << ")";
  expect_draws_match(a, m, "odice");
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
