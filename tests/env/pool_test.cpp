// Pool<E>: truncation, auto-reset, episode bookkeeping, seeding, determinism across thread
// counts, save/load, action validation and clipping.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "env_test_util.h"
#include "rlpp/core/error.h"
#include "rlpp/env/classic/acrobot.h"
#include "rlpp/env/classic/cartpole.h"
#include "rlpp/env/classic/mountain_car.h"
#include "rlpp/env/classic/mountain_car_continuous.h"
#include "rlpp/env/classic/pendulum.h"
#include "rlpp/env/registry.h"

namespace rlpp::env {
namespace {

using testing::Buffers;
using testing::load_from_string;
using testing::run;
using testing::save_to_string;
using testing::snapshot;

// Expects `fn` to throw a UserError whose message contains `needle`.
template <class F>
void expect_user_error(F&& fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no UserError (expected one mentioning '" << needle << "')";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Pool, TruncatesExactlyAtMaxEpisodeSteps) {
  Pool<Pendulum> pool({2, 1});  // Pendulum never terminates
  pool.reset(3);
  core::Rng rng(1);
  double ret[2] = {0, 0};
  for (int t = 1; t <= 200; ++t) {
    const std::vector<float> actions = testing::random_actions(pool, rng);
    // The last observation of the episode, predicted by stepping a copy of copy 0's state.
    Pendulum twin = pool.env(0);
    float twin_obs[3];
    bool twin_term = true;
    core::Rng unused(0);
    const float clipped = std::clamp(actions[0], -2.0f, 2.0f);
    twin.step(&clipped, unused, twin_obs, &twin_term);

    pool.step(actions.data());
    for (int i = 0; i < 2; ++i) ret[i] += pool.reward()[i];
    EXPECT_EQ(pool.terminated()[0], 0);
    EXPECT_EQ(pool.terminated()[1], 0);
    if (t < 200) {
      ASSERT_EQ(pool.truncated()[0], 0) << "t = " << t;
      ASSERT_EQ(pool.episode_steps(0), t);
      continue;
    }
    for (int i = 0; i < 2; ++i) {
      EXPECT_EQ(pool.truncated()[i], 1);
      EXPECT_EQ(pool.episode_length()[i], 200);
      EXPECT_NEAR(pool.episode_return()[i], ret[i], 1e-6 * std::abs(ret[i]));
      EXPECT_EQ(pool.episode_steps(i), 0);
      EXPECT_EQ(pool.running_return(i), 0.0);
      // The next episode's first observation: θ̇ in [-1, 1].
      EXPECT_GE(pool.obs()[3 * i + 2], -1.0f);
      EXPECT_LE(pool.obs()[3 * i + 2], 1.0f);
    }
    for (int d = 0; d < 3; ++d) EXPECT_EQ(pool.final_obs()[d], twin_obs[d]);
    EXPECT_NE(pool.obs()[2], pool.final_obs()[2]);
  }
  // The new episode counts from 1 again.
  const std::vector<float> actions = testing::random_actions(pool, rng);
  pool.step(actions.data());
  EXPECT_EQ(pool.truncated()[0], 0);
  EXPECT_EQ(pool.episode_steps(0), 1);
}

TEST(Pool, TerminationAutoResetsWithFinalObsAndBookkeeping) {
  Pool<CartPole> pool({3, 1});
  pool.reset(0);
  const float push_right[3] = {1, 1, 1};
  for (int t = 0; t < 4; ++t) pool.step(push_right);
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(pool.terminated()[i]);
  // Copy 1 leaves the track on the next step: x = 2.39 + 0.02·1 = 2.41.
  CartPole& e = pool.env(1);
  e.x = 2.39;
  e.x_dot = 1.0;
  e.theta = 0.0;
  e.theta_dot = 0.0;
  pool.step(push_right);
  EXPECT_EQ(pool.terminated()[0], 0);
  EXPECT_EQ(pool.terminated()[1], 1);
  EXPECT_EQ(pool.truncated()[1], 0);
  EXPECT_EQ(pool.reward()[1], 1.0f);
  EXPECT_FLOAT_EQ(pool.final_obs()[4 + 0], 2.41f);
  EXPECT_EQ(pool.episode_length()[1], 5);
  EXPECT_EQ(pool.episode_return()[1], 5.0);
  for (int d = 0; d < 4; ++d) {  // the new episode's first observation
    EXPECT_GE(pool.obs()[4 + d], -0.05f);
    EXPECT_LE(pool.obs()[4 + d], 0.05f);
  }
  EXPECT_EQ(pool.episode_steps(1), 0);
  EXPECT_EQ(pool.episode_steps(0), 5);
  EXPECT_EQ(pool.running_return(0), 5.0);
}

TEST(Pool, TerminatingOnTheLastStepSetsBothFlags) {
  Pool<CartPole> pool({1, 1});
  pool.reset(0);
  const float a = 0;
  for (int t = 0; t < 499; ++t) {
    CartPole& e = pool.env(0);  // hold it upright
    e.x = e.x_dot = e.theta = e.theta_dot = 0.0;
    pool.step(&a);
    ASSERT_FALSE(pool.terminated()[0] || pool.truncated()[0]) << t;
  }
  pool.env(0).theta = 1.0;
  pool.step(&a);
  EXPECT_EQ(pool.terminated()[0], 1);
  EXPECT_EQ(pool.truncated()[0], 1);  // Gymnasium's TimeLimit sets truncated at the horizon
  EXPECT_EQ(pool.episode_length()[0], 500);
  EXPECT_EQ(pool.episode_return()[0], 500.0);
}

TEST(Pool, CopyIIsSeededWithSeedPlusI) {
  Pool<Acrobot> a({4, 1});
  Pool<Acrobot> b({4, 1});
  a.reset(10);
  b.reset(12);
  for (int d = 0; d < 6; ++d) EXPECT_EQ(a.obs()[2 * 6 + d], b.obs()[0 * 6 + d]);
  EXPECT_NE(a.obs()[0], a.obs()[6]);
}

template <class E>
void expect_deterministic() {
  Pool<E> a({13, 1}), b({13, 1}), c({13, 1});
  a.reset(42);
  b.reset(42);
  c.reset(43);
  core::Rng ra(5), rb(5), rc(5);
  const auto sa = run(a, ra, 300);
  const auto sb = run(b, rb, 300);
  const auto sc = run(c, rc, 300);
  for (size_t t = 0; t < sa.size(); ++t) ASSERT_TRUE(sa[t] == sb[t]) << "step " << t;
  EXPECT_FALSE(sa.back() == sc.back());
  for (int threads : {2, 3, 7, 32}) {
    Pool<E> p({13, threads});
    p.reset(42);
    core::Rng r(5);
    const auto s = run(p, r, 300);
    for (size_t t = 0; t < s.size(); ++t) ASSERT_TRUE(s[t] == sa[t]) << threads << " threads, step " << t;
  }
}

TEST(Pool, SameSeedSameBuffersForAnyThreadCount) {
  expect_deterministic<CartPole>();
  expect_deterministic<Acrobot>();
  expect_deterministic<MountainCar>();
  expect_deterministic<MountainCarContinuous>();
  expect_deterministic<Pendulum>();
}

template <class E>
void expect_save_load_resumes() {
  Pool<E> a({9, 1});
  a.reset(77);
  core::Rng ra(8);
  run(a, ra, 137);  // mid-episode for most copies
  const std::string bytes = save_to_string(a);
  const core::Rng::Snapshot action_rng = ra.snapshot();
  const auto expected = run(a, ra, 250);

  for (int threads : {1, 4}) {
    Pool<E> b({9, threads});  // never reset: load() supplies everything
    load_from_string(b, bytes);
    core::Rng rb;
    rb.restore(action_rng);
    const auto got = run(b, rb, 250);
    for (size_t t = 0; t < got.size(); ++t) ASSERT_TRUE(got[t] == expected[t]) << "step " << t;
    EXPECT_EQ(save_to_string(b), save_to_string(a));
  }
}

TEST(Pool, SaveLoadMidEpisodeResumesBitIdentically) {
  expect_save_load_resumes<CartPole>();
  expect_save_load_resumes<Acrobot>();
  expect_save_load_resumes<MountainCar>();
  expect_save_load_resumes<MountainCarContinuous>();
  expect_save_load_resumes<Pendulum>();
}

TEST(Pool, LoadRejectsMalformedOrMismatchedState) {
  Pool<CartPole> a({4, 1});
  a.reset(1);
  core::Rng r(2);
  run(a, r, 30);
  const std::string good = save_to_string(a);
  const std::string before = save_to_string(a);

  auto corrupt = [&](size_t offset, char value) {
    std::string s = good;
    s[offset] = value;
    return s;
  };
  expect_user_error([&] { load_from_string(a, corrupt(0, 'X')); }, "bad magic number");
  expect_user_error([&] { load_from_string(a, corrupt(8, 9)); }, "unsupported version 9");
  expect_user_error([&] { load_from_string(a, ""); }, "truncated");
  expect_user_error([&] { load_from_string(a, good.substr(0, good.size() / 2)); }, "truncated");
  expect_user_error([&] { load_from_string(a, good.substr(0, good.size() - 1)); }, "truncated");
  expect_user_error([&] { load_from_string(a, corrupt(good.size() - 1, '!')); }, "bad end marker");
  // Header: magic 8, version 4, id length 4, "CartPole-v1" 11, num_envs 4, obs_dim 4, act_dim 4,
  // state size 4, started 1; then copy 0: state 32, generator 41, step counter 4.
  const size_t steps_at = 8 + 4 + 4 + 11 + 4 + 4 + 4 + 4 + 1 + 32 + 41;
  expect_user_error([&] { load_from_string(a, corrupt(steps_at + 3, 0x7f)); }, "step counter");
  const size_t started_at = 8 + 4 + 4 + 11 + 16;
  expect_user_error([&] { load_from_string(a, corrupt(started_at, 5)); }, "started flag");

  Pool<CartPole> wider({5, 1});
  expect_user_error([&] { load_from_string(wider, good); }, "num_envs = 4, but this batch has num_envs = 5");
  Pool<Acrobot> other({4, 1});
  expect_user_error([&] { load_from_string(other, good); }, "saved for environment 'CartPole-v1'");

  // A failed load leaves the batch as it was.
  EXPECT_EQ(save_to_string(a), before);
}

TEST(Pool, BoxActionsAreClippedToTheBox) {
  Pool<Pendulum> a({2, 1}), b({2, 1});
  a.reset(4);
  b.reset(4);
  const float wild[2] = {50.0f, -3.5f};
  const float inside[2] = {2.0f, -2.0f};
  for (int t = 0; t < 20; ++t) {
    a.step(wild);
    b.step(inside);
    ASSERT_TRUE(snapshot(a) == snapshot(b)) << t;
  }
  Pool<MountainCarContinuous> c({1, 1}), d({1, 1});
  c.reset(4);
  d.reset(4);
  const float big = 1e30f, one = 1.0f;
  for (int t = 0; t < 20; ++t) {
    c.step(&big);
    d.step(&one);
    ASSERT_TRUE(snapshot(c) == snapshot(d)) << t;
  }
}

TEST(Pool, InvalidActionsAreRefusedBeforeAnyCopyMoves) {
  Pool<CartPole> p({3, 1});
  p.reset(0);
  const std::string before = save_to_string(p);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float too_big[3] = {0, 1, 2};
  const float fraction[3] = {0.5f, 1, 0};
  const float negative[3] = {1, -1, 0};
  const float not_a_number[3] = {1, 0, nan};
  expect_user_error([&] { p.step(too_big); }, "action 2 of copy 2 is not a valid action; expected an integer in [0, 1]");
  expect_user_error([&] { p.step(fraction); }, "copy 0");
  expect_user_error([&] { p.step(negative); }, "copy 1");
  expect_user_error([&] { p.step(not_a_number); }, "copy 2");
  EXPECT_EQ(save_to_string(p), before);

  Pool<Pendulum> q({2, 1});
  q.reset(0);
  const float box_nan[2] = {0.0f, nan};
  expect_user_error([&] { q.step(box_nan); }, "copy 1 is nan");
  const float box_inf[2] = {std::numeric_limits<float>::infinity(), 0.0f};
  expect_user_error([&] { q.step(box_inf); }, "box actions must be finite");
}

TEST(Pool, StepBeforeResetIsAnError) {
  Pool<CartPole> p({2, 1});
  const float a[2] = {0, 1};
  EXPECT_THROW(p.step(a), std::logic_error);
}

TEST(Pool, OptionsAreValidated) {
  expect_user_error([] { Pool<CartPole> p({0, 1}); }, "CartPole-v1: num_envs must be >= 1, got 0");
  expect_user_error([] { Pool<Pendulum> p({4, 0}); }, "Pendulum-v1: num_threads must be >= 1, got 0");
  expect_user_error([] { make("Acrobot-v1", {-3, 1}); }, "Acrobot-v1: num_envs must be >= 1, got -3");
  expect_user_error([] { make("Acrobot-v1", {2, -1}); }, "num_threads must be >= 1, got -1");
}

}  // namespace
}  // namespace rlpp::env
