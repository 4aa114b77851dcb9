// collect_dataset on Pendulum-v1 (time limit 200, never terminal): timeouts at every 200th row,
// and the stored next observation at a timeout is the true last one — checked against Gymnasium's
// Pendulum dynamics re-derived here in double — not the reset's first observation.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>

#include "rlpp/core/error.h"
#include "rlpp/train/offline/collect.h"

namespace rlpp::train::offline {
namespace {

// Gymnasium's Pendulum step from observation (cos θ, sin θ, θ̇) and torque u (g = 10, m = l = 1, dt = 0.05).
void pendulum_next(const float* o, double u, double* next) {
  const double th = std::atan2(static_cast<double>(o[1]), static_cast<double>(o[0]));
  double thdot = o[2] + (3.0 * 10.0 / 2.0 * std::sin(th) + 3.0 * u) * 0.05;
  thdot = std::clamp(thdot, -8.0, 8.0);
  const double nth = th + thdot * 0.05;
  next[0] = std::cos(nth);
  next[1] = std::sin(nth);
  next[2] = thdot;
}

TEST(CollectDataset, PendulumTimeoutsKeepTheTrueFinalObservation) {
  CollectRequest req;
  req.env = "Pendulum-v1";
  req.policy = "random";
  req.steps = 450;
  req.seed = 7;
  req.quiet = true;
  std::atomic<bool> stop{false};
  const D4rlDataset d = collect_dataset(req, stop);
  ASSERT_EQ(d.size(), 450);
  ASSERT_EQ(d.obs_dim, 3);
  ASSERT_EQ(d.act_dim, 1);
  for (int64_t i = 0; i < d.size(); ++i) {
    const size_t k = static_cast<size_t>(i);
    EXPECT_EQ(d.terminals[k], 0);
    EXPECT_EQ(d.timeouts[k], (i + 1) % 200 == 0 ? 1 : 0) << "row " << i;
    EXPECT_GE(d.actions[k], -2.0f);
    EXPECT_LE(d.actions[k], 2.0f);
    double next[3];
    pendulum_next(&d.observations[k * 3], d.actions[k], next);
    for (int j = 0; j < 3; ++j) EXPECT_NEAR(d.next_observations[k * 3 + j], next[j], 2e-5) << "row " << i;
  }
  // After the timeout at row 199 the environment was reset: row 200 does not continue row 199.
  double gap = 0;
  for (int j = 0; j < 3; ++j) gap += std::abs(d.next_observations[199 * 3 + j] - d.observations[200 * 3 + j]);
  EXPECT_GT(gap, 1e-3);
  EXPECT_EQ(d.timeouts[449], 0);  // the dataset ends mid-episode, unflagged
}

TEST(CollectDataset, RefusesBadRequests) {
  std::atomic<bool> stop{false};
  CollectRequest req;
  req.policy = "random";
  req.steps = 10;
  EXPECT_THROW(collect_dataset(req, stop), core::UserError);  // no --env
  req.env = "CartPole-v1";
  req.noise = 1.5;  // ε > 1 on a discrete task
  EXPECT_THROW(collect_dataset(req, stop), core::UserError);
  req.noise = 0;
  req.deterministic = true;
  EXPECT_THROW(collect_dataset(req, stop), core::UserError);
  req.deterministic = false;
  req.policy = "/no/such/run";
  EXPECT_THROW(collect_dataset(req, stop), core::UserError);
}

}  // namespace
}  // namespace rlpp::train::offline
