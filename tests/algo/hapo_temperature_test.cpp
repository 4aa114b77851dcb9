// HAPO's sampler statistics: fit_entropy_norm(entropy, mask, HapoOptions) fits at the objective's
// configured quantile p (not a fixed 0.8), checked against the p-quantile and rms of log H
// re-derived here in double with a sort and linear interpolation.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "rlpp/algo/objectives/hapo.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

double quantile_ref(std::vector<double> x, double p) {
  std::sort(x.begin(), x.end());
  const double pos = p * static_cast<double>(x.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, x.size() - 1);
  return x[lo] + (pos - static_cast<double>(lo)) * (x[hi] - x[lo]);
}

TEST(HapoTemperature, StatisticsUseTheConfiguredQuantile) {
  // 6 × 7 entropies, one masked position per row holding junk; one valid entropy at the floor.
  torch::Tensor H = torch::rand({6, 7}, at::detail::createCPUGenerator(17), torch::kDouble).pow(3) * 3 + 1e-3;
  torch::Tensor mask = torch::ones({6, 7}, torch::kDouble);
  for (int64_t i = 0; i < 6; ++i) {
    mask.index_put_({i, i}, 0.0);
    H.index_put_({i, i}, 1e6);
  }
  H.index_put_({0, 3}, 0.0);
  std::vector<double> x;  // log max(H, 1e-8) over the valid entries
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t t = 0; t < 7; ++t)
      if (mask[i][t].item<double>() > 0.5) x.push_back(std::log(std::max(H[i][t].item<double>(), 1e-8)));
  HapoOptions o;
  o.quantile = 0.5;
  const EntropyNormStats s = fit_entropy_norm(H, mask, o);
  const double q = quantile_ref(x, 0.5);
  double ss = 0;
  for (double v : x) ss += (v - q) * (v - q);
  EXPECT_NEAR(s.q, q, 1e-12);
  EXPECT_NEAR(s.rms, std::sqrt(ss / static_cast<double>(x.size())), 1e-12);
  EXPECT_GT(std::abs(s.q - quantile_ref(x, 0.8)), 1e-3);  // a fixed 0.8 splits elsewhere
  // Half the valid tokens (those above the median of log H) now sample hotter than T.
  const torch::Tensor T = hapo_adaptive_temperature(H, s, 1.0, 0.05);
  int hotter = 0;
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t t = 0; t < 7; ++t)
      if (mask[i][t].item<double>() > 0.5) hotter += T[i][t].item<double>() > 1.0;
  EXPECT_EQ(hotter, 18);  // 36 valid entries, none tied with the median
  // The floor is the objective's too.
  o.h_floor = 1e-2;
  EXPECT_NE(fit_entropy_norm(H, mask, o).rms, s.rms);
  o.quantile = 0.0;
  EXPECT_THROW(fit_entropy_norm(H, mask, o), core::UserError);
}

// The trainer asks the objective for these statistics (PolicyObjective::entropy_norm_stats): the
// registered hapo objective fits them with its own quantile; an objective without them says so.
TEST(HapoTemperature, TheObjectiveDeclaresItsStatistics) {
  const torch::Tensor H = torch::rand({4, 5}, at::detail::createCPUGenerator(3), torch::kDouble) * 2 + 1e-3;
  const torch::Tensor mask = torch::ones({4, 5}, torch::kDouble);
  const auto hapo = build_component(objective_registry(), "hapo",
                                    core::Recipe::parse("[o]\nname = \"hapo\"\nquantile = 0.3\n", "r.toml"), "o", {"name"});
  const std::optional<EntropyNormStats> s = hapo->entropy_norm_stats(H, mask);
  ASSERT_TRUE(s.has_value());
  HapoOptions o;
  o.quantile = 0.3;
  const EntropyNormStats want = fit_entropy_norm(H, mask, o);
  EXPECT_EQ(s->q, want.q);
  EXPECT_EQ(s->rms, want.rms);
  EXPECT_NE(s->q, fit_entropy_norm(H, mask, HapoOptions{}).q);  // not the default 0.8
  EXPECT_FALSE(build_default(objective_registry(), "ppo_clip")->entropy_norm_stats(H, mask).has_value());
}

}  // namespace
}  // namespace rlpp::algo
