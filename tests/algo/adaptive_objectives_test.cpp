// bapo, hapo, clip_cov, kl_cov and lp_reg — the objectives whose loss depends on global-batch
// statistics — against their definitions re-written per token in double precision.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <vector>

#include "objective_test_util.h"
#include "rlpp/algo/objectives/bapo.h"
#include "rlpp/algo/objectives/cov.h"
#include "rlpp/algo/objectives/hapo.h"
#include "rlpp/algo/objectives/lp_reg.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

using namespace test_util;

// One valid token, in double.
struct Tok {
  int64_t i, t;
  double lp, lpo, a, h, proxy;
  double r() const { return std::exp(lp - lpo); }
};

std::vector<Tok> tokens_of(const PolicyLossInput& in) {
  std::vector<Tok> out;
  for (int64_t i = 0; i < in.logp.size(0); ++i) {
    for (int64_t t = 0; t < in.logp.size(1); ++t) {
      if (in.mask.defined() && val(in.mask, i, t) < 0.5) continue;
      out.push_back({i, t, val(in.logp.detach(), i, t), val(in.logp_old, i, t), val(in.advantages, i, t),
                     in.entropy.defined() ? val(in.entropy, i, t) : 0.0,
                     in.logp_proxy.defined() ? val(in.logp_proxy, i, t) : 0.0});
    }
  }
  return out;
}

// Quantile with linear interpolation between order statistics (numpy's default).
double quantile_ref(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

// PPO clip with absolute bounds and optional dual clip: loss and d loss / d log π.
struct Ppo {
  double loss, grad;
  int side;  // 0 free, -1 low, +1 high, 2 dual
};
Ppo ppo_ref(double r, double a, double lo, double hi, double c) {
  const double rc = std::min(std::max(r, lo), hi);
  Ppo p{std::max(-r * a, -rc * a), -r * a, 0};
  if (-rc * a > -r * a) {
    p.grad = 0;
    p.side = a > 0 ? 1 : -1;
  }
  if (c > 0 && a < 0 && p.loss > -c * a) p = {-c * a, 0.0, 2};
  return p;
}

// ---- bapo ---------------------------------------------------------------------------------------

double balance_ref(const std::vector<Tok>& toks, double lo, double hi, double c, bool gradient_mode) {
  double pos = 0, neg = 0;
  for (const Tok& k : toks) {
    const double r = k.r();
    if (gradient_mode) {
      if (k.a > 0 && r <= hi) pos += r * k.a;
      if (k.a < 0 && r >= lo && r <= c) neg += -r * k.a;
    } else {
      const double e = (k.a >= 0 ? std::min(r, hi) : std::max(r, lo)) * k.a;
      (e > 0 ? pos : neg) += std::abs(e);
    }
  }
  return neg > 0 ? pos / neg : std::numeric_limits<double>::infinity();
}

// Negative advantages outweigh positive ones, but a few positive tokens sit above 1.2.
PolicyLossInput unbalanced_input(uint64_t seed, double pos_scale) {
  PolicyLossInput in = random_input(seed, 2.0);
  in.advantages = torch::where(in.advantages > 0, in.advantages * pos_scale, in.advantages);
  return in;
}

TEST(Bapo, BalanceMatchesDefinitionInBothModes) {
  const PolicyLossInput in = random_input(41, 2.0);
  const auto toks = tokens_of(in);
  for (const char* mode : {"gradient", "clipped_value"}) {
    BapoOptions o;
    o.contribution = mode;
    for (const auto& [lo, hi] : {std::pair{0.6, 1.2}, {0.8, 2.0}, {0.9, 3.0}}) {
      const double want = balance_ref(toks, lo, hi, 3.0, o.contribution == "gradient");
      EXPECT_NEAR(bapo_balance(in, o, lo, hi), want, 1e-6 * want) << mode << " " << lo << " " << hi;
    }
  }
}

TEST(Bapo, BoundsReachTheTargetWithTheFirstSufficientStep) {
  int reached_low_only = 0, reached_with_high = 0;
  for (uint64_t seed = 0; seed < 12; ++seed) {
    const PolicyLossInput in = unbalanced_input(50 + seed, 0.7 + 0.1 * static_cast<double>(seed % 6));
    const auto toks = tokens_of(in);
    const BapoOptions o;  // ρ = 1, [0.6, 0.9] x [1.2, 3.0], steps 0.05, gradient contributions
    ASSERT_LT(balance_ref(toks, 0.6, 1.2, 3.0, true), 1.0) << "the case must start unbalanced";
    const BapoBounds b = bapo_bounds(in, o);
    const double at = balance_ref(toks, b.c_low, b.c_high, 3.0, true);
    EXPECT_NEAR(b.pos_neg_ratio, at, 1e-6 * at);
    if (at < 1.0) {  // unreachable for this seed: both bounds at their maxima
      EXPECT_NEAR(b.c_low, 0.9, 1e-12);
      EXPECT_NEAR(b.c_high, 3.0, 1e-12);
      continue;
    }
    // The previous bounds on the search path did not reach the target.
    const bool high_moved = b.c_high > 1.2 + 1e-9;
    const double prev_low = high_moved ? b.c_low : b.c_low - 0.05;
    const double prev_high = high_moved ? b.c_high - 0.05 : b.c_high;
    EXPECT_LT(balance_ref(toks, prev_low, prev_high, 3.0, true), 1.0);
    if (high_moved) {
      EXPECT_NEAR(b.c_low, 0.9, 1e-12) << "c_high moves only once c_low is at its maximum";
      ++reached_with_high;
    } else {
      ++reached_low_only;
    }
  }
  EXPECT_GT(reached_with_high, 0);
}

TEST(Bapo, StopsAtTheMaximaWhenTheTargetIsUnreachable) {
  PolicyLossInput in = random_input(42);
  in.advantages = -in.advantages.abs() - 0.1;  // no positive token at all: P = 0
  const BapoBounds b = bapo_bounds(in, BapoOptions{});
  EXPECT_NEAR(b.c_low, 0.9, 1e-12);
  EXPECT_NEAR(b.c_high, 3.0, 1e-12);
  EXPECT_EQ(b.pos_neg_ratio, 0.0);
  EXPECT_EQ(b.steps, 6 + 36);
  // Already balanced: the start bounds are kept.
  in.advantages = in.advantages.abs();
  const BapoBounds kept = bapo_bounds(in, BapoOptions{});
  EXPECT_EQ(kept.c_low, 0.6);
  EXPECT_EQ(kept.c_high, 1.2);
  EXPECT_EQ(kept.steps, 0);
}

TEST(Bapo, HandComputedFourTokens) {
  // (A, r): (+1, 1.3) (+1, 1.0) (−1, 0.72) (−1, 1.0). At [0.6, 1.2]: P = 1.0 (1.3 is clipped),
  // N = 0.72 + 1.0, P/N = 0.58. c_low 0.65, 0.70 keep 0.72 in; at 0.75 N = 1.0 and P/N = 1.
  PolicyLossInput in;
  in.logp_old = torch::zeros({1, 4});
  in.logp = torch::tensor({{std::log(1.3), 0.0, std::log(0.72), 0.0}}, torch::kFloat).requires_grad_(true);
  in.advantages = torch::tensor({{1.0f, 1.0f, -1.0f, -1.0f}});
  const BapoBounds b = bapo_bounds(in, BapoOptions{});
  EXPECT_NEAR(b.c_low, 0.75, 1e-12);
  EXPECT_EQ(b.c_high, 1.2);
  EXPECT_EQ(b.steps, 3);
  EXPECT_NEAR(b.pos_neg_ratio, 1.0, 1e-6);
  const ObjectiveOutput out = bapo_loss(in, BapoOptions{}, b);
  const float want[] = {-1.2f, -1.0f, 0.75f, 1.0f};
  for (int t = 0; t < 4; ++t) EXPECT_NEAR(val(out.token_loss, 0, t), want[t], 1e-6) << t;
  EXPECT_NEAR(scalar(out.metrics.at("clipfrac")), 0.5, 1e-7);
}

TEST(Bapo, LossIsDualClipPpoWithTheChosenBounds) {
  PolicyLossInput in = unbalanced_input(43, 0.7);
  in.logp_old = (in.logp_old - 2.0 * (torch::rand({kB, kL}) < 0.15)).detach();  // some r > c
  const auto toks = tokens_of(in);
  auto obj = build_default(objective_registry(), "bapo");
  obj->prepare(in);
  const ObjectiveOutput out = obj->compute(in);
  const double lo = scalar(out.metrics.at("bapo_c_low")), hi = scalar(out.metrics.at("bapo_c_high"));
  EXPECT_GT(lo + hi, 0.6 + 1.2) << "the case must move the bounds";
  const torch::Tensor g = grad_of(in, out);
  int dual = 0;
  for (const Tok& k : toks) {
    const Ppo p = ppo_ref(k.r(), k.a, lo, hi, 3.0);
    dual += p.side == 2;
    EXPECT_NEAR(val(out.token_loss, k.i, k.t), p.loss, 1e-5 * (1 + std::abs(p.loss)));
    EXPECT_NEAR(val(g, k.i, k.t), p.grad, 1e-5 * (1 + std::abs(p.grad)));
  }
  EXPECT_GT(dual, 0);
  EXPECT_THROW(build_component(objective_registry(), "bapo",
                               core::Recipe::parse("[o]\nc_low_start = 0.95\n", "r.toml"), "o")->compute(in),
               core::UserError);
}

// ---- hapo ---------------------------------------------------------------------------------------

struct NormRef {
  double q, rms, pmax, nmax;
  double hat(double H) const {
    const double h = (std::log(std::max(H, 1e-8)) - q) / rms;
    return std::clamp(h > 0 ? h / pmax : h / nmax, -1.0, 1.0);
  }
};
NormRef norm_ref(const std::vector<Tok>& toks, double p) {
  std::vector<double> x;
  for (const Tok& k : toks) x.push_back(std::log(std::max(k.h, 1e-8)));
  NormRef n{quantile_ref(x, p), 0, 1, 1};
  double ss = 0, dmax = -1e300, dmin = 1e300;
  for (double v : x) {
    ss += (v - n.q) * (v - n.q);
    dmax = std::max(dmax, v - n.q);
    dmin = std::min(dmin, v - n.q);
  }
  n.rms = std::sqrt(ss / static_cast<double>(x.size()));
  if (dmax > 0) n.pmax = dmax / n.rms;
  if (dmin < 0) n.nmax = -dmin / n.rms;
  return n;
}

PolicyLossInput hapo_input(uint64_t seed, bool with_zero_entropy) {
  PolicyLossInput in = random_input(seed, 1.0);
  in.entropy = torch::rand({kB, kL}).pow(3) * 3 + 1e-3;
  if (with_zero_entropy) in.entropy.index_put_({0, 3}, 0.0);  // meets the floor
  return in;
}

TEST(Hapo, NormalisedEntropyMatchesDefinition) {
  const PolicyLossInput in = hapo_input(44, true);
  const auto toks = tokens_of(in);
  const NormRef ref = norm_ref(toks, 0.8);
  const EntropyNormStats s = fit_entropy_norm(in.entropy, in.mask, 0.8);
  EXPECT_NEAR(s.q, ref.q, 1e-9);
  EXPECT_NEAR(s.rms, ref.rms, 1e-9);
  EXPECT_NEAR(s.pos_max, ref.pmax, 1e-9);
  EXPECT_NEAR(s.neg_max, ref.nmax, 1e-9);
  const torch::Tensor h = normalized_entropy(in.entropy, s);
  double hmax = -2, hmin = 2;
  int above = 0;
  for (const Tok& k : toks) {
    EXPECT_NEAR(val(h, k.i, k.t), ref.hat(k.h), 1e-5);
    hmax = std::max(hmax, val(h, k.i, k.t));
    hmin = std::min(hmin, val(h, k.i, k.t));
    above += val(h, k.i, k.t) > 0;
  }
  EXPECT_NEAR(hmax, 1.0, 1e-6);
  EXPECT_NEAR(hmin, -1.0, 1e-6);
  // About 20% of the tokens are above the 0.8-quantile.
  EXPECT_NEAR(above / static_cast<double>(toks.size()), 0.2, 0.02);
  // Adaptive temperature: T (1 + τ ĥ).
  const torch::Tensor H = torch::tensor({1e-4, 0.5, 3.5}, torch::kDouble);
  const torch::Tensor T = hapo_adaptive_temperature(H, s, 0.7, 0.05);
  for (int j = 0; j < 3; ++j) {
    EXPECT_NEAR(T[j].item<double>(), 0.7 * (1 + 0.05 * ref.hat(H[j].item<double>())), 1e-9);
  }
  EXPECT_NEAR(T[2].item<double>(), 0.7 * 1.05, 1e-9);  // beyond the batch maximum: clamped at ĥ = 1
  // All-equal entropies: ĥ = 0 everywhere.
  const EntropyNormStats flat = fit_entropy_norm(torch::full({3, 4}, 0.7), {}, 0.8);
  EXPECT_EQ(normalized_entropy(torch::full({3, 4}, 0.7), flat).abs().sum().item<double>(), 0.0);
}

TEST(Hapo, RedistributionAndAdaptiveClipMatchDefinition) {
  HapoOptions o;
  o.eps_low = 0.2;
  o.eps_high = 0.28;
  o.beta = 0.7;
  o.alpha = 0.9;
  o.clip_c = 3.0;
  int ent_used = 0, wide_low = 0, wide_high = 0, clipped = 0;
  for (uint64_t seed = 45; seed < 50; ++seed) {
  PolicyLossInput in = hapo_input(seed, false);
  const auto toks = tokens_of(in);
  const NormRef ref = norm_ref(toks, 0.8);
  const ObjectiveOutput out = hapo_loss(in, o, hapo_stats(in, o));
  const torch::Tensor g = grad_of(in, out);
  for (const Tok& k : toks) {
    const double h = ref.hat(k.h), r = k.r();
    const bool band = r > 1 - 0.1 && r < 1 + 0.14;
    const bool use_ent = h > 0 ? !band : band;
    const double a = use_ent ? k.a * (1 + 0.7 * h) : k.a;
    const double el = h <= 0 ? 0.2 * (1 - 0.9 * h) : 0.2;
    const double eh = h > 0 ? 0.28 * (1 + 0.9 * h) : 0.28;
    const Ppo p = ppo_ref(r, a, 1 - el, 1 + eh, 3.0);
    ent_used += use_ent && h != 0;
    wide_low += p.side == 0 && k.a < 0 && r < 0.8;   // a fixed ε_low would have clipped it
    wide_high += p.side == 0 && k.a > 0 && r > 1.28;  // a fixed ε_high would have clipped it
    clipped += p.side != 0;
    EXPECT_NEAR(val(out.token_loss, k.i, k.t), p.loss, 1e-5 * (1 + std::abs(p.loss)));
    EXPECT_NEAR(val(g, k.i, k.t), p.grad, 1e-5 * (1 + std::abs(p.grad)));
  }
  }
  EXPECT_GT(ent_used, 0);
  EXPECT_GT(wide_low, 0);
  EXPECT_GT(wide_high, 0);
  EXPECT_GT(clipped, 0);
}

// ---- clip_cov / kl_cov --------------------------------------------------------------------------

std::vector<double> cov_ref(const std::vector<Tok>& toks) {
  double ma = 0, ml = 0;
  for (const Tok& k : toks) {
    ma += k.a;
    ml += k.lp;
  }
  ma /= static_cast<double>(toks.size());
  ml /= static_cast<double>(toks.size());
  std::vector<double> c;
  for (const Tok& k : toks) c.push_back((k.a - ma) * (k.lp - ml));
  return c;
}

TEST(ClipCov, ZeroesARandomSubsetOfTheCovarianceWindowAndClipsTheRest) {
  const PolicyLossInput in = random_input(46);
  const auto toks = tokens_of(in);
  const auto cov = cov_ref(toks);
  ClipCovOptions o;
  o.ratio = 0.05;
  o.lb = 0.2;
  o.ub = 2.0;
  std::set<std::pair<int64_t, int64_t>> candidates;
  for (size_t j = 0; j < toks.size(); ++j) {
    const Ppo p = ppo_ref(toks[j].r(), toks[j].a, 0.8, 1.2, 0);
    if (p.side == 0 && cov[j] > 0.2 && cov[j] < 2.0) candidates.insert({toks[j].i, toks[j].t});
  }
  const size_t k = std::max<size_t>(1, static_cast<size_t>(std::floor(0.05 * static_cast<double>(toks.size()))));
  ASSERT_GT(candidates.size(), k) << "the case needs more candidates than selections";
  ClipCovObjective obj(o);
  obj.prepare(in);
  const ObjectiveOutput out = obj.compute(in);
  const torch::Tensor g = grad_of(in, out);
  size_t zeroed = 0;
  for (const Tok& t : toks) {
    const Ppo p = ppo_ref(t.r(), t.a, 0.8, 1.2, 0);
    const bool is_zero = val(out.token_loss, t.i, t.t) == 0.0 && val(g, t.i, t.t) == 0.0;
    if (is_zero && p.side == 0) {
      ++zeroed;
      EXPECT_TRUE(candidates.count({t.i, t.t})) << "selected a token outside the window";
    } else {
      EXPECT_NEAR(val(out.token_loss, t.i, t.t), p.loss, 1e-5);
      EXPECT_NEAR(val(g, t.i, t.t), p.grad, 1e-5);
    }
  }
  EXPECT_EQ(zeroed, k);
  EXPECT_NEAR(scalar(out.metrics.at("cov_frac")), static_cast<double>(k) / static_cast<double>(toks.size()), 1e-6);
  // The same seed selects the same tokens; another seed (almost surely) others.
  const auto selection = [&](int64_t seed) {
    ClipCovOptions s = o;
    s.seed = seed;
    ClipCovObjective c(s);
    return c.compute(in).token_loss == 0;
  };
  EXPECT_TRUE(torch::equal(selection(3), selection(3)));
  EXPECT_FALSE(torch::equal(selection(3), selection(4)));
}

TEST(KlCov, HandComputedSelection) {
  // A = (2, 0, 0, −2), log π = (−1, −2, −2, −3): means 0 and −2, Cov = (2, 0, 0, 2)·... = (2, 0, 0, 2);
  // k = max(1, ⌊0.5·4⌋) = 2 tokens, the first and the last, get + β|log r| with log r = 0.1.
  PolicyLossInput in;
  in.logp_old = torch::tensor({{-1.1f, -2.1f, -2.1f, -3.1f}});
  in.logp = torch::tensor({{-1.0f, -2.0f, -2.0f, -3.0f}}).requires_grad_(true);
  in.advantages = torch::tensor({{2.0f, 0.0f, 0.0f, -2.0f}});
  KlCovOptions o;
  o.k_ratio = 0.5;
  o.beta = 1.0;
  const ObjectiveOutput out = kl_cov_loss(in, o, kl_cov_stats(in, o));
  const double r = std::exp(0.1);
  const double want[] = {-2 * r + 0.1, 0.0, 0.0, 2 * r + 0.1};
  for (int t = 0; t < 4; ++t) EXPECT_NEAR(val(out.token_loss, 0, t), want[t], 1e-5) << t;
  EXPECT_NEAR(scalar(out.metrics.at("cov_frac")), 0.5, 1e-7);
}

TEST(KlCov, TopCovarianceTokensGetTheAbsLogRatioPenalty) {
  const PolicyLossInput in = random_input(47);
  const auto toks = tokens_of(in);
  const auto cov = cov_ref(toks);
  KlCovOptions o;
  o.k_ratio = 0.03;
  o.beta = 0.5;
  std::vector<double> sorted = cov;
  std::sort(sorted.rbegin(), sorted.rend());
  const size_t k = std::max<size_t>(1, static_cast<size_t>(std::floor(0.03 * static_cast<double>(toks.size()))));
  const double threshold = sorted[k - 1];
  auto obj = build_component(objective_registry(), "kl_cov",
                             core::Recipe::parse("[o]\nk_ratio = 0.03\nbeta = 0.5\n", "r.toml"), "o");
  obj->prepare(in);
  const ObjectiveOutput out = obj->compute(in);
  const torch::Tensor g = grad_of(in, out);
  size_t penalised = 0;
  for (size_t j = 0; j < toks.size(); ++j) {
    const Tok& t = toks[j];
    const double r = t.r(), lr = t.lp - t.lpo;
    const bool sel = cov[j] >= threshold;
    penalised += sel;
    const double loss = -r * t.a + (sel ? 0.5 * std::abs(lr) : 0.0);
    const double grad = -r * t.a + (sel ? 0.5 * (lr > 0 ? 1.0 : -1.0) : 0.0);
    EXPECT_NEAR(val(out.token_loss, t.i, t.t), loss, 1e-5);
    EXPECT_NEAR(val(g, t.i, t.t), grad, 1e-5);
  }
  EXPECT_EQ(penalised, k);
  EXPECT_EQ(scalar(out.metrics.at("clipfrac")), 0.0);
}

// ---- lp_reg -------------------------------------------------------------------------------------

TEST(LpReg, MinPProxyMatchesDefinition) {
  torch::manual_seed(48);
  const torch::Tensor logits = torch::randn({2, 3, 7}) * 2;
  const torch::Tensor tokens = torch::randint(0, 7, {2, 3});
  const torch::Tensor got = min_p_proxy_logp(logits, tokens, 0.1, /*chunk_rows=*/1);
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t l = 0; l < 3; ++l) {
      std::vector<double> p(7);
      double z = 0, pmax = 0;
      for (int v = 0; v < 7; ++v) {
        p[v] = std::exp(logits.index({b, l, v}).item<double>());
        z += p[v];
      }
      for (double& x : p) pmax = std::max(pmax, x /= z);
      double kept = 0;
      for (double x : p) kept += x >= 0.1 * pmax ? x : 0.0;
      const double pt = p[tokens.index({b, l}).item<int64_t>()];
      const double want = pt >= 0.1 * pmax ? std::log(pt / kept) : -INFINITY;
      const double have = got.index({b, l}).item<double>();
      if (std::isinf(want)) {
        EXPECT_TRUE(std::isinf(have) && have < 0);
      } else {
        EXPECT_NEAR(have, want, 1e-5);
      }
    }
  }
}

TEST(LpReg, LowProbabilityNegativeTokensAreRegularisedTowardTheProxy) {
  PolicyLossInput in = random_input(49);
  const torch::Tensor up = in.logp.detach() + torch::rand({kB, kL}) * 0.8 - 0.2;
  in.logp_proxy = torch::where(torch::rand({kB, kL}) < 0.1, torch::full_like(up, -INFINITY), up);
  const auto toks = tokens_of(in);
  std::vector<double> neg;
  for (const Tok& t : toks) {
    if (t.a < 0) neg.push_back(t.lp);
  }
  LpRegOptions o;
  o.rho = 0.2;  // a larger set than the 1% default, so the small test batch has several
  o.beta = 0.8;
  const double log_delta = quantile_ref(neg, 0.2);
  const ObjectiveOutput out = lp_reg_loss(in, o, lp_reg_stats(in, o));
  const torch::Tensor g = grad_of(in, out);
  int reg = 0;
  for (const Tok& t : toks) {
    const double r = t.r();
    const bool in_set = t.a < 0 && t.lp <= log_delta && std::isfinite(t.proxy) && t.lp < t.proxy;
    double loss, grad;
    if (in_set) {
      const double d = t.lp - t.proxy;
      loss = -r * t.a + 0.8 * (std::exp(-d) + d - 1);
      grad = -r * t.a + 0.8 * (1 - std::exp(-d));
      ++reg;
    } else {
      const Ppo p = ppo_ref(r, t.a, 0.0, 10.0, 10.0);
      loss = p.loss;
      grad = p.grad;
    }
    EXPECT_NEAR(val(out.token_loss, t.i, t.t), loss, 1e-5) << t.i << " " << t.t;
    EXPECT_NEAR(val(g, t.i, t.t), grad, 1e-5) << t.i << " " << t.t;
  }
  EXPECT_GT(reg, 2);
  EXPECT_NEAR(scalar(out.metrics.at("lp_reg_frac")), reg / static_cast<double>(toks.size()), 1e-6);
  in.logp_proxy = torch::Tensor();
  EXPECT_THROW(lp_reg_loss(in, o, LpRegStats{}), core::UserError);
}

}  // namespace
}  // namespace rlpp::algo
