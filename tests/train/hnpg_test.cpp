// HNPG (train/hnpg.h): the hybrid critic loss against plain loops in double on a hand-built batch;
// the Fisher-vector product and conjugate gradient against an explicit Fisher matrix of a tiny
// linear-Gaussian policy, solved in double by elimination; the natural step's size and direction
// against the same matrices; the trainer's split-run resume bit-identical, with and without offline
// data, and its refusals.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cmath>
#include <fstream>

#include "rlpp/core/error.h"
#include "rlpp/train/hnpg.h"
#include "rlpp/train/offline/collect.h"
#include "rlpp/train/run.h"
#include "test_dirs.h"

namespace rlpp::train {
namespace {

using rlpp::testing::TempDir;

TEST(Hnpg, HybridCriticLossMatchesLoops) {
  const std::vector<double> q_on{0.5, -1.25, 2.0}, g_on{1.0, -1.0, 0.25};
  const std::vector<double> q_off{0.3, 0.7, -0.2, 1.1}, r{1.0, 0.5, -0.25, 2.0}, d{0, 1, 0, 0},
      q_next{0.9, 5.0, -0.4, 0.6};
  const double gamma = 0.9, w = 0.7;
  double on = 0, off = 0;
  for (size_t i = 0; i < q_on.size(); ++i) on += (q_on[i] - g_on[i]) * (q_on[i] - g_on[i]);
  on /= 3;
  for (size_t i = 0; i < q_off.size(); ++i) {
    const double y = r[i] + gamma * (1 - d[i]) * q_next[i];
    off += (q_off[i] - y) * (q_off[i] - y);
  }
  off /= 4;
  auto t = [](const std::vector<double>& v) { return torch::tensor(v, torch::kFloat32); };
  torch::Tensor qon = t(q_on).requires_grad_(), qoff = t(q_off).requires_grad_(), qn = t(q_next).requires_grad_();
  const HybridCriticLoss c = hybrid_critic_loss(qon, t(g_on), qoff, t(r), t(d), qn, gamma, w);
  EXPECT_NEAR(c.on_loss, on, 1e-6);
  EXPECT_NEAR(c.off_loss, off, 1e-6);
  EXPECT_NEAR(c.loss.item<double>(), on + w * off, 1e-5);
  c.loss.backward();
  // The target is fixed: no gradient reaches q_next; d/dq_off = 2 w (q_off − y) / M.
  EXPECT_FALSE(qn.grad().defined() && qn.grad().abs().sum().item<double>() != 0);
  for (size_t i = 0; i < q_off.size(); ++i) {
    const double y = r[i] + gamma * (1 - d[i]) * q_next[i];
    EXPECT_NEAR(qoff.grad()[static_cast<int64_t>(i)].item<double>(), 2 * w * (q_off[i] - y) / 4, 1e-6);
  }
  // Without offline rows: the on-policy part alone.
  const HybridCriticLoss only = hybrid_critic_loss(t(q_on), t(g_on), torch::Tensor(), {}, {}, {}, gamma, w);
  EXPECT_NEAR(only.loss.item<double>(), on, 1e-6);
}

// A tiny policy: mean μ(s) = W s (A = 2, obs 3), state-independent log σ (2); 8 parameters.
struct TinyPolicy {
  torch::Tensor W = torch::tensor({0.3, -0.2, 0.1, 0.05, 0.4, -0.3}, torch::kDouble).view({2, 3}).requires_grad_();
  torch::Tensor log_std = torch::tensor({-0.2, 0.3}, torch::kDouble).requires_grad_();
  torch::Tensor S = torch::tensor({1.0, 0.5, -0.3, -0.7, 0.2, 0.9, 0.4, -1.1, 0.6, 0.0, 0.8, -0.5, 1.2, 0.3, 0.1},
                                  torch::kDouble).view({5, 3});
  torch::Tensor mean() const { return S.matmul(W.t()); }
};

// The explicit Fisher matrix (8 x 8, order W row-major then log σ) of the tiny policy, in double:
// F_W = mean_s Σ_a (1/σ_a²) e_a e_aᵀ ⊗ s sᵀ, F_logσ = 2 I, no cross terms.
std::vector<std::vector<double>> tiny_fisher(const TinyPolicy& p) {
  std::vector<std::vector<double>> F(8, std::vector<double>(8, 0.0));
  const auto S = p.S.accessor<double, 2>();
  for (int a = 0; a < 2; ++a) {
    const double var = std::exp(2 * p.log_std[a].item<double>());
    for (int n = 0; n < 5; ++n) {
      for (int i = 0; i < 3; ++i) {
        for (int j = 0; j < 3; ++j) F[a * 3 + i][a * 3 + j] += S[n][i] * S[n][j] / var / 5;
      }
    }
    F[6 + a][6 + a] = 2;
  }
  return F;
}

// x = M⁻¹ b by Gaussian elimination with partial pivoting, in double.
std::vector<double> solve(std::vector<std::vector<double>> M, std::vector<double> b) {
  const size_t n = b.size();
  for (size_t c = 0; c < n; ++c) {
    size_t piv = c;
    for (size_t r = c + 1; r < n; ++r) {
      if (std::abs(M[r][c]) > std::abs(M[piv][c])) piv = r;
    }
    std::swap(M[c], M[piv]);
    std::swap(b[c], b[piv]);
    for (size_t r = c + 1; r < n; ++r) {
      const double f = M[r][c] / M[c][c];
      for (size_t k = c; k < n; ++k) M[r][k] -= f * M[c][k];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> x(n);
  for (size_t i = n; i-- > 0;) {
    double s = b[i];
    for (size_t k = i + 1; k < n; ++k) s -= M[i][k] * x[k];
    x[i] = s / M[i][i];
  }
  return x;
}

TEST(Hnpg, FisherVectorProductAndConjugateGradientMatchAnExplicitSolve) {
  TinyPolicy p;
  const torch::Tensor mean_old = p.mean().detach();
  const torch::Tensor log_std_old = p.log_std.detach().clone();
  auto kl = [&]() { return gaussian_kl(mean_old, log_std_old, p.mean(), p.log_std); };
  const double damping = 0.1;
  auto F = tiny_fisher(p);
  for (int i = 0; i < 8; ++i) F[i][i] += damping;
  const std::vector<double> b{0.5, -1.0, 0.25, 2.0, -0.75, 0.1, 0.6, -0.3};
  const torch::Tensor bt = torch::tensor(b, torch::kDouble);
  // F v by double backward against the matrix.
  const torch::Tensor fv = fisher_vector_product(kl, {p.W, p.log_std}, bt, damping);
  for (int i = 0; i < 8; ++i) {
    double ref = 0;
    for (int j = 0; j < 8; ++j) ref += F[i][j] * b[j];
    EXPECT_NEAR(fv[i].item<double>(), ref, 1e-10) << "component " << i;
  }
  // CG with as many steps as parameters reaches the solve.
  auto avp = [&](const torch::Tensor& v) { return fisher_vector_product(kl, {p.W, p.log_std}, v, damping).detach(); };
  const torch::Tensor x = conjugate_gradient(avp, bt, 8, 1e-30);
  const std::vector<double> ref = solve(F, b);
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(x[i].item<double>(), ref[i], 1e-8) << "component " << i;
  // Fewer steps: not there yet (the test can fail).
  const torch::Tensor x2 = conjugate_gradient(avp, bt, 2);
  double err = 0;
  for (int i = 0; i < 8; ++i) err = std::max(err, std::abs(x2[i].item<double>() - ref[i]));
  EXPECT_GT(err, 1e-4);
}

TEST(Hnpg, NaturalStepHasTheTrustRegionSizeAndDirection) {
  TinyPolicy p;
  const torch::Tensor mean_old = p.mean().detach();
  const torch::Tensor log_std_old = p.log_std.detach().clone();
  const std::vector<double> c{1.0, -0.5, 0.2, 0.3, 0.8, -0.1, 0.4, -0.6};
  const torch::Tensor ct = torch::tensor(c, torch::kDouble);
  // A linear surrogate −cᵀθ: the line search takes the full step.
  auto surrogate = [&]() { return -(ct * torch::cat({p.W.reshape({-1}), p.log_std})).sum(); };
  auto kl = [&]() { return gaussian_kl(mean_old, log_std_old, p.mean(), p.log_std); };
  HnpgOptions o;
  o.max_kl = 1e-3;
  o.damping = 0.05;
  o.cg_iters = 8;
  const torch::Tensor before = torch::cat({p.W.reshape({-1}), p.log_std}).detach().clone();
  auto F = tiny_fisher(p);
  for (int i = 0; i < 8; ++i) F[i][i] += o.damping;
  const NpgStep st = npg_step({p.W, p.log_std}, surrogate, kl, o);
  EXPECT_EQ(st.step_fraction, 1.0);
  const std::vector<double> x = solve(F, c);  // (F + δI)⁻¹(−g), g = −c
  double xfx = 0;
  for (int i = 0; i < 8; ++i) {
    for (int j = 0; j < 8; ++j) xfx += x[i] * F[i][j] * x[j];
  }
  const double scale = std::sqrt(2 * o.max_kl / xfx);
  const torch::Tensor after = torch::cat({p.W.reshape({-1}), p.log_std}).detach();
  for (int i = 0; i < 8; ++i) EXPECT_NEAR((after - before)[i].item<double>(), x[i] * scale, 1e-8) << i;
  // The quadratic model's KL is max_kl (less the damping's share); the true KL is close to it.
  EXPECT_NEAR(st.kl, o.max_kl, 0.2 * o.max_kl);
  EXPECT_NEAR(st.loss_before - st.loss_after, scale * [&] {
    double s = 0;
    for (int i = 0; i < 8; ++i) s += c[i] * x[i];
    return s;
  }(), 1e-10);
}

std::vector<nlohmann::json> hnpg_rows(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::vector<nlohmann::json> rows;
  std::string line;
  while (std::getline(in, line)) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

std::string hnpg_recipe(const TempDir& dir, const std::string& name, const std::string& dataset,
                        const std::string& env = "Pendulum-v1") {
  const std::string path = dir.sub(name + ".toml");
  std::ofstream f(path);
  f << "[run]\nalgorithm = \"hnpg\"\ntotal_steps = 512\nseed = 5\n"
    << "[env]\nname = \"" << env << "\"\nnum_envs = 2\n"
    << "[policy]\nbackend = \"torch\"\n"
    << "[ppo]\nnum_steps = 64\nnormalize_obs = true\n"
    << "[hnpg]\ncritic_steps = 5\nvalue_samples = 2\n";
  if (!dataset.empty()) f << "[dataset]\npath = \"" << dataset << "\"\n";
  return path;
}

RunOutcome hnpg_start(const std::string& recipe, const std::string& out, int64_t stop_after) {
  std::atomic<bool> stop{false};
  StartRequest req;
  req.recipe_path = recipe;
  req.out_dir = out;
  req.stop_after_updates = stop_after;
  req.quiet = true;
  return start_run(req, stop);
}

std::string pendulum_dataset(const TempDir& dir) {
  offline::CollectRequest req;
  req.env = "Pendulum-v1";
  req.policy = "random";
  req.steps = 600;
  req.seed = 11;
  req.quiet = true;
  std::atomic<bool> stop{false};
  const std::string path = dir.sub("pendulum-random.hdf5");
  offline::write_d4rl(path, offline::collect_dataset(req, stop));
  return path;
}

TEST(Hnpg, SplitRunResumesBitIdentical) {
  TempDir dir("hnpg_resume");
  const std::string data = pendulum_dataset(dir);
  for (const std::string& ds : {data, std::string()}) {
    const std::string tag = ds.empty() ? "npg" : "hnpg";
    ASSERT_TRUE(hnpg_start(hnpg_recipe(dir, tag, ds), dir.sub(tag + "_whole"), 0).finished);
    ASSERT_FALSE(hnpg_start(hnpg_recipe(dir, tag, ds), dir.sub(tag + "_split"), 2).finished);
    std::atomic<bool> stop{false};
    ASSERT_TRUE(resume_run(dir.sub(tag + "_split"), {}, 0, true, stop).finished);
    const auto a = hnpg_rows(dir.sub(tag + "_whole")), b = hnpg_rows(dir.sub(tag + "_split"));
    ASSERT_EQ(a.size(), 4u);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].contains("hnpg/critic_off_loss"), !ds.empty());
      for (auto& [key, value] : a[i].items()) {
        if (key == "charts/SPS") continue;
        EXPECT_EQ(value, b[i].at(key)) << tag << " row " << i << " metric " << key;
      }
    }
  }
}

TEST(Hnpg, RefusesWhatItCannotTrain) {
  TempDir dir("hnpg_bad");
  const std::string data = pendulum_dataset(dir);
  // Discrete actions.
  EXPECT_THROW(hnpg_start(hnpg_recipe(dir, "cartpole", "", "CartPole-v1"), dir.sub("a"), 0), core::UserError);
  // A dataset of another environment.
  EXPECT_THROW(hnpg_start(hnpg_recipe(dir, "hopper", data, "Hopper-v4"), dir.sub("b"), 0), core::UserError);
  // A missing dataset file.
  EXPECT_THROW(hnpg_start(hnpg_recipe(dir, "missing", dir.sub("none.hdf5")), dir.sub("c"), 0), core::UserError);
}

}  // namespace
}  // namespace rlpp::train
