// PRDC's, A2PR's and ODICE's losses against the formulas written out again here in double with
// plain loops, on hand-built batches; ODICE's orthogonal-gradient update against finite
// differences of the objective's parts on a hand-built linear twin value function.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "rlpp/train/offline/a2pr.h"
#include "rlpp/train/offline/kd_tree.h"
#include "rlpp/train/offline/odice.h"
#include "rlpp/train/offline/prdc.h"

namespace seed_losses_test {

namespace off = rlpp::train::offline;
using Rows = std::vector<std::vector<double>>;

torch::Tensor f1(const std::vector<double>& v) { return torch::tensor(v, torch::kFloat64).to(torch::kFloat32); }
torch::Tensor f2(const Rows& m) {
  std::vector<torch::Tensor> rows;
  for (const auto& r : m) rows.push_back(f1(r));
  return torch::stack(rows);
}
double at(const torch::Tensor& t) { return t.to(torch::kFloat64).item<double>(); }
double at(const torch::Tensor& t, int64_t i) { return t.to(torch::kFloat64)[i].item<double>(); }
double at(const torch::Tensor& t, int64_t i, int64_t j) { return t.to(torch::kFloat64)[i][j].item<double>(); }

// ---- PRDC ----------------------------------------------------------------------------------------

const Rows kDataObs = {{0.0, 1.0}, {1.0, 0.0}, {-1.0, -1.0}, {0.5, 0.5}, {2.0, -1.0}};
const Rows kDataAct = {{0.1}, {-0.2}, {0.9}, {0.4}, {-0.7}};

TEST(PrdcLoss, NearestActionsAreThoseOfTheNearestWeightedKey) {
  const double beta = 2.0;
  const torch::Tensor keys = off::prdc_keys(f2(kDataObs), f2(kDataAct), beta).contiguous();  // (5, 3)
  const off::KdTree tree(keys.data_ptr<float>(), 5, 3);
  const Rows obs = {{0.2, 0.6}, {0.9, 0.1}, {-0.8, -0.7}, {0.3, 0.3}};
  const Rows pi = {{0.3}, {-0.9}, {0.0}, {-0.5}};
  const torch::Tensor got = off::prdc_nearest_actions(tree, f2(kDataAct), f2(obs), f2(pi), beta);
  for (size_t b = 0; b < obs.size(); ++b) {
    double best = std::numeric_limits<double>::infinity();
    size_t arg = 0;
    for (size_t i = 0; i < kDataObs.size(); ++i) {
      double d = std::pow(pi[b][0] - kDataAct[i][0], 2);
      for (int k = 0; k < 2; ++k) d += std::pow(beta * obs[b][k] - beta * kDataObs[i][k], 2);
      if (d < best) best = d, arg = i;
    }
    EXPECT_NEAR(at(got, b, 0), kDataAct[arg][0], 1e-7) << b;
  }
  // β = 0: only the action counts, so π's own nearest dataset action comes back
  const torch::Tensor keys0 = off::prdc_keys(f2(kDataObs), f2(kDataAct), 0.0).contiguous();
  const off::KdTree tree0(keys0.data_ptr<float>(), 5, 3);
  const torch::Tensor got0 = off::prdc_nearest_actions(tree0, f2(kDataAct), f2(obs), f2({{0.35}, {-0.3}, {1.0}, {-0.6}}), 0.0);
  const std::vector<double> want0 = {0.4, -0.2, 0.9, -0.7};
  for (int b = 0; b < 4; ++b) EXPECT_NEAR(at(got0, b, 0), want0[b], 1e-7) << b;
}

TEST(PrdcLoss, ActorLossValueAndGradient) {
  const std::vector<double> q = {3.0, -1.0, 0.5};
  const Rows pi = {{0.2, -0.4}, {0.9, 0.0}, {-0.3, 0.7}}, near = {{0.1, -0.1}, {0.5, 0.2}, {-0.3, 0.9}};
  const double alpha = 2.5;
  double mean_abs = 0, mean_q = 0, dc = 0;
  for (int b = 0; b < 3; ++b) {
    mean_abs += std::abs(q[b]) / 3;
    mean_q += q[b] / 3;
    for (int i = 0; i < 2; ++i) dc += std::pow(pi[b][i] - near[b][i], 2) / 6;
  }
  const double lambda = alpha / mean_abs;
  torch::Tensor qt = f1(q).requires_grad_(true), pt = f2(pi).requires_grad_(true);
  const auto l = off::prdc_actor_loss(qt, pt, f2(near), alpha);
  EXPECT_NEAR(at(l.loss), -lambda * mean_q + dc, 1e-5);
  EXPECT_NEAR(at(l.lambda), lambda, 1e-5);
  EXPECT_NEAR(at(l.dc_loss), dc, 1e-6);
  l.loss.backward();
  for (int b = 0; b < 3; ++b) {
    EXPECT_NEAR(at(qt.grad(), b), -lambda / 3, 1e-5) << "lambda carries no gradient";
    for (int i = 0; i < 2; ++i) EXPECT_NEAR(at(pt.grad(), b, i), 2 * (pi[b][i] - near[b][i]) / 6, 1e-6);
  }
}

// The tree's keys: (β (s − mean)/(std + 1e-3), a) with the dataset's mean and population std.
TEST(PrdcLoss, DatasetKeysAreTheNormalisedWeightedStatesAndActions) {
  off::D4rlDataset d;
  d.obs_dim = 2, d.act_dim = 1;
  const Rows obs = {{1.0, 10.0}, {2.0, 10.0}, {4.0, 13.0}}, act = {{0.5}, {-0.5}, {0.25}};
  for (int i = 0; i < 3; ++i) {
    const float o[2] = {float(obs[i][0]), float(obs[i][1])}, a[1] = {float(act[i][0])};
    d.push(o, a, 0.f, o, false, false);
  }
  const double beta = 2.0;
  const auto keys = off::prdc_dataset_keys(d, /*normalize=*/true, beta);
  ASSERT_EQ(keys.size(), 9u);
  for (int k = 0; k < 2; ++k) {
    double mean = 0, var = 0;
    for (int i = 0; i < 3; ++i) mean += obs[i][k] / 3;
    for (int i = 0; i < 3; ++i) var += (obs[i][k] - mean) * (obs[i][k] - mean) / 3;
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(keys[i * 3 + k], beta * (obs[i][k] - mean) / (std::sqrt(var) + 1e-3), 1e-5);
  }
  for (int i = 0; i < 3; ++i) EXPECT_EQ(keys[i * 3 + 2], float(act[i][0]));
  const auto raw = off::prdc_dataset_keys(d, /*normalize=*/false, beta);
  EXPECT_EQ(raw[3], 4.f);  // 2 · 2.0
}

// ---- A2PR ----------------------------------------------------------------------------------------

TEST(A2prLoss, ValueTargetIsTheSmallerOfTheTwoBootstraps) {
  const std::vector<double> R = {1.0, 0.5, -2.0}, d = {0.99, 0.0, 0.5}, qt = {4.0, 9.0, -1.0}, qo = {3.0, 1.0, 2.0};
  const torch::Tensor t = off::a2pr_value_target(f1(R), f1(d), f1(qt), f1(qo));
  for (int b = 0; b < 3; ++b) EXPECT_NEAR(at(t, b), std::min(R[b] + d[b] * qt[b], R[b] + d[b] * qo[b]), 1e-6) << b;
}

TEST(A2prLoss, VaeLossCountsPositiveAdvantageRowsOnly) {
  const Rows recon = {{0.1, 0.2}, {-0.5, 0.4}, {0.9, -0.9}}, act = {{0.0, 0.5}, {-0.1, 0.4}, {0.2, 0.3}};
  const Rows mean = {{0.3, -0.2, 0.0, 1.0}, {0.0, 0.0, 0.5, -0.5}, {1.2, 0.1, -0.3, 0.2}};
  const Rows sd = {{0.5, 1.0, 2.0, 0.8}, {1.0, 0.3, 1.1, 0.9}, {0.7, 1.5, 0.2, 1.0}};
  const std::vector<double> q = {2.0, 1.0, 0.5}, v = {1.0, 1.0, 0.0};  // rows 0 and 2: Q > V; row 1: equal
  const double w = 1.5, klw = 0.5;
  double rec = 0, kl = 0;
  for (int b = 0; b < 3; ++b) {
    for (int i = 0; i < 2; ++i) rec += (q[b] > v[b] ? w : 0.0) * std::pow(recon[b][i] - act[b][i], 2) / 6;
    for (int l = 0; l < 4; ++l)
      kl += -0.5 * (1 + std::log(sd[b][l] * sd[b][l]) - mean[b][l] * mean[b][l] - sd[b][l] * sd[b][l]) / 12;
  }
  const auto l = off::a2pr_vae_loss(f2(recon), f2(act), f2(mean), f2(sd), f1(q), f1(v), w, klw);
  EXPECT_NEAR(at(l.recon), rec, 1e-6);
  EXPECT_NEAR(at(l.kl), kl, 1e-5);
  EXPECT_NEAR(at(l.loss), rec + klw * kl, 1e-5);
}

TEST(A2prLoss, ActorRegulariserFollowsTheBetterAdvantage) {
  // rows: VAE better; data better; equal advantages (the VAE's wins); both below V (weight 0);
  // Q(s, ã) = V exactly (its indicator counts, >=) with the data's below.
  const Rows pi = {{0.2, -0.4}, {0.9, 0.0}, {-0.3, 0.7}, {0.5, 0.5}, {0.0, -0.2}};
  const Rows recon = {{0.1, -0.1}, {0.5, 0.2}, {-0.2, 0.9}, {0.3, 0.1}, {0.4, 0.4}};
  const Rows act = {{0.6, 0.0}, {0.8, -0.1}, {0.0, 0.0}, {-0.5, 0.9}, {-0.9, 0.1}};
  const std::vector<double> q_pi = {3.0, -1.0, 0.5, 2.0, 1.0};
  const std::vector<double> q_rec = {2.0, 0.0, 1.5, -1.0, 1.0}, q_dat = {1.0, 0.5, 1.5, -2.0, 0.2},
                            v = {1.5, 0.2, 1.0, 0.0, 1.0};
  const double alpha = 2.5, mask = 0.4;
  double mean_abs = 0, mean_q = 0, bc = 0, chosen = 0;
  std::vector<std::vector<double>> target(5);
  for (int b = 0; b < 5; ++b) {
    mean_abs += std::abs(q_pi[b]) / 5;
    mean_q += q_pi[b] / 5;
    const bool vae = (q_rec[b] - v[b]) >= (q_dat[b] - v[b]);
    target[b] = vae ? recon[b] : act[b];
    chosen += vae ? 0.2 : 0.0;
    const double wgt = mask * ((q_rec[b] >= v[b] ? 1.0 : 0.0) + (q_dat[b] > v[b] ? 1.0 : 0.0));
    for (int i = 0; i < 2; ++i) bc += wgt * std::pow(pi[b][i] - target[b][i], 2) / 10;
  }
  const double lambda = alpha / mean_abs;
  torch::Tensor pt = f2(pi).requires_grad_(true), rt = f2(recon).requires_grad_(true);
  const auto l = off::a2pr_actor_loss(f1(q_pi), pt, rt, f2(act), f1(q_rec), f1(q_dat), f1(v), alpha, mask);
  EXPECT_NEAR(at(l.bc_loss), bc, 1e-6);
  EXPECT_NEAR(at(l.loss), -lambda * mean_q + bc, 1e-5);
  EXPECT_NEAR(at(l.lambda), lambda, 1e-5);
  EXPECT_NEAR(at(l.vae_chosen), chosen, 1e-6);
  EXPECT_NEAR(chosen, 0.8, 1e-12);  // all rows but 1 (row 2 by the tie)
  l.loss.backward();
  // the regulariser's gradient reaches ã where ã is the target (the authors' graph), nowhere else
  for (int b = 0; b < 5; ++b) {
    const bool vae = (q_rec[b] - v[b]) >= (q_dat[b] - v[b]);
    const double wgt = mask * ((q_rec[b] >= v[b] ? 1.0 : 0.0) + (q_dat[b] > v[b] ? 1.0 : 0.0));
    for (int i = 0; i < 2; ++i) {
      const double g = 2 * wgt * (pi[b][i] - target[b][i]) / 10;
      EXPECT_NEAR(at(pt.grad(), b, i), g, 1e-6) << b << "," << i;
      EXPECT_NEAR(at(rt.grad(), b, i), vae ? -g : 0.0, 1e-6) << b << "," << i;
    }
  }
}

TEST(A2prLoss, VaeDecodesInsideTheActionBoxWithClampedLogStd) {
  torch::manual_seed(0);
  off::A2prVae vae(3, 2, 4, std::vector<int64_t>{8, 8}, f1({2.0, 0.5}), f1({0.0, 0.25}));
  const torch::Tensor obs = torch::randn({64, 3}) * 10, act = torch::randn({64, 2}), eps = torch::randn({64, 4});
  const auto out = vae->forward(obs, act, eps);
  EXPECT_EQ(out.recon.sizes(), (std::vector<int64_t>{64, 2}));
  EXPECT_LE(at(out.recon.select(1, 0).abs().max()), 2.0);
  EXPECT_LE(at((out.recon.select(1, 1) - 0.25).abs().max()), 0.5);
  EXPECT_GE(at(out.std.min()), std::exp(-4.0) * (1 - 1e-6));
  // z = μ + σ ε goes through the decoder: the reconstruction equals decode(s, μ + σ ε)
  EXPECT_NEAR(at((out.recon - vae->decode(obs, out.mean + out.std * eps)).abs().max()), 0.0, 1e-6);
}

// ---- ODICE ---------------------------------------------------------------------------------------

double pearson_f_star(double r) {
  const double w = std::max(r / 2 + 1, 0.0);
  return r * w - (w - 1) * (w - 1);
}

TEST(OdiceLoss, ConjugatesAndRatios) {
  const std::vector<double> r = {-3.0, -2.0, -0.5, 0.0, 1.5};
  const auto fs = off::odice_f_star(f1(r), "pearson_chi2"), fi = off::odice_f_prime_inverse(f1(r), "pearson_chi2");
  const auto ks = off::odice_f_star(f1(r), "reverse_kl"), ki = off::odice_f_prime_inverse(f1(r), "reverse_kl");
  for (int i = 0; i < 5; ++i) {
    // Pearson χ²: f(x) = (x − 1)², f*(r) = sup_x r x − (x − 1)² at x = r/2 + 1 (x >= 0): r + r²/4, else −1
    EXPECT_NEAR(at(fs, i), r[i] >= -2 ? r[i] + r[i] * r[i] / 4 : -1.0, 1e-6) << r[i];
    EXPECT_NEAR(at(fs, i), pearson_f_star(r[i]), 1e-6);
    EXPECT_NEAR(at(fi, i), std::max(r[i], 0.0), 1e-7);
    EXPECT_NEAR(at(ks, i), std::exp(r[i] - 1), 1e-6);
    EXPECT_NEAR(at(ki, i), std::exp(r[i] - 1), 1e-6);
  }
}

// Twin heads K = 2, batch B = 3.
const std::vector<double> kR = {1.0, -0.5, 0.3}, kD = {0.99, 0.0, 0.9};
const Rows kV = {{0.5, 1.0, -0.2}, {0.7, 0.6, 0.1}}, kVn = {{0.8, -1.0, 0.4}, {0.2, 0.9, 0.0}};
const std::vector<double> kTv = {0.4, 0.9, -0.1}, kTvn = {0.3, 0.5, 0.2};

TEST(OdiceLoss, ValueLossesOverBothHeads) {
  const double lam = 0.6, eta = 0.7;
  double lin = 0, fwd = 0, bwd = 0, tru = 0;
  for (int k = 0; k < 2; ++k)
    for (int b = 0; b < 3; ++b) {
      lin += (1 - lam) * kV[k][b] / 6;
      fwd += lam * pearson_f_star(kR[b] + kD[b] * kTvn[b] - kV[k][b]) / 6;
      bwd += lam * eta * pearson_f_star(kR[b] + kD[b] * kVn[k][b] - kTv[b]) / 6;
      tru += lam * pearson_f_star(kR[b] + kD[b] * kVn[k][b] - kV[k][b]) / 6;
    }
  const auto l = off::odice_value_losses(f1(kR), f1(kD), f2(kV), f2(kVn), f1(kTv), f1(kTvn), lam, eta, "pearson_chi2");
  EXPECT_NEAR(at(l.linear), lin, 1e-6);
  EXPECT_NEAR(at(l.forward), fwd, 1e-6);
  EXPECT_NEAR(at(l.backward), bwd, 1e-6);
  EXPECT_NEAR(at(l.true_dual), tru, 1e-6);
  for (int k = 0; k < 2; ++k)
    for (int b = 0; b < 3; ++b) EXPECT_NEAR(at(l.forward_residual, k, b), kR[b] + kD[b] * kTvn[b] - kV[k][b], 1e-6);
}

TEST(OdiceLoss, OrthogonalCombineRemovesTheParallelPart) {
  const std::vector<double> gf = {1.0, 2.0, -1.0, 0.5}, gb = {0.3, -0.4, 2.0, 1.0};
  double dot = 0, nn = 0;
  for (int i = 0; i < 4; ++i) dot += gf[i] * gb[i], nn += gf[i] * gf[i];
  const double c = dot / nn;
  // two "parameters": the first three entries and the last
  const std::vector<torch::Tensor> f = {f1({1.0, 2.0, -1.0}), f1({0.5})}, b = {f1({0.3, -0.4, 2.0}), f1({1.0})};
  double got_c = 0;
  const auto g = off::odice_orthogonal_combine(f, b, &got_c);
  EXPECT_NEAR(got_c, c, 1e-6);
  double along = 0;  // the backward part left after the projection is orthogonal to g_f
  for (int i = 0; i < 4; ++i) {
    const double gi = i < 3 ? at(g[0], i) : at(g[1], 0);
    EXPECT_NEAR(gi, gf[i] + gb[i] - c * gf[i], 1e-6) << i;
    along += (gi - gf[i]) * gf[i];
  }
  EXPECT_NEAR(along, 0.0, 1e-5);
  // a zero forward gradient: the coefficient's denominator is floored, the backward part passes
  const auto z = off::odice_orthogonal_combine({torch::zeros({2})}, {f1({0.3, -0.4})}, &got_c);
  EXPECT_EQ(got_c, 0.0);
  EXPECT_NEAR(at(z[0], 1), -0.4, 1e-7);
}

// V_k(s) = w_k · s + c_k (k = 0, 1; s of width 2), online parameters θ and fixed target θ̄. The
// update's gradient against central finite differences of the linear, forward and backward parts,
// combined by hand; the "true" and "semi" gradients likewise.
TEST(OdiceLoss, OrthogonalGradientMatchesFiniteDifferences) {
  const Rows S = {{0.5, -1.0}, {1.2, 0.3}, {-0.7, 0.8}}, Sn = {{0.1, 0.4}, {-0.6, 1.1}, {0.9, -0.2}};
  const std::vector<double> R = {0.8, -0.3, 1.1}, D = {0.99, 0.0, 0.99};
  const double lam = 0.6, eta = 0.8;
  const std::vector<double> theta0 = {0.3, -0.2, 0.1, /*head 1*/ -0.4, 0.5, 0.2};      // w0, c0, w1, c1
  const std::vector<double> target = {0.25, -0.1, 0.05, /*head 1*/ -0.3, 0.45, 0.15};
  auto head = [](const std::vector<double>& th, int k, const std::vector<double>& s) {
    return th[3 * k] * s[0] + th[3 * k + 1] * s[1] + th[3 * k + 2];
  };
  auto vbar = [&](const std::vector<double>& s) { return std::min(head(target, 0, s), head(target, 1, s)); };
  enum Part { kLinear, kForward, kBackward, kTrue };
  auto part = [&](const std::vector<double>& th, Part p) {
    double s = 0;
    for (int k = 0; k < 2; ++k)
      for (int b = 0; b < 3; ++b) {
        const double v = head(th, k, S[b]), vn = head(th, k, Sn[b]);
        if (p == kLinear) s += (1 - lam) * v / 6;
        if (p == kForward) s += lam * pearson_f_star(R[b] + D[b] * vbar(Sn[b]) - v) / 6;
        if (p == kBackward) s += lam * eta * pearson_f_star(R[b] + D[b] * vn - vbar(S[b])) / 6;
        if (p == kTrue) s += lam * pearson_f_star(R[b] + D[b] * vn - v) / 6;
      }
    return s;
  };
  auto fd = [&](Part p) {
    std::vector<double> g(6);
    const double h = 1e-6;
    for (int i = 0; i < 6; ++i) {
      auto up = theta0, dn = theta0;
      up[i] += h, dn[i] -= h;
      g[i] = (part(up, p) - part(dn, p)) / (2 * h);
    }
    return g;
  };
  const auto gl = fd(kLinear), gf = fd(kForward), gb = fd(kBackward), gt = fd(kTrue);
  double dot = 0, nn = 0;
  for (int i = 0; i < 6; ++i) dot += gf[i] * gb[i], nn += gf[i] * gf[i];
  const double c = dot / std::max(nn, 1e-10);

  // the same objective through the library: parameters as (2, 2) weights and (2) biases, in double
  for (const std::string mode : {"orthogonal", "true", "semi"}) {
    torch::Tensor W = torch::tensor({theta0[0], theta0[1], theta0[3], theta0[4]}, torch::kFloat64).reshape({2, 2});
    torch::Tensor C = torch::tensor({theta0[2], theta0[5]}, torch::kFloat64);
    W.requires_grad_(true), C.requires_grad_(true);
    const torch::Tensor Wt = torch::tensor({target[0], target[1], target[3], target[4]}, torch::kFloat64).reshape({2, 2});
    const torch::Tensor Ct = torch::tensor({target[2], target[5]}, torch::kFloat64);
    auto dbl = [](const Rows& m) {
      std::vector<double> flat;
      for (const auto& r : m) flat.insert(flat.end(), r.begin(), r.end());
      return torch::tensor(flat, torch::kFloat64).reshape({static_cast<int64_t>(m.size()), -1});
    };
    const torch::Tensor s = dbl(S), sn = dbl(Sn);
    const torch::Tensor v = W.matmul(s.t()) + C.unsqueeze(1), vn = W.matmul(sn.t()) + C.unsqueeze(1);  // (2, 3)
    const torch::Tensor tv = std::get<0>((Wt.matmul(s.t()) + Ct.unsqueeze(1)).min(0));
    const torch::Tensor tvn = std::get<0>((Wt.matmul(sn.t()) + Ct.unsqueeze(1)).min(0));
    const auto losses = off::odice_value_losses(torch::tensor(R, torch::kFloat64), torch::tensor(D, torch::kFloat64), v,
                                                vn, tv, tvn, lam, eta, "pearson_chi2");
    const double got_c = off::odice_value_gradient({W, C}, losses, mode);
    std::vector<double> want(6);
    for (int i = 0; i < 6; ++i) {
      if (mode == "orthogonal") want[i] = gl[i] + gf[i] + gb[i] - c * gf[i];
      if (mode == "true") want[i] = gl[i] + gt[i];
      if (mode == "semi") want[i] = gl[i] + gf[i];
    }
    if (mode == "orthogonal") EXPECT_NEAR(got_c, c, 1e-6);
    const std::vector<double> got = {at(W.grad(), 0, 0), at(W.grad(), 0, 1), at(C.grad(), 0),
                                     at(W.grad(), 1, 0), at(W.grad(), 1, 1), at(C.grad(), 1)};
    for (int i = 0; i < 6; ++i) EXPECT_NEAR(got[i], want[i], 1e-6) << mode << " parameter " << i;
  }
}

TEST(OdiceLoss, PolicyLossWeightsByTheClippedRatioMeanOverHeads) {
  const std::vector<double> logp = {-1.0, -2.5, 0.3};
  const Rows res = {{0.5, -1.0, 150.0}, {1.5, 2.0, 90.0}};
  double want = 0;
  for (int b = 0; b < 3; ++b) {
    double w = 0;
    for (int k = 0; k < 2; ++k) w += std::min(std::max(res[k][b], 0.0), 100.0) / 2;
    want += -w * logp[b] / 3;
  }
  torch::Tensor lp = f1(logp).requires_grad_(true);
  const torch::Tensor l = off::odice_policy_loss(lp, f2(res), "pearson_chi2", 100.0);
  EXPECT_NEAR(at(l), want, 1e-4);
}

}  // namespace seed_losses_test
