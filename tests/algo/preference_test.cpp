// DPO, IPO and Bradley–Terry against formulas re-derived in double precision, with gradients
// checked by central finite differences; divergence masks against hand-worked rows.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <vector>

#include "rlpp/algo/preference.h"
#include "rlpp/core/error.h"

using namespace rlpp;

namespace {

double log_sigmoid(double z) { return z >= 0 ? -std::log1p(std::exp(-z)) : z - std::log1p(std::exp(z)); }

struct PairData {
  std::vector<std::vector<double>> lw, lr, rw, rr, mw, mr;  // (B, L) each
};

PairData make_pairs() {
  PairData d;
  d.lw = {{-1.2, -0.4, -2.0}, {-0.1, -3.0, -0.7}};
  d.rw = {{-1.0, -0.9, -1.5}, {-0.3, -2.0, -0.6}};
  d.mw = {{1, 1, 0}, {0, 1, 1}};
  d.lr = {{-0.5, -2.5, -1.1}, {-1.4, -0.2, -0.9}};
  d.rr = {{-0.8, -1.9, -1.0}, {-1.0, -0.1, -1.6}};
  d.mr = {{1, 1, 1}, {1, 0, 1}};
  return d;
}

torch::Tensor t64(const std::vector<std::vector<double>>& v) {
  std::vector<double> flat;
  for (const auto& r : v) flat.insert(flat.end(), r.begin(), r.end());
  return torch::tensor(flat, torch::kDouble).reshape({static_cast<int64_t>(v.size()), -1});
}

// Σ_t m (l − r) in double.
double h_of(const std::vector<double>& l, const std::vector<double>& r, const std::vector<double>& m) {
  double s = 0;
  for (size_t t = 0; t < l.size(); ++t) s += m[t] * (l[t] - r[t]);
  return s;
}

double dpo_ref(const PairData& d, double beta, double eps) {
  double total = 0;
  for (size_t i = 0; i < d.lw.size(); ++i) {
    const double z = beta * (h_of(d.lw[i], d.rw[i], d.mw[i]) - h_of(d.lr[i], d.rr[i], d.mr[i]));
    total += -(1 - eps) * log_sigmoid(z) - eps * log_sigmoid(-z);
  }
  return total / d.lw.size();
}

double ipo_ref(const PairData& d, double beta) {
  double total = 0;
  for (size_t i = 0; i < d.lw.size(); ++i) {
    const double g = h_of(d.lw[i], d.rw[i], d.mw[i]) - h_of(d.lr[i], d.rr[i], d.mr[i]) - 1.0 / (2 * beta);
    total += g * g;
  }
  return total / d.lw.size();
}

algo::PreferenceInput to_input(const PairData& d, torch::Tensor& lw, torch::Tensor& lr) {
  lw = t64(d.lw).requires_grad_(true);
  lr = t64(d.lr).requires_grad_(true);
  return {lw, lr, t64(d.rw), t64(d.rr), t64(d.mw), t64(d.mr)};
}

// Autograd gradient of `loss_of` w.r.t. the chosen/rejected log-probs against central differences
// of the double-precision reference `ref`.
void check_gradients(const std::function<torch::Tensor(const algo::PreferenceInput&)>& loss_of,
                     const std::function<double(const PairData&)>& ref) {
  const PairData d = make_pairs();
  torch::Tensor lw, lr;
  loss_of(to_input(d, lw, lr)).backward();
  const double h = 1e-6;
  for (int side = 0; side < 2; ++side) {
    const torch::Tensor grad = side == 0 ? lw.grad() : lr.grad();
    for (size_t i = 0; i < d.lw.size(); ++i) {
      for (size_t t = 0; t < d.lw[i].size(); ++t) {
        PairData p = d, m = d;
        (side == 0 ? p.lw : p.lr)[i][t] += h;
        (side == 0 ? m.lw : m.lr)[i][t] -= h;
        const double fd = (ref(p) - ref(m)) / (2 * h);
        EXPECT_NEAR(grad[i][t].item<double>(), fd, 1e-7) << "side " << side << " pair " << i << " t " << t;
      }
    }
  }
}

}  // namespace

TEST(Dpo, LossMatchesDoublePrecisionFormula) {
  const PairData d = make_pairs();
  for (double beta : {0.1, 0.5, 2.0}) {
    for (double eps : {0.0, 0.2}) {
      torch::Tensor lw, lr;
      const auto out = algo::dpo_loss(to_input(d, lw, lr), {beta, eps});
      EXPECT_NEAR(out.loss.item<double>(), dpo_ref(d, beta, eps), 1e-12) << beta << " " << eps;
    }
  }
}

TEST(Dpo, MetricsAreTheImplicitRewards) {
  const PairData d = make_pairs();
  torch::Tensor lw, lr;
  const auto out = algo::dpo_loss(to_input(d, lw, lr), {/*beta=*/0.5, /*label_smoothing=*/0.0});
  // Pair 0: h_w = (−1.2+1.0) + (−0.4+0.9) = 0.3, h_l = 0.3 − 0.6 − 0.1 = −0.4.
  // Pair 1: h_w = (−3.0+2.0) + (−0.7+0.6) = −1.1, h_l = −0.4 + 0.7 = 0.3.
  EXPECT_NEAR(out.metrics.at("reward_chosen").item<double>(), 0.5 * (0.3 - 1.1) / 2, 1e-12);
  EXPECT_NEAR(out.metrics.at("reward_rejected").item<double>(), 0.5 * (-0.4 + 0.3) / 2, 1e-12);
  EXPECT_NEAR(out.metrics.at("reward_margin").item<double>(), 0.5 * (0.7 - 1.4) / 2, 1e-12);
  EXPECT_NEAR(out.metrics.at("reward_accuracy").item<double>(), 0.5, 1e-12);
}

TEST(Dpo, GradientMatchesFiniteDifferences) {
  check_gradients([](const algo::PreferenceInput& in) { return algo::dpo_loss(in, {0.7, 0.1}).loss; },
                  [](const PairData& d) { return dpo_ref(d, 0.7, 0.1); });
}

TEST(Dpo, ReferenceIsNotDifferentiated) {
  const PairData d = make_pairs();
  torch::Tensor lw, lr;
  auto in = to_input(d, lw, lr);
  in.ref_logp_chosen = in.ref_logp_chosen.clone().requires_grad_(true);
  algo::dpo_loss(in, {}).loss.backward();
  EXPECT_FALSE(in.ref_logp_chosen.grad().defined());
}

TEST(Ipo, LossAndGradientMatchReference) {
  const PairData d = make_pairs();
  torch::Tensor lw, lr;
  EXPECT_NEAR(algo::ipo_loss(to_input(d, lw, lr), {0.25}).loss.item<double>(), ipo_ref(d, 0.25), 1e-12);
  check_gradients([](const algo::PreferenceInput& in) { return algo::ipo_loss(in, {0.25}).loss; },
                  [](const PairData& d) { return ipo_ref(d, 0.25); });
}

TEST(BradleyTerry, LossAndGradientMatchReference) {
  const std::vector<double> rw = {0.3, -1.0, 2.5}, rl = {0.1, 0.4, -0.5};
  torch::Tensor w = torch::tensor(rw, torch::kDouble).requires_grad_(true);
  torch::Tensor l = torch::tensor(rl, torch::kDouble).requires_grad_(true);
  const auto out = algo::bradley_terry_loss(w, l);
  double ref = 0;
  for (size_t i = 0; i < rw.size(); ++i) ref += -log_sigmoid(rw[i] - rl[i]);
  EXPECT_NEAR(out.loss.item<double>(), ref / 3, 1e-12);
  EXPECT_NEAR(out.metrics.at("reward_accuracy").item<double>(), 2.0 / 3, 1e-6);  // fp32 metric
  out.loss.backward();
  for (size_t i = 0; i < rw.size(); ++i) {
    // d/dr_w −log σ(r_w − r_l) = −(1 − σ(r_w − r_l)) = −σ(r_l − r_w); divided by B for the mean.
    const double g = -1.0 / (1.0 + std::exp(rw[i] - rl[i])) / 3;
    EXPECT_NEAR(w.grad()[i].item<double>(), g, 1e-12);
    EXPECT_NEAR(l.grad()[i].item<double>(), -g, 1e-12);
  }
}

TEST(Preference, StepLevelMasksStartAtTheDivergencePoint) {
  // Row 0: shared prefix 5 7, then 1 vs 2 (right padded). Row 1: left padded, shared 3, then 4 vs 9.
  const torch::Tensor tc = torch::tensor({5, 7, 1, 8, 0, 0, 3, 4}, torch::kLong).reshape({2, 4});
  const torch::Tensor mc = torch::tensor({1, 1, 1, 1, 0, 0, 1, 1}, torch::kLong).reshape({2, 4});
  const torch::Tensor tr = torch::tensor({5, 7, 2, 0, 3, 9, 6, 6}, torch::kLong).reshape({2, 4});
  const torch::Tensor mr = torch::tensor({1, 1, 1, 0, 1, 1, 1, 1}, torch::kLong).reshape({2, 4});
  EXPECT_EQ(algo::divergence_point(tc[0], mc[0], tr[0], mr[0]), 2);
  EXPECT_EQ(algo::divergence_point(tc[1], mc[1], tr[1], mr[1]), 1);
  auto [dc, dr] = algo::divergence_masks(tc, mc, tr, mr);
  const std::vector<float> want_c = {0, 0, 1, 1, 0, 0, 0, 1}, want_r = {0, 0, 1, 0, 0, 1, 1, 1};
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(dc.flatten()[i].item<float>(), want_c[i]) << i;
    EXPECT_EQ(dr.flatten()[i].item<float>(), want_r[i]) << i;
  }
}

TEST(Preference, StepLevelEqualsSequenceLevelWhenPrefixesAgree) {
  // Same prefix log-probs on both sides: they cancel, so masking them out changes nothing.
  const torch::Tensor lw = torch::tensor({-0.5, -0.2, -1.0}, torch::kDouble).reshape({1, 3});
  const torch::Tensor lr = torch::tensor({-0.5, -0.2, -2.0}, torch::kDouble).reshape({1, 3});
  const torch::Tensor rw = torch::tensor({-0.4, -0.3, -1.5}, torch::kDouble).reshape({1, 3});
  const torch::Tensor rr = torch::tensor({-0.4, -0.3, -1.2}, torch::kDouble).reshape({1, 3});
  const torch::Tensor step = torch::tensor({0.0, 0.0, 1.0}, torch::kDouble).reshape({1, 3});
  const double seq = algo::dpo_loss({lw, lr, rw, rr, {}, {}}, {}).loss.item<double>();
  const double stp = algo::dpo_loss({lw, lr, rw, rr, step, step}, {}).loss.item<double>();
  EXPECT_NEAR(seq, stp, 1e-12);
  EXPECT_NEAR(stp, -log_sigmoid(0.1 * ((-1.0 + 1.5) - (-2.0 + 1.2))), 1e-12);
}

TEST(Preference, BadInputIsAUserError) {
  const torch::Tensor a = torch::zeros({2, 3}), b = torch::zeros({2, 4});
  EXPECT_THROW(algo::dpo_loss({a, a, b, a, {}, {}}, {}), core::UserError);
  EXPECT_THROW(algo::dpo_loss({a, torch::zeros({3, 3}), a, torch::zeros({3, 3}), {}, {}}, {}), core::UserError);
  EXPECT_THROW(algo::dpo_loss({a, a, a, a, {}, {}}, {/*beta=*/0.0, 0.0}), core::UserError);
  EXPECT_THROW(algo::bradley_terry_loss(torch::zeros({2}), torch::zeros({3})), core::UserError);
}
