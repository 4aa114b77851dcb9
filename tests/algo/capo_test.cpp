// CAPO token filter: the closed-form shifts against the last-layer model built out in matrices
// here (gradient g = A·v hᵀ, Hessian A·(v vᵀ − F) ⊗ h hᵀ, step η·g), against finite differences of
// the real softmax after the step (m_H ≈ A·(r − 1), m_F ≈ ½(log r)², errors O(η³)), hand values,
// the acceptance rule, and a realistic batch where it rejects a few percent of tokens.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

#include "rlpp/algo/capo.h"
#include "rlpp/core/error.h"
#include "selection_test_util.h"

namespace rlpp::algo {
namespace {

using Vec = std::vector<double>;

Vec softmax_of(const Vec& z) {
  double m = z[0];
  for (double x : z) m = std::max(m, x);
  Vec p(z.size());
  double s = 0;
  for (size_t j = 0; j < z.size(); ++j) s += (p[j] = std::exp(z[j] - m));
  for (double& x : p) x /= s;
  return p;
}

// One token of the last-layer model: W (V × d), h (d), sampled a, advantage A.
struct Token {
  std::vector<Vec> W;
  Vec h;
  int64_t a = 0;
  double A = 0;
  Vec logits() const {
    Vec z(W.size(), 0.0);
    for (size_t k = 0; k < W.size(); ++k)
      for (size_t i = 0; i < h.size(); ++i) z[k] += W[k][i] * h[i];
    return z;
  }
};

// m_H = gᵀΔψ + ½ΔψᵀHΔψ and m_F = ½(vᵀΔz)² with every matrix written out (no power sums).
std::pair<double, double> shifts_by_matrices(const Token& t, double eta) {
  const size_t V = t.W.size(), d = t.h.size();
  const Vec p = softmax_of(t.logits());
  Vec v(V);
  for (size_t k = 0; k < V; ++k) v[k] = (static_cast<int64_t>(k) == t.a ? 1.0 : 0.0) - p[k];
  // g = A·v hᵀ and Δψ = η·g, flattened over (k, i).
  double g_dot_step = 0;
  std::vector<Vec> step(V, Vec(d));
  for (size_t k = 0; k < V; ++k)
    for (size_t i = 0; i < d; ++i) {
      const double g = t.A * v[k] * t.h[i];
      step[k][i] = eta * g;
      g_dot_step += g * step[k][i];
    }
  Vec dz(V, 0.0);  // Δz = Δψ·h
  for (size_t k = 0; k < V; ++k)
    for (size_t i = 0; i < d; ++i) dz[k] += step[k][i] * t.h[i];
  // H in logit space: A·(v vᵀ − (diag π − π πᵀ)).
  double quad = 0;
  for (size_t k = 0; k < V; ++k)
    for (size_t l = 0; l < V; ++l) {
      const double F = (k == l ? p[k] : 0.0) - p[k] * p[l];
      quad += dz[k] * t.A * (v[k] * v[l] - F) * dz[l];
    }
  double vdz = 0;
  for (size_t k = 0; k < V; ++k) vdz += v[k] * dz[k];
  return {g_dot_step + 0.5 * quad, 0.5 * vdz * vdz};
}

Token random_token(std::mt19937_64& gen, int64_t V, int64_t d) {
  std::normal_distribution<double> n(0.0, 1.0);
  Token t;
  t.W.assign(static_cast<size_t>(V), Vec(static_cast<size_t>(d)));
  for (auto& row : t.W)
    for (double& x : row) x = n(gen);
  t.h.resize(static_cast<size_t>(d));
  for (double& x : t.h) x = n(gen);
  t.a = std::uniform_int_distribution<int64_t>(0, V - 1)(gen);
  t.A = 2.0 * n(gen);
  return t;
}

// Packs tokens into (1, N) tensors: logits (1, N, V), actions, advantages, ‖h‖².
struct Packed {
  torch::Tensor logits, actions, advantages, h2;
};
Packed pack(const std::vector<Token>& toks) {
  const auto N = static_cast<int64_t>(toks.size());
  const auto V = static_cast<int64_t>(toks[0].W.size());
  Packed p{torch::zeros({1, N, V}, torch::kDouble), torch::zeros({1, N}, torch::kLong),
           torch::zeros({1, N}, torch::kDouble), torch::zeros({1, N}, torch::kDouble)};
  for (int64_t n = 0; n < N; ++n) {
    const Token& t = toks[static_cast<size_t>(n)];
    const Vec z = t.logits();
    for (int64_t k = 0; k < V; ++k) p.logits.index_put_({0, n, k}, z[static_cast<size_t>(k)]);
    p.actions.index_put_({0, n}, t.a);
    p.advantages.index_put_({0, n}, t.A);
    double h2 = 0;
    for (double x : t.h) h2 += x * x;
    p.h2.index_put_({0, n}, h2);
  }
  return p;
}

CapoInput input_of(const Packed& p) {
  const CapoTokenStats s = capo_token_stats(p.logits, p.actions);
  CapoInput in;
  in.advantages = p.advantages;
  in.p_action = s.p_action;
  in.sum_p2 = s.sum_p2;
  in.sum_p3 = s.sum_p3;
  in.hidden_sq_norm = p.h2;
  return in;
}

TEST(Capo, ShiftsMatchTheLastLayerModelInMatrices) {
  std::mt19937_64 gen(5);
  std::vector<Token> toks;
  for (int i = 0; i < 12; ++i) toks.push_back(random_token(gen, /*V=*/6, /*d=*/4));
  const Packed p = pack(toks);
  for (double eta : {0.0, 0.01, 0.3}) {
    const CapoShifts m = capo_shifts(input_of(p), eta);
    for (size_t n = 0; n < toks.size(); ++n) {
      const auto [mh, mf] = shifts_by_matrices(toks[n], eta);
      EXPECT_NEAR(m.objective.index({0, static_cast<int64_t>(n)}).item<double>(), mh, 1e-10 * (1 + std::abs(mh)));
      EXPECT_NEAR(m.policy.index({0, static_cast<int64_t>(n)}).item<double>(), mf, 1e-10 * (1 + mf));
    }
  }
}

// After the real step W ← W + η·g the ratio is r = π'(a)/π(a): m_H is the second-order Taylor
// model of A·(r − 1) and m_F that of ½(log r)², so halving η cuts their errors about 8-fold.
TEST(Capo, ShiftsAreSecondOrderModelsOfTheRealStep) {
  std::mt19937_64 gen(8);
  for (int rep = 0; rep < 5; ++rep) {
    const Token t = random_token(gen, 7, 3);
    const Packed p = pack({t});
    const Vec p0 = softmax_of(t.logits());
    const auto errors = [&](double eta) {
      Token moved = t;
      const Vec pi = softmax_of(t.logits());
      for (size_t k = 0; k < t.W.size(); ++k)
        for (size_t i = 0; i < t.h.size(); ++i)
          moved.W[k][i] += eta * t.A * ((static_cast<int64_t>(k) == t.a ? 1.0 : 0.0) - pi[k]) * t.h[i];
      const double r = softmax_of(moved.logits())[static_cast<size_t>(t.a)] / p0[static_cast<size_t>(t.a)];
      const CapoShifts m = capo_shifts(input_of(p), eta);
      return std::pair<double, double>{std::abs(m.objective.item<double>() - t.A * (r - 1.0)),
                                       std::abs(m.policy.item<double>() - 0.5 * std::log(r) * std::log(r))};
    };
    const auto [eh1, ef1] = errors(1e-3);
    const auto [eh2, ef2] = errors(5e-4);
    EXPECT_LT(eh2, eh1 / 5.0) << rep;  // O(η³): 8x in exact arithmetic
    EXPECT_LT(ef2, ef1 / 5.0) << rep;
    EXPECT_LT(eh1, 1e-4) << rep;
  }
}

TEST(Capo, HandValuesAndTheDominantTokenApproximation) {
  // π(a) = 0.2 with the rest spread thin (S₂ = π_a², S₃ = π_a³): ‖v‖² = 0.64, vᵀFv = 0.2·0.8³ = 0.1024.
  CapoInput in;
  in.advantages = torch::tensor({{1.0, -1.0, 2.0}}, torch::kDouble);
  in.p_action = torch::full({1, 3}, 0.2, torch::kDouble);
  const CapoShifts m = capo_shifts(in, 1.0);
  // m_H = s·A²·0.64 + ½·s²·A³·(0.4096 − 0.1024), m_F = ½·s²·A²·0.4096.
  EXPECT_NEAR(m.objective[0][0].item<double>(), 0.64 + 0.1536, 1e-12);
  EXPECT_NEAR(m.objective[0][1].item<double>(), 0.64 - 0.1536, 1e-12);
  EXPECT_NEAR(m.objective[0][2].item<double>(), 4 * 0.64 + 8 * 0.1536, 1e-12);
  EXPECT_NEAR(m.policy[0][0].item<double>(), 0.2048, 1e-12);
  EXPECT_NEAR(m.policy[0][2].item<double>(), 4 * 0.2048, 1e-12);
  // ‖h‖² = 2 doubles the logit step: s = 0.5·2 = 1 gives the same shifts as s = 1.
  in.hidden_sq_norm = torch::full({1, 3}, 2.0, torch::kDouble);
  EXPECT_TRUE(torch::allclose(capo_shifts(in, 0.5).objective, m.objective));
  // Two tokens of probability ½ each, a the first: S₂ = ½, S₃ = ¼, ‖v‖² = ½, vᵀFv = ¼.
  CapoInput two;
  two.advantages = torch::tensor({{1.0}}, torch::kDouble);
  two.p_action = torch::tensor({{0.5}}, torch::kDouble);
  two.sum_p2 = torch::tensor({{0.5}}, torch::kDouble);
  two.sum_p3 = torch::tensor({{0.25}}, torch::kDouble);
  const CapoShifts m2 = capo_shifts(two, 1.0);
  EXPECT_NEAR(m2.objective.item<double>(), 0.5 + 0.5 * (0.25 - 0.25), 1e-12);
  EXPECT_NEAR(m2.policy.item<double>(), 0.125, 1e-12);
  EXPECT_THROW(capo_shifts([&] { CapoInput b = two; b.sum_p3 = torch::Tensor(); return b; }(), 1.0), core::UserError);
  EXPECT_THROW(capo_shifts([&] { CapoInput b = two; b.p_action = torch::tensor({{1.5}}, torch::kDouble); return b; }(), 1.0),
               core::UserError);
  EXPECT_THROW(capo_shifts(two, -1.0), core::UserError);
}

TEST(Capo, AcceptanceRuleCapAndMaskedValues) {
  // π(a) per token, s = 1. π(a) = 0.2: m_F = 0.2048·A², m_H = 0.64·A² + 0.1536·A³ (0.7936 for A = 1,
  // 0.4864 for A = −1, 3.7888 for A = 2). π(a) = 0.9: ‖v‖² = 0.01, vᵀFv = 9e-4, m_F = 5e-5,
  // m_H = 0.01 ± ½(1e-4 − 9e-4) = 0.0096 (A = 1) or 0.0104 (A = −1).
  CapoInput in;
  in.p_action = torch::tensor({{0.2, 0.9, 0.2, 0.9}, {0.2, 0.9, 0.5, 0.5}}, torch::kDouble);
  in.advantages = torch::tensor({{1.0, 1.0, -1.0, -1.0}, {2.0, 1.0, 1.0, 1.0}}, torch::kDouble);
  in.mask = torch::tensor({{1.0, 1.0, 1.0, 1.0}, {1.0, 1.0, 0.0, 0.0}}, torch::kFloat);
  CapoOptions o;
  o.step_size = 1.0;
  o.budget = 0.1;               // rejects the π(a) = 0.2 tokens (m_F = 0.2048)
  o.hessian_threshold = 1e9;    // m_H never binds
  CapoResult r = capo_mask(in, o);
  EXPECT_TRUE(torch::equal(r.keep, torch::tensor({{0.0, 1.0, 0.0, 1.0}, {0.0, 1.0, 0.0, 0.0}}, torch::kFloat)));
  EXPECT_EQ(r.rejected, 3);
  EXPECT_EQ(r.rejected_policy, 3);
  EXPECT_EQ(r.rejected_objective, 0);
  EXPECT_NEAR(r.predicted_kl_before, (2 * 0.2048 + 4 * 0.2048 + 3 * 5e-5) / 6.0, 1e-12);
  EXPECT_NEAR(r.predicted_kl_after, 3 * 5e-5 / 6.0, 1e-12);
  o.budget = 1e9;
  o.hessian_threshold = 0.6;  // |m_H| < 0.6: rejects the π(a) = 0.2 tokens with A > 0
  r = capo_mask(in, o);
  EXPECT_TRUE(torch::equal(r.keep, torch::tensor({{0.0, 1.0, 1.0, 1.0}, {0.0, 1.0, 0.0, 0.0}}, torch::kFloat)));
  EXPECT_EQ(r.rejected_objective, 2);
  // One-sided bound 0 <= m_H < δ_H: at s = 10, π(a) = 0.2 and A = −1 give m_H = 6.4 − 15.36 < 0.
  o.hessian_symmetric = false;
  o.step_size = 10.0;
  o.hessian_threshold = 1e9;
  r = capo_mask(in, o);
  EXPECT_EQ(r.keep[0][2].item<double>(), 0.0);
  EXPECT_EQ(r.keep[0][0].item<double>(), 1.0);
  // Cap: three tokens over δ_F = 1e-4 (the π(a) = 0.2 ones), at most ⌊0.34·6⌋ = 2 rejected, the
  // largest m_F/δ_F first (A = 2 at [1][0]), then by position.
  o = CapoOptions{};
  o.step_size = 1.0;
  o.budget = 1e-4;
  o.hessian_threshold = 1e9;
  o.max_reject_frac = 0.34;
  r = capo_mask(in, o);
  EXPECT_EQ(r.rejected, 2);
  EXPECT_TRUE(torch::equal(r.keep, torch::tensor({{0.0, 1.0, 1.0, 1.0}, {0.0, 1.0, 0.0, 0.0}}, torch::kFloat)));
  // Junk at masked positions changes nothing.
  CapoInput junk = in;
  junk.p_action = torch::where(in.mask > 0.5, in.p_action, torch::full({}, 1e6, torch::kDouble));
  junk.advantages = torch::where(in.mask > 0.5, in.advantages, torch::full({}, NAN, torch::kDouble));
  EXPECT_TRUE(torch::equal(capo_mask(junk, o).keep, r.keep));
  // Empty mask.
  junk.mask = torch::zeros({2, 4}, torch::kFloat);
  EXPECT_EQ(capo_mask(junk, o).keep.sum().item<double>(), 0.0);
}

// A small random softmax policy (V = 32, logits ~ N(0, 3²)), 16 responses of 25 tokens sampled from
// it, one advantage ±1 per response: the default filter rejects a few percent of the tokens.
TEST(Capo, DefaultsRejectAFewPercentOfARealisticBatch) {
  const int64_t B = 16, L = 25, V = 32;
  torch::Generator gen = at::detail::createCPUGenerator(11);
  const torch::Tensor logits = 3.0 * torch::randn({B, L, V}, gen, torch::kDouble);
  const torch::Tensor actions =
      torch::multinomial(torch::softmax(logits, -1).reshape({B * L, V}), 1, true, gen).reshape({B, L});
  const torch::Tensor sign = torch::where(torch::rand({B, 1}, gen, torch::kDouble) < 0.5, torch::full({}, -1.0, torch::kDouble),
                                          torch::full({}, 1.0, torch::kDouble));
  CapoInput in;
  in.advantages = sign.expand({B, L});
  const CapoTokenStats s = capo_token_stats(logits, actions);
  in.p_action = s.p_action;
  in.sum_p2 = s.sum_p2;
  in.sum_p3 = s.sum_p3;
  const CapoResult full = capo_mask(in, CapoOptions{});
  const double n = static_cast<double>(B * L);
  ASSERT_GT(full.rejected, 0);
  EXPECT_LT(static_cast<double>(full.rejected) / n, 0.10);
  // The selector's bounds from the entropy underestimate ‖v‖²: fewer rejections, still a small fraction.
  const torch::Tensor p = torch::softmax(logits, -1);
  const torch::Tensor H = -(p * torch::log_softmax(logits, -1)).sum(-1);  // (B, L)
  const CapoTokenStats b = capo_stats_from_entropy(s.p_action, H);
  EXPECT_TRUE((b.sum_p2 <= s.sum_p2 + 1e-12).all().item<bool>());
  EXPECT_TRUE((b.sum_p3 <= s.sum_p3 + 1e-12).all().item<bool>());
  in.sum_p2 = b.sum_p2;
  in.sum_p3 = b.sum_p3;
  const CapoResult approx = capo_mask(in, CapoOptions{});
  EXPECT_LT(static_cast<double>(approx.rejected) / n, 0.10);
  // What it rejects is the improbable tokens: every rejected π(a) is below every kept one's median.
  const torch::Tensor pa = s.p_action.flatten();
  const torch::Tensor kept = full.keep.flatten() > 0.5;
  EXPECT_LT(pa.masked_select(~kept).max().item<double>(), pa.masked_select(kept).median().item<double>());
  std::printf("capo realistic batch: rejected %lld / %lld (%.2f%%), with the approximation %lld\n",
              static_cast<long long>(full.rejected), static_cast<long long>(B * L), 100.0 * full.rejected / n,
              static_cast<long long>(approx.rejected));
}

TEST(Capo, StatsFromEntropyByHand) {
  // Two equal tokens (H = ln 2): exact, S₂ = ½, S₃ = ¼. A point mass on another token (H = 0,
  // π(a) = 0): S₂ = 1, S₃ = 1. π(a) = 0.9, H = 3: the π(a) bounds win.
  const torch::Tensor pa = torch::tensor({{0.5, 0.0, 0.9}}, torch::kDouble);
  const torch::Tensor H = torch::tensor({{std::log(2.0), 0.0, 3.0}}, torch::kDouble);
  const CapoTokenStats s = capo_stats_from_entropy(pa, H);
  EXPECT_NEAR(s.sum_p2[0][0].item<double>(), 0.5, 1e-15);
  EXPECT_NEAR(s.sum_p3[0][0].item<double>(), 0.25, 1e-15);
  EXPECT_EQ(s.sum_p2[0][1].item<double>(), 1.0);
  EXPECT_EQ(s.sum_p3[0][1].item<double>(), 1.0);
  EXPECT_NEAR(s.sum_p2[0][2].item<double>(), 0.81, 1e-15);
  EXPECT_NEAR(s.sum_p3[0][2].item<double>(), 0.729, 1e-15);
}

TEST(Capo, TokenStatsFromLogits) {
  // Row 0: logits (0, log 3) → π = (¼, ¾); a = 1. Row 1: one −inf entry is outside the support.
  const double inf = std::numeric_limits<double>::infinity();
  const torch::Tensor logits = torch::tensor({{{0.0, std::log(3.0), -inf}}, {{0.0, 0.0, -inf}}}, torch::kDouble);
  const torch::Tensor actions = torch::tensor({{1}, {0}}, torch::kLong);
  const CapoTokenStats s = capo_token_stats(logits.to(torch::kFloat), actions);
  EXPECT_NEAR(s.p_action[0][0].item<double>(), 0.75, 1e-6);
  EXPECT_NEAR(s.sum_p2[0][0].item<double>(), 1.0 / 16 + 9.0 / 16, 1e-6);
  EXPECT_NEAR(s.sum_p3[0][0].item<double>(), 1.0 / 64 + 27.0 / 64, 1e-6);
  EXPECT_NEAR(s.p_action[1][0].item<double>(), 0.5, 1e-12);
  EXPECT_NEAR(s.sum_p2[1][0].item<double>(), 0.5, 1e-12);
  EXPECT_THROW(capo_token_stats(logits, torch::tensor({{3}, {0}}, torch::kLong)), core::UserError);
  EXPECT_THROW(capo_token_stats(logits[0], actions), core::UserError);
}

TEST(Capo, SelectorUsesTheSampledTokenProbability) {
  using namespace sel_test;
  SelectionInput in = random_input(3);
  in.advantages = torch::ones({kB, kL});
  in.logp = torch::full({kB, kL}, std::log(0.99));
  in.logp.index_put_({0, 1}, std::log(0.2));  // the one improbable token
  in.logp.index_put_({3, 0}, 1e6);             // junk at a masked position
  CapoOptions o;
  o.step_size = 0.5;  // m_F(0.2) = ½·0.25·0.4096 = 0.0512 >= 0.01; m_F(0.99) ≈ 1.25e-9
  const SelectionOutput out = capo_select(in, o);
  torch::Tensor want = in.mask.clone();
  want.index_put_({0, 1}, 0.0);
  EXPECT_TRUE(torch::equal(out.token_mask, want));
  EXPECT_NEAR(out.metrics.at("capo/reject_frac").item<double>(), 1.0 / 15.0, 1e-12);
  EXPECT_NEAR(out.metrics.at("capo/reject_frac_policy").item<double>(), 1.0 / 15.0, 1e-12);
  EXPECT_TRUE(out.row_keep.all().item<bool>());
  in.logp = torch::Tensor();
  in.logp_old = torch::Tensor();
  EXPECT_THROW(capo_select(in, o), core::UserError);
  SelectionInput empty = random_input(3);
  empty.mask = torch::zeros({kB, kL});
  const SelectionOutput e = capo_select(empty, {});
  EXPECT_EQ(e.token_mask.sum().item<double>(), 0.0);
  for (const auto& [k, v] : e.metrics) EXPECT_TRUE(std::isfinite(v.item<double>())) << k;
}

// The registered name builds the same filter with the defaults.
TEST(Capo, RegisteredSelectorIsTheDefaultFilter) {
  using namespace sel_test;
  SelectionInput in = random_input(4);
  in.logp = in.logp - 1.5;  // some improbable tokens
  const SelectionOutput d = build_default(selector_registry(), "capo")->select(in);
  EXPECT_TRUE(torch::equal(d.token_mask, capo_select(in, CapoOptions{}).token_mask));
}

}  // namespace
}  // namespace rlpp::algo
