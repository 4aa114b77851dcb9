// reinforce_pp and reinforce_pp_baseline against the explicit discounted returns and batch whitening
// written out in double, and a hand-computed batch.
#include "rlpp/algo/advantages/reinforce_pp.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "algo/advantage_test_util.h"

namespace rlpp::algo {
namespace {

using namespace adv_test;

// REINFORCE++ reference: token rewards plus R on the last valid token, discounted return by the
// explicit sum, whitened with the population mean and std over the valid tokens.
struct ReinforceRef {
  std::vector<std::vector<double>> adv, ret;
};

ReinforceRef reinforce_ref(const Batch& b, const std::vector<std::vector<double>>& tok,
                           const std::vector<double>& seq, double gamma, double eps) {
  const size_t B = b.r.size();
  std::vector<std::vector<double>> r(B, std::vector<double>(b.L, 0.0)), g = r;
  for (size_t i = 0; i < B; ++i) {
    for (int64_t t = 0; t < b.len[i]; ++t) r[i][t] = tok[i][t];
    if (b.len[i] > 0) r[i][b.len[i] - 1] += seq[i];
  }
  double sum = 0, n = 0;
  for (size_t i = 0; i < B; ++i) {
    for (int64_t t = 0; t < b.len[i]; ++t) {
      for (int64_t k = t; k < b.L; ++k) g[i][t] += std::pow(gamma, k - t) * r[i][k];
      sum += g[i][t];
      n += 1;
    }
  }
  const double mean = sum / n;
  double ss = 0;
  for (size_t i = 0; i < B; ++i)
    for (int64_t t = 0; t < b.len[i]; ++t) ss += (g[i][t] - mean) * (g[i][t] - mean);
  const double sd = std::sqrt(ss / n);
  ReinforceRef out{std::vector<std::vector<double>>(B, std::vector<double>(b.L, 0.0)), g};
  for (size_t i = 0; i < B; ++i) {
    for (int64_t t = 0; t < b.L; ++t) {
      if (t < b.len[i]) {
        out.adv[i][t] = (g[i][t] - mean) / (sd + eps);
      } else {
        out.ret[i][t] = 0;
      }
    }
  }
  return out;
}

void expect_grid(const torch::Tensor& x, const std::vector<std::vector<double>>& ref, const std::string& what) {
  ASSERT_EQ(x.size(0), static_cast<int64_t>(ref.size())) << what;
  const auto acc = x.accessor<float, 2>();
  double max_diff = 0;
  for (size_t i = 0; i < ref.size(); ++i)
    for (size_t t = 0; t < ref[i].size(); ++t)
      max_diff = std::max(max_diff, std::abs(acc[i][t] - ref[i][t]) / (1 + std::abs(ref[i][t])));
  EXPECT_LT(max_diff, 1e-5) << what;
}

TEST(ReinforcePp, MatchesExplicitReturnsAndBatchWhitening) {
  Batch b = random_batch(31);
  b.len[3] = 0;  // an empty response gets no reward and no advantage
  std::mt19937_64 gen(5);
  std::uniform_real_distribution<double> u(-0.1, 0.1);
  std::vector<std::vector<double>> tok(b.r.size(), std::vector<double>(b.L));
  for (auto& row : tok)
    for (auto& x : row) x = static_cast<float>(u(gen));
  AdvantageInput in = b.input();
  in.token_rewards = torch::zeros({static_cast<int64_t>(b.r.size()), b.L});
  for (size_t i = 0; i < tok.size(); ++i)
    for (int64_t t = 0; t < b.L; ++t) in.token_rewards.index_put_({static_cast<int64_t>(i), t}, tok[i][t]);
  in.token_rewards.masked_fill_(in.mask < 0.5, 1e3);  // padding values must not leak in

  for (double gamma : {1.0, 0.9}) {
    const ReinforcePpOptions opts{gamma, 1e-8};
    const auto want = reinforce_ref(b, tok, b.r, gamma, 1e-8);
    const AdvantageOutput out = reinforce_pp(in, opts);
    expect_grid(out.advantages, want.adv, "reinforce_pp advantages");
    expect_grid(out.returns, want.ret, "reinforce_pp returns");

    std::vector<double> centred;
    for (size_t i = 0; i < b.r.size(); ++i) centred.push_back(dr_grpo_ref(b, i));
    const auto want_b = reinforce_ref(b, tok, centred, gamma, 1e-8);
    const AdvantageOutput out_b = reinforce_pp_baseline(in, opts);
    expect_grid(out_b.advantages, want_b.adv, "reinforce_pp_baseline advantages");
    expect_grid(out_b.returns, want_b.ret, "reinforce_pp_baseline returns");
  }
}

TEST(ReinforcePp, HandComputed) {
  // γ = 1, no token rewards: returns are R on every valid token; over the 3 + 1 valid tokens
  // G = {1, 1, 1, 0}: mean 0.75, population std sqrt(3)/4.
  const Batch b{{1, 0}, {0, 0}, {3, 1}, 3};
  const AdvantageOutput out = run("reinforce_pp", b.input());
  const double s = std::sqrt(3.0) / 4;
  expect_grid(out.advantages, {{0.25 / s, 0.25 / s, 0.25 / s}, {-0.75 / s, 0, 0}}, "reinforce_pp");
  expect_grid(out.returns, {{1, 1, 1}, {0, 0, 0}}, "reinforce_pp returns");
  // Each response alone in its group: R − mean = 0 everywhere, so 0 and no NaN.
  const Batch single{{1, 0}, {0, 1}, {3, 1}, 3};
  const AdvantageOutput zero = run("reinforce_pp_baseline", single.input());
  EXPECT_TRUE(torch::isfinite(zero.advantages).all().item<bool>());
  EXPECT_EQ(zero.advantages.abs().max().item<double>(), 0.0);
}

}  // namespace
}  // namespace rlpp::algo
