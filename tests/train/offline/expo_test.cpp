// EXPO (arXiv 2507.07986): its pieces against the formulas written out again in double with plain
// loops on hand-built batches, and its run.
//   * the base policy: the VP schedule, the noised actions and the ε-prediction loss, one reverse
//     step of the sampler (with the noise term, without it at t = 0, and the clip to [−1, 1]);
//   * the critic ensemble: each member's LayerNorm MLP recomputed in double from its parameters,
//     the chosen members equal to those rows of the whole ensemble;
//   * the edit (clipped to the box), the edit policy's loss, the on-the-fly selection (argmax over
//     the N + M candidates), the TD target (min over the drawn critics) and the critics' loss;
//   * the run: split by a checkpoint in the offline phase and in the online phase it equals the
//     uninterrupted run exactly; the online rows report the OTF statistics; bad options and a
//     discrete-action environment are refused (exit code 2 through the program).
// Needs the built `rlpp` (rlpp_cli).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cmath>
#include <vector>

#include "../../apps/cli_util.h"
#include "common/temp_dir.h"
#include "rlpp/core/error.h"
#include "rlpp/train/offline/diffusion_policy.h"
#include "rlpp/train/offline/expo.h"
#include "rlpp/train/offline/q_ensemble.h"
#include "rlpp/train/run.h"
#include "train/test_runs.h"

namespace expo_test {

namespace off = rlpp::train::offline;
using rlpp::testing::TempDir;
using namespace rlpp::testing::runs;  // config, rows_of, make_dataset, start

using Mat = std::vector<std::vector<double>>;

torch::Tensor f1(const std::vector<double>& v) { return torch::tensor(v, torch::kFloat64).to(torch::kFloat32); }
torch::Tensor f2(const Mat& m) {
  std::vector<torch::Tensor> rows;
  for (const auto& r : m) rows.push_back(f1(r));
  return torch::stack(rows);
}
double at(const torch::Tensor& t, int64_t i) { return t.to(torch::kFloat64)[i].item<double>(); }
double at(const torch::Tensor& t, int64_t i, int64_t j) { return t.to(torch::kFloat64)[i][j].item<double>(); }

// β_t = 1 − exp(−b_min/T − ½ (b_max − b_min)(2t − 1)/T²), t = 1..T; ᾱ the running product of 1 − β.
void vp_double(int T, std::vector<double>* beta, std::vector<double>* alpha_hat) {
  double prod = 1;
  for (int t = 1; t <= T; ++t) {
    const double a = std::exp(-0.1 / T - 0.5 * (10.0 - 0.1) * (2.0 * t - 1.0) / (double(T) * T));
    prod *= a;
    beta->push_back(1 - a);
    alpha_hat->push_back(prod);
  }
}

// ---- the base policy -----------------------------------------------------------------------------

TEST(ExpoDiffusion, ScheduleNoisedActionsAndLossMatchTheFormulas) {
  std::vector<double> beta, ahat;
  vp_double(10, &beta, &ahat);
  const off::DiffusionSchedule s = off::vp_schedule(10);
  ASSERT_EQ(s.steps(), 10);
  for (int t = 0; t < 10; ++t) {
    EXPECT_NEAR(at(s.betas, t), beta[t], 1e-6) << t;
    EXPECT_NEAR(at(s.alphas, t), 1 - beta[t], 1e-6) << t;
    EXPECT_NEAR(at(s.alpha_hats, t), ahat[t], 1e-6) << t;
  }
  EXPECT_LT(ahat[9], 0.01);  // the chain ends near pure noise
  const Mat a0 = {{0.5, -1.0}, {0.0, 0.25}, {-0.3, 0.9}};
  const Mat eps = {{0.1, -0.7}, {1.2, 0.4}, {-0.5, 0.0}};
  const Mat pred = {{0.3, -0.2}, {1.0, 1.0}, {-0.5, -0.6}};
  const std::vector<double> ah = {ahat[0], ahat[4], ahat[9]};
  const torch::Tensor noisy = off::ddpm_noisy_actions(f2(a0), f2(eps), f1(ah));
  double loss = 0;
  for (int b = 0; b < 3; ++b) {
    for (int k = 0; k < 2; ++k) {
      EXPECT_NEAR(at(noisy, b, k), std::sqrt(ah[b]) * a0[b][k] + std::sqrt(1 - ah[b]) * eps[b][k], 1e-6) << b << k;
      loss += (pred[b][k] - eps[b][k]) * (pred[b][k] - eps[b][k]);
    }
  }
  EXPECT_NEAR(off::diffusion_loss(f2(pred), f2(eps)).item<double>(), loss / 3, 1e-6);  // sum over k, mean over b
}

TEST(ExpoDiffusion, OneReverseStepMatchesTheFormula) {
  std::vector<double> beta, ahat;
  vp_double(5, &beta, &ahat);
  const off::DiffusionSchedule s = off::vp_schedule(5);
  const Mat x = {{0.4, -0.2, 0.9}, {-0.8, 0.1, 0.0}};
  const Mat eps = {{0.3, 0.5, -1.1}, {0.2, -0.4, 0.7}};
  const Mat z = {{1.5, -0.3, 0.2}, {-2.0, 0.6, 1.0}};
  for (int t : {3, 0}) {
    const torch::Tensor got = off::ddpm_reverse_step(f2(x), f2(eps), f2(z), s, t);
    int clipped = 0;
    for (int b = 0; b < 2; ++b) {
      for (int k = 0; k < 3; ++k) {
        const double alpha = 1 - beta[t];
        double v = (x[b][k] - (1 - alpha) / std::sqrt(1 - ahat[t]) * eps[b][k]) / std::sqrt(alpha);
        if (t > 0) v += std::sqrt(beta[t]) * z[b][k];  // no noise on the last step
        clipped += std::abs(v) > 1;
        EXPECT_NEAR(at(got, b, k), std::clamp(v, -1.0, 1.0), 1e-5) << "t " << t << " " << b << k;
      }
    }
    if (t == 3) {
      EXPECT_GT(clipped, 0);  // the hand batch exercises the clip
    }
  }
}

// ---- the critics ---------------------------------------------------------------------------------

TEST(ExpoCritics, EnsembleMembersAreLayerNormMlps) {
  torch::manual_seed(5);
  off::QEnsemble q(3, /*obs_dim=*/2, /*act_dim=*/1, std::vector<int64_t>{4, 3}, /*layer_norm=*/true);
  {  // non-trivial LayerNorm scales and shifts
    torch::NoGradGuard g;
    for (auto& p : q->ln_scales) p.uniform_(0.5, 1.5);
    for (auto& p : q->ln_shifts) p.uniform_(-0.2, 0.2);
  }
  const Mat obs = {{0.3, -1.0}, {1.2, 0.4}};
  const Mat act = {{0.5}, {-0.7}};
  const torch::Tensor all = q->forward(f2(obs), f2(act));
  ASSERT_EQ(all.sizes(), (std::vector<int64_t>{3, 2}));
  auto p = [](const torch::Tensor& t, int64_t e, int64_t i, int64_t j) { return t.to(torch::kFloat64)[e][i][j].item<double>(); };
  for (int64_t e = 0; e < 3; ++e) {
    for (int b = 0; b < 2; ++b) {
      std::vector<double> h = {obs[b][0], obs[b][1], act[b][0]};
      for (size_t l = 0; l < q->weights.size(); ++l) {
        const auto in = q->weights[l].size(1), out = q->weights[l].size(2);
        std::vector<double> y(static_cast<size_t>(out));
        for (int64_t o = 0; o < out; ++o) {
          y[o] = p(q->biases[l], e, 0, o);
          for (int64_t i = 0; i < in; ++i) y[o] += h[static_cast<size_t>(i)] * p(q->weights[l], e, i, o);
        }
        if (l + 1 < q->weights.size()) {
          double mean = 0, var = 0;
          for (double v : y) mean += v / out;
          for (double v : y) var += (v - mean) * (v - mean) / out;
          for (int64_t o = 0; o < out; ++o) {
            y[o] = (y[o] - mean) / std::sqrt(var + 1e-6) * p(q->ln_scales[l], e, 0, o) + p(q->ln_shifts[l], e, 0, o);
            y[o] = std::max(y[o], 0.0);
          }
        }
        h = y;
      }
      EXPECT_NEAR(at(all, e, b), h[0], 1e-5) << "member " << e << " row " << b;
    }
  }
  const torch::Tensor some = q->forward_members(f2(obs), f2(act), torch::tensor({2, 0}, torch::kInt64));
  EXPECT_TRUE(torch::equal(some[0], all[2]));
  EXPECT_TRUE(torch::equal(some[1], all[0]));
}

// ---- edit, selection, targets, losses -------------------------------------------------------------

TEST(ExpoLoss, EditIsScaledAndClippedToTheBox) {
  const Mat base = {{0.9, -0.5}, {-0.95, 2.0}};
  const Mat delta = {{0.8, -0.5}, {-0.9, 0.99}};
  const std::vector<double> scale = {1.0, 2.0}, low = {-1.0, -1.0}, high = {1.0, 3.0};
  const double beta = 0.3;
  const torch::Tensor e = off::expo_edit(f2(base), f2(delta), beta, f1(scale), f1(low), f1(high));
  for (int b = 0; b < 2; ++b)
    for (int k = 0; k < 2; ++k)
      EXPECT_NEAR(at(e, b, k), std::clamp(base[b][k] + beta * scale[k] * delta[b][k], low[k], high[k]), 1e-6) << b << k;
  EXPECT_FLOAT_EQ(at(e, 0, 0), 1.0f);  // 0.9 + 0.24 clipped at the top
  EXPECT_FLOAT_EQ(at(e, 1, 0), -1.0f);  // −0.95 − 0.27 clipped at the bottom
}

TEST(ExpoLoss, EditPolicyLossIsEntropyMinusMeanEnsembleQ) {
  const std::vector<double> logp = {-1.5, 0.2, 0.7};
  const Mat q = {{3.0, -1.0, 0.5}, {2.0, 0.0, 1.5}, {4.0, 1.0, -0.5}, {1.0, 2.0, 0.5}};  // (E = 4, B = 3)
  const double alpha = 0.35;
  double want = 0;
  for (int b = 0; b < 3; ++b) {
    double qm = 0;
    for (int e = 0; e < 4; ++e) qm += q[e][b] / 4;
    want += (alpha * logp[b] - qm) / 3;
  }
  EXPECT_NEAR(off::edit_policy_loss(f1(logp), f2(q), alpha).item<double>(), want, 1e-6);
}

TEST(ExpoLoss, OtfPicksTheArgmaxOfTheCandidatesAndTheTargetTakesTheMin) {
  // 2 states, N = 2 base + M = 2 edited candidates, A = 2
  const std::vector<Mat> cands = {{{0.1, 0.2}, {0.3, 0.4}, {0.5, 0.6}, {0.7, 0.8}},
                                  {{-0.1, -0.2}, {-0.3, -0.4}, {-0.5, -0.6}, {-0.7, -0.8}}};
  const Mat q = {{1.0, 3.0, 2.5, -1.0}, {0.5, -2.0, 0.4, 0.9}};  // row 0: a base sample; row 1: an edit
  std::vector<torch::Tensor> c;
  for (const Mat& m : cands) c.push_back(f2(m));
  const off::OtfPick pick = off::otf_select(f2(q), torch::stack(c));
  EXPECT_EQ(pick.index[0].item<int64_t>(), 1);
  EXPECT_EQ(pick.index[1].item<int64_t>(), 3);
  EXPECT_FLOAT_EQ(at(pick.actions, 0, 0), 0.3f);
  EXPECT_FLOAT_EQ(at(pick.actions, 0, 1), 0.4f);
  EXPECT_FLOAT_EQ(at(pick.actions, 1, 0), -0.7f);
  EXPECT_FLOAT_EQ(at(pick.actions, 1, 1), -0.8f);
  // y = r + γ (1 − d) min over the drawn critics at the chosen action
  const std::vector<double> r = {1.0, -0.5}, disc = {0.99, 0.0};
  const Mat next_q = {{10.0, 4.0}, {8.0, 6.0}};  // (k = 2, B)
  const torch::Tensor y = off::expo_td_target(f1(r), f1(disc), f2(next_q));
  EXPECT_NEAR(at(y, 0), 1.0 + 0.99 * 8.0, 1e-5);
  EXPECT_NEAR(at(y, 1), -0.5, 1e-6);  // a terminal: no bootstrap
  // the critics' loss: mean over members and rows
  const Mat qs = {{9.0, 1.0}, {8.5, -1.0}, {7.0, 0.0}};
  double want = 0;
  const double yy[2] = {1.0 + 0.99 * 8.0, -0.5};
  for (int e = 0; e < 3; ++e)
    for (int b = 0; b < 2; ++b) want += (qs[e][b] - yy[b]) * (qs[e][b] - yy[b]) / 6;
  EXPECT_NEAR(off::ensemble_critic_loss(f2(qs), y).item<double>(), want, 1e-4);
}

// ---- the run -------------------------------------------------------------------------------------

// 4 offline updates of 10 gradient steps (the base policy and, with pretrain_q, the critics), then
// 2 online updates of 10 env steps with 2 critic steps each, on tiny networks.
std::vector<std::string> tiny(const std::string& data) {
  return {"run.total_steps=40",          "offline.online_steps=20",
          "offline.updates_per_step=2",  "offline.batch_size=8",        "offline.eval_every=0",
          "offline.eval_episodes=1",     "run.checkpoint_every=0",      "dataset.path=\"" + data + "\"",
          "expo.diffusion_steps=3",      "expo.time_dim=4",             "expo.base_hidden=8",
          "expo.base_blocks=1",          "expo.samples=3",              "expo.edit_samples=2",
          "expo.edit_hidden=[8]",        "expo.critic_hidden=[8, 8]",   "expo.num_qs=3",
          "offline.gradient_steps=10",   "expo.pretrain_q=true"};
}

TEST(ExpoRun, SplitRunsEqualTheWholeRunOfflineAndOnline) {
  TempDir dir("expo-resume");
  const std::string data = dir / "hopper.hdf5";
  make_dataset("Hopper-v4", 300, data);
  const auto sets = tiny(data);
  const std::string whole = dir / "whole";
  ASSERT_TRUE(start("offline_hopper_expo.toml", whole, sets).finished);
  const auto a = rows_of(whole);
  ASSERT_EQ(a.size(), 6u);
  for (size_t i = 0; i < a.size(); ++i) {
    const bool online = i >= 4;
    EXPECT_EQ(a[i].contains("charts/online_env_steps"), online) << i;
    // offline: 10 diffusion steps and (pretrain_q) 10 critic steps; online: 20 critic steps, 10 policy steps
    EXPECT_TRUE(std::isfinite(a[i]["losses/diffusion_loss"].get<double>())) << i;
    EXPECT_TRUE(std::isfinite(a[i]["losses/qf_loss"].get<double>())) << i;
    EXPECT_EQ(a[i]["losses/actor_loss"].is_null(), !online) << i;  // the edit policy only online
    EXPECT_EQ(a[i]["charts/gradient_steps"].get<double>(), online ? 40.0 + 20.0 * static_cast<double>(i - 3) : 10.0 * static_cast<double>(i + 1)) << i;
    const double edited = a[i]["charts/otf_edited_fraction"].get<double>();
    EXPECT_GE(edited, 0.0);
    EXPECT_LE(edited, 1.0);
  }
  EXPECT_TRUE(a[3].contains("eval/return"));  // the score before fine-tuning
  EXPECT_TRUE(a[5].contains("eval/return"));
  for (int64_t stop_after : {2, 5}) {  // in the offline phase; one online update in
    const std::string split = dir / ("split" + std::to_string(stop_after));
    EXPECT_FALSE(start("offline_hopper_expo.toml", split, sets, stop_after).finished);
    std::atomic<bool> stop{false};
    EXPECT_TRUE(rlpp::train::resume_run(split, {}, 0, true, stop).finished);
    const auto b = rows_of(split);
    ASSERT_EQ(b.size(), a.size()) << stop_after;
    for (size_t i = 0; i < a.size(); ++i) {
      for (auto& [key, value] : a[i].items()) {
        if (key == "charts/SPS") continue;
        EXPECT_EQ(value, b[i].at(key)) << "split " << stop_after << " row " << i << " metric " << key;
      }
      EXPECT_EQ(a[i].size(), b[i].size()) << "split " << stop_after << " row " << i;
    }
  }
}

TEST(ExpoRun, BadOptionsAndDiscreteActionsAreRefused) {
  TempDir dir("expo-bad");
  const std::string hopper = dir / "hopper.hdf5", cartpole = dir / "cartpole.hdf5";
  make_dataset("Hopper-v4", 200, hopper);
  make_dataset("CartPole-v1", 200, cartpole);
  auto expect_error = [&](std::vector<std::string> sets, const std::string& needle) {
    try {
      start("offline_hopper_expo.toml", dir / "never", std::move(sets));
      ADD_FAILURE() << "expected an error containing '" << needle << "'";
    } catch (const rlpp::core::UserError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> s = tiny(hopper);
    s.insert(s.end(), more.begin(), more.end());
    return s;
  };
  expect_error(with({"expo.edit_samples=4"}), "expo.edit_samples");
  expect_error(with({"expo.num_min_qs=4"}), "expo.num_min_qs");
  expect_error(with({"expo.time_dim=5"}), "even");
  expect_error(with({"expo.edit_scale=0"}), "expo.edit_scale");
  expect_error(with({"offline.offline_ratio=-0.5"}), "offline.offline_ratio");
  expect_error(with({"offline.offline_ratio=1.5"}), "offline.offline_ratio");
  expect_error(with({"dataset.path=\"" + cartpole + "\"", "env.name=\"CartPole-v1\""}), "continuous");
  const auto r = rlpp::testing::run_cli("train configs/offline_hopper_expo.toml --quiet --out " + (dir / "cli") +
                                            " --set dataset.path=" + cartpole + " --set env.name=CartPole-v1",
                                        dir);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("continuous"), std::string::npos) << r.err;
}

}  // namespace expo_test
