#include "rlpp/train/running_mean_std.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using rlpp::train::ObsNormalizer;
using rlpp::train::RewardScaler;
using rlpp::train::RunningMeanStd;

// Merging batches one by one gives the two-pass mean and population variance of all the data
// (the epsilon pseudo-count at mean 0 / var 1 included, as Gymnasium's RunningMeanStd has it).
TEST(RunningMeanStd, MatchesTwoPassStatistics) {
  std::mt19937 gen(3);
  std::normal_distribution<float> dist(2.0f, 3.0f);
  const int dim = 3;
  RunningMeanStd rms(dim, /*epsilon=*/0.0);
  std::vector<float> all;
  for (int batch = 0; batch < 7; ++batch) {
    const int n = 1 + batch * 3;
    std::vector<float> x(n * dim);
    for (auto& v : x) v = dist(gen);
    rms.update(x.data(), n);
    all.insert(all.end(), x.begin(), x.end());
  }
  const int total = static_cast<int>(all.size()) / dim;
  for (int j = 0; j < dim; ++j) {
    double mean = 0, var = 0;
    for (int i = 0; i < total; ++i) mean += all[i * dim + j];
    mean /= total;
    for (int i = 0; i < total; ++i) var += (all[i * dim + j] - mean) * (all[i * dim + j] - mean);
    var /= total;
    EXPECT_NEAR(rms.mean()[j], mean, 1e-9);
    EXPECT_NEAR(rms.var()[j], var, 1e-9);
  }
  EXPECT_DOUBLE_EQ(rms.count(), total);
}

TEST(RunningMeanStd, EpsilonCountStartsAtUnitVariance) {
  RunningMeanStd rms(1, 1e-4);
  const float x[2] = {1.0f, 3.0f};
  rms.update(x, 2);
  // Combined: mean = (0*1e-4 + 2*2)/(2+1e-4); M2 = 1*1e-4 + 1*2 + 2^2*1e-4*2/(2+1e-4).
  const double n = 2 + 1e-4;
  EXPECT_NEAR(rms.mean()[0], 4.0 / n, 1e-12);
  EXPECT_NEAR(rms.var()[0], (1e-4 + 2.0 + 4.0 * 1e-4 * 2.0 / n) / n, 1e-12);
}

TEST(ObsNormalizer, NormalisesAndClips) {
  ObsNormalizer norm(1, /*clip=*/1.5);
  norm.stats().set({1.0}, {4.0}, 10.0);
  const float x[3] = {1.0f, 3.0f, 100.0f};
  float y[3];
  norm.normalize(x, 3, /*update=*/false, y);
  EXPECT_NEAR(y[0], 0.0, 1e-6);
  EXPECT_NEAR(y[1], 2.0 / std::sqrt(4.0 + 1e-8), 1e-6);  // (3 - 1)/2 = 1, inside the clip
  EXPECT_FLOAT_EQ(y[2], 1.5f);
}

// r' = r / sqrt(var(G) + 1e-8) with G the running discounted return, reset after done.
TEST(RewardScaler, DividesByTheStdOfTheDiscountedReturn) {
  const double gamma = 0.5;
  RewardScaler scaler(1, gamma, 100.0);
  RunningMeanStd reference(1);
  double g = 0;
  const float rewards[4] = {1.0f, 2.0f, -1.0f, 4.0f};
  const uint8_t dones[4] = {0, 1, 0, 0};
  for (int t = 0; t < 4; ++t) {
    g = g * gamma + rewards[t];
    reference.update(&g, 1);
    float r = rewards[t];
    scaler.scale(&r, &dones[t]);
    EXPECT_NEAR(r, rewards[t] / std::sqrt(reference.var()[0] + 1e-8), 1e-5) << t;
    if (dones[t]) g = 0;
  }
}
