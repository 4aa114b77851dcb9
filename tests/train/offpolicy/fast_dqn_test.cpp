// Double DQN's fast path (fast_dqn_update.h, dqn.backend = "fast") against the LibTorch reference:
// the module, dqn.h's dqn_target and dqn_loss and the torch::optim::Adam that dqn.cpp's LibTorch
// path steps with, differentiated by autograd. Same initial weights and batches (n-step discounts,
// terminated rows, importance weights); compared after every one of several steps: the gradient,
// every parameter (online, target), |δ|, the loss and the mean Q; then the greedy actions and the
// Adam state carried through a torch optimizer. Then the trainer with the fast backend: a resumed
// run is bit-identical to an uninterrupted one, its first losses match the LibTorch backend's, a
// checkpoint of either backend resumes on the other, and it learns CartPole.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/temp_dir.h"
#include "rlpp/core/error.h"
#include "rlpp/train/offpolicy/dqn.h"
#include "rlpp/train/offpolicy/fast_dqn_update.h"
#include "rlpp/train/offpolicy/networks.h"
#include "rlpp/train/run.h"
#include "train/test_runs.h"

namespace fast_dqn_test {

using namespace rlpp::train::offpolicy;
using rlpp::testing::TempDir;

constexpr int64_t kObs = 6, kActions = 4, kBatch = 80;
const std::vector<int64_t> kHidden{40, 24};
constexpr double kLr = 1e-3, kGamma = 0.99;

// max |a − b| ≤ rtol · max |b|: the largest deviation relative to the vector's scale.
void expect_close(const std::vector<float>& a, const std::vector<float>& b, double rtol, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  double scale = 0, diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    scale = std::max(scale, std::abs(static_cast<double>(b[i])));
    diff = std::max(diff, std::abs(static_cast<double>(a[i]) - b[i]));
  }
  EXPECT_GT(scale, 0.0) << what;
  EXPECT_LE(diff, rtol * scale) << what << ": max deviation " << diff << " at scale " << scale;
}

std::vector<float> flat(const std::vector<torch::Tensor>& ts, bool grad) {
  std::vector<float> out;
  for (const torch::Tensor& t : ts) {
    const torch::Tensor c = (grad ? t.grad() : t).detach().contiguous();
    out.insert(out.end(), c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  }
  return out;
}

std::vector<float> vec(const rlpp::nn::AlignedFloats& v) { return std::vector<float>(v.begin(), v.end()); }
std::vector<float> vec(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

torch::Tensor normals(std::mt19937& gen, std::vector<int64_t> shape, float scale = 1.0f, float shift = 0.0f) {
  std::normal_distribution<float> n(0.0f, 1.0f);
  torch::Tensor t = torch::empty(shape, torch::kFloat32);
  for (int64_t i = 0; i < t.numel(); ++i) t.data_ptr<float>()[i] = shift + scale * n(gen);
  return t;
}

struct Batch {
  torch::Tensor obs, actions, returns, next_obs, discount, weights;  // (B, obs), (B, 1), (B), (B, obs), (B), (B)
  DqnBatchView view() const {
    return {obs.size(0),          obs.data_ptr<float>(),      actions.data_ptr<float>(), returns.data_ptr<float>(),
            next_obs.data_ptr<float>(), discount.data_ptr<float>(), weights.data_ptr<float>()};
  }
};

// n-step rows as the replay buffer makes them: R a sum of up to 3 rewards, discount γ^m (m = 1..3)
// or 0 where the episode terminated inside the window; prioritized-replay weights in (0.5, 1.5].
Batch make_batch(std::mt19937& gen, float return_scale) {
  Batch b;
  b.obs = normals(gen, {kBatch, kObs});
  b.next_obs = normals(gen, {kBatch, kObs});
  b.actions = torch::empty({kBatch, 1}, torch::kFloat32);
  b.discount = torch::empty({kBatch}, torch::kFloat32);
  std::uniform_int_distribution<int> action(0, kActions - 1), steps(1, 3);
  for (int64_t i = 0; i < kBatch; ++i) {
    b.actions.data_ptr<float>()[i] = static_cast<float>(action(gen));
    b.discount.data_ptr<float>()[i] = i % 9 == 0 ? 0.0f : static_cast<float>(std::pow(kGamma, steps(gen)));
  }
  b.returns = normals(gen, {kBatch}, return_scale, 0.5f);
  b.weights = 0.5f + torch::sigmoid(normals(gen, {kBatch}));
  b.weights.data_ptr<float>()[3] = 1.0f;
  return b;
}

struct Case {
  bool double_q;
  const char* loss;
  double tau;
  float return_scale;  // Huber: wide enough that some |δ| are beyond 1 and some within
};

void steps_equal_the_reference(const Case& c) {
  const std::string name = std::string(c.double_q ? "double" : "plain") + " " + c.loss;
  torch::manual_seed(21);
  DiscreteQ q(kObs, kActions, kHidden), q_t(kObs, kActions, kHidden);
  polyak_update(q_t->parameters(), q->parameters(), 1.0);
  torch::optim::Adam opt(q->parameters(), torch::optim::AdamOptions(kLr));
  FastDqnConfig fc;
  fc.obs_dim = kObs;
  fc.num_actions = kActions;
  fc.hidden = kHidden;
  fc.learning_rate = kLr;
  fc.double_q = c.double_q;
  fc.loss = c.loss;
  FastDqn fast(fc);
  fast.copy_from(q, q_t);
  const std::vector<float> start = flat(q->parameters(), false);
  EXPECT_EQ(vec(fast.params()), start);
  std::mt19937 gen(4);
  int64_t beyond = 0, within = 0;
  for (int step = 0; step < 6; ++step) {
    const std::string at = name + " step " + std::to_string(step);
    const Batch b = make_batch(gen, c.return_scale);
    // dqn.cpp's LibTorch train_step
    torch::Tensor target;
    {
      torch::NoGradGuard no_grad;
      const torch::Tensor next_target = q_t->forward(b.next_obs);
      const torch::Tensor next_online = c.double_q ? q->forward(b.next_obs) : next_target;
      target = dqn_target(b.returns, b.discount, next_online, next_target, c.double_q);
    }
    const torch::Tensor q_taken = q->forward(b.obs).gather(1, b.actions.to(torch::kInt64)).squeeze(1);
    const torch::Tensor loss = dqn_loss(q_taken, target, b.weights, c.loss);
    opt.zero_grad();
    loss.backward();
    const std::vector<float> ref_grad = flat(q->parameters(), true);
    opt.step();
    const torch::Tensor ref_td = (q_taken - target).abs();
    for (float d : vec(ref_td)) (d > 1.0f ? beyond : within) += 1;

    std::vector<float> td(kBatch);
    const DqnStats s = fast.train_step(b.view(), td.data());
    expect_close(vec(fast.grad()), ref_grad, 2e-5, at + " gradient");
    expect_close(td, vec(ref_td), 1e-5, at + " |td|");
    EXPECT_NEAR(s.td_loss, loss.item<double>(), 1e-5 * std::abs(loss.item<double>())) << at;
    EXPECT_NEAR(s.q_values, q_taken.mean().item<double>(), 1e-5) << at;
    if (step % 2 == 1) {
      polyak_update(q_t->parameters(), q->parameters(), c.tau);
      fast.polyak(c.tau);
    }
    expect_close(vec(fast.params()), flat(q->parameters(), false), 1e-5, at + " parameters");
    expect_close(vec(fast.target_params()), flat(q_t->parameters(), false), 1e-5, at + " target");
  }
  if (c.loss == std::string("huber")) {
    EXPECT_GT(beyond, 20) << "rows with |δ| > 1 (the Huber loss's linear part)";
    EXPECT_GT(within, 20) << "rows with |δ| <= 1";
  }
  // the parameters did move: six Adam steps of lr 1e-3 move some weight by far more than the tolerance
  double moved = 0;
  for (size_t i = 0; i < start.size(); ++i) moved = std::max(moved, std::abs(static_cast<double>(fast.params()[i]) - start[i]));
  EXPECT_GT(moved, 3e-3) << name;

  // greedy actions: argmax of the reference network
  std::mt19937 g2(9);
  const torch::Tensor obs = normals(g2, {7, kObs});
  std::vector<int64_t> greedy(7);
  fast.greedy(obs.data_ptr<float>(), 7, greedy.data());
  torch::NoGradGuard no_grad;
  const torch::Tensor ref_greedy = q->forward(obs).argmax(1).contiguous();
  EXPECT_EQ(greedy, std::vector<int64_t>(ref_greedy.data_ptr<int64_t>(), ref_greedy.data_ptr<int64_t>() + 7)) << name;

  // the Adam state through a torch optimizer: the reference's moments, and back bit for bit
  DiscreteQ q2(kObs, kActions, kHidden), q2_t(kObs, kActions, kHidden);
  torch::optim::Adam opt2(q2->parameters(), torch::optim::AdamOptions(kLr));
  fast.adam_to(opt2, q2);
  fast.copy_to(q2, q2_t);
  const auto ref_params = q->parameters(), params2 = q2->parameters();
  for (size_t i = 0; i < ref_params.size(); ++i) {
    const auto& a = static_cast<const torch::optim::AdamParamState&>(
        *opt.state().at(c10::guts::to_string(ref_params[i].unsafeGetTensorImpl())));
    const auto& b = static_cast<const torch::optim::AdamParamState&>(
        *opt2.state().at(c10::guts::to_string(params2[i].unsafeGetTensorImpl())));
    EXPECT_EQ(a.step(), 6);
    EXPECT_EQ(b.step(), 6);
    expect_close(vec(b.exp_avg()), vec(a.exp_avg()), 1e-4, name + " exp_avg " + std::to_string(i));
    expect_close(vec(b.exp_avg_sq()), vec(a.exp_avg_sq()), 1e-4, name + " exp_avg_sq " + std::to_string(i));
  }
  FastDqn copy(fc);
  copy.copy_from(q2, q2_t);
  copy.adam_from(opt2, q2);
  EXPECT_EQ(copy.adam().step(), 6);
  const Batch b = make_batch(gen, c.return_scale);
  std::vector<float> td1(kBatch), td2(kBatch);
  fast.train_step(b.view(), td1.data());
  copy.train_step(b.view(), td2.data());
  EXPECT_EQ(td1, td2) << name;
  EXPECT_EQ(vec(fast.params()), vec(copy.params())) << name;
}

TEST(FastDqn, DoubleDqnMseStepsEqualTheLibTorchReference) { steps_equal_the_reference({true, "mse", 1.0, 1.0f}); }
TEST(FastDqn, DoubleDqnHuberStepsEqualTheLibTorchReference) { steps_equal_the_reference({true, "huber", 0.5, 3.0f}); }
TEST(FastDqn, PlainDqnStepsEqualTheLibTorchReference) { steps_equal_the_reference({false, "mse", 0.3, 1.0f}); }

// An optimizer that has not stepped gives zero moments and a zero counter (and adam_to leaves it so).
TEST(FastDqn, UnsteppedAdamStateIsZero) {
  FastDqnConfig fc;
  fc.obs_dim = kObs;
  fc.num_actions = kActions;
  fc.hidden = kHidden;
  DiscreteQ q(kObs, kActions, kHidden), q_t(kObs, kActions, kHidden);
  torch::optim::Adam opt(q->parameters(), torch::optim::AdamOptions(kLr));
  FastDqn fast(fc);
  fast.copy_from(q, q_t);
  fast.adam_to(opt, q);
  EXPECT_TRUE(opt.state().empty());
  fast.adam_from(opt, q);
  EXPECT_EQ(fast.adam().step(), 0);
}

// ---- the trainer with dqn.backend = "fast" -----------------------------------------------------

using rlpp::testing::runs::rows_of;
using rlpp::testing::runs::start;

const std::vector<std::string> kSmall = {
    "run.total_steps=600", "offpolicy.steps_per_update=100", "offpolicy.learning_starts=80",
    "offpolicy.buffer_size=300", "offpolicy.batch_size=32", "offpolicy.train_frequency=2",
    "dqn.target_network_frequency=50", "dqn.hidden=[32, 32]", "replay.prioritized=true", "replay.n_step=2"};

std::vector<std::string> with(std::vector<std::string> sets, const std::string& backend) {
  sets.push_back("dqn.backend=\"" + backend + "\"");
  return sets;
}

void expect_same_rows(const std::vector<nlohmann::json>& a, const std::vector<nlohmann::json>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    for (auto& [key, value] : a[i].items()) {
      if (key != "charts/SPS") {
        EXPECT_EQ(value, b[i].at(key)) << "row " << i << " " << key;
      }
    }
  }
}

double eval_return(const std::string& run_dir) {
  rlpp::train::EvalRequest req;
  req.episodes = 2;
  req.seed = 7;
  return rlpp::train::evaluate_run(run_dir, req).mean_return;
}

// Six updates in one call equal three, a checkpoint, a resume and three more (n-step, prioritized).
TEST(FastDqnTrainer, ResumeIsBitIdentical) {
  TempDir dir("fast-dqn-resume");
  EXPECT_TRUE(start("cartpole_dqn.toml", dir.sub("whole"), with(kSmall, "fast")).finished);
  EXPECT_FALSE(start("cartpole_dqn.toml", dir.sub("split"), with(kSmall, "fast"), 3).finished);
  std::atomic<bool> stop{false};
  EXPECT_TRUE(rlpp::train::resume_run(dir.sub("split"), {}, 0, true, stop).finished);
  const auto a = rows_of(dir.sub("whole")), b = rows_of(dir.sub("split"));
  ASSERT_EQ(a.size(), 6u);
  expect_same_rows(a, b);
  EXPECT_GT(a.back()["charts/gradient_steps"].get<double>(), 200.0);
  EXPECT_TRUE(a.back()["losses/td_loss"].is_number());
  EXPECT_EQ(eval_return(dir.sub("whole")), eval_return(dir.sub("split")));
}

// Both backends draw the same numbers in the same order, so the first row (warm-up, then 9
// gradient steps) agrees to float precision before the trajectories drift apart.
TEST(FastDqnTrainer, FirstLossesMatchTheLibTorchBackend) {
  TempDir dir("fast-dqn-vs-torch");
  const std::vector<std::string> sets = {"run.total_steps=100", "offpolicy.steps_per_update=100",
                                         "offpolicy.learning_starts=80", "offpolicy.batch_size=32",
                                         "offpolicy.train_frequency=2", "dqn.hidden=[32, 32]"};
  start("cartpole_dqn.toml", dir.sub("fast"), with(sets, "fast"));
  start("cartpole_dqn.toml", dir.sub("torch"), with(sets, "libtorch"));
  const auto f = rows_of(dir.sub("fast")), t = rows_of(dir.sub("torch"));
  ASSERT_EQ(f.size(), 1u);
  ASSERT_EQ(t.size(), 1u);
  std::ifstream recipe(dir.sub("fast") + "/recipe.toml");
  const std::string text((std::istreambuf_iterator<char>(recipe)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("backend = 'fast'"), std::string::npos);  // the run used the fast path
  EXPECT_EQ(f[0]["charts/gradient_steps"].get<double>(), 9.0);
  for (const char* k : {"losses/td_loss", "losses/q_values"}) {
    const double x = f[0][k].get<double>(), y = t[0][k].get<double>();
    EXPECT_NEAR(x, y, 1e-4 * std::max(1.0, std::abs(y))) << k;
  }
}

// A checkpoint is the same whichever backend wrote it: a run stopped on one backend and resumed on
// the other (recipe.toml edited; `rlpp resume --set dqn.backend` is refused) continues with the
// weights and the Adam state, its rows after the resume within float drift of the uninterrupted
// run's (a reset optimizer would move them by far more).
TEST(FastDqnTrainer, EitherBackendResumesTheOthersCheckpoint) {
  const std::vector<std::string> sets = {
      "run.total_steps=500", "offpolicy.steps_per_update=100", "offpolicy.learning_starts=50",
      "offpolicy.buffer_size=500", "offpolicy.batch_size=32", "offpolicy.train_frequency=2",
      "dqn.target_network_frequency=40", "dqn.hidden=[32, 32]"};
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"libtorch", "fast"}, {"fast", "libtorch"}}) {
    TempDir dir("fast-dqn-cross");
    start("cartpole_dqn.toml", dir.sub("whole"), with(sets, from));
    start("cartpole_dqn.toml", dir.sub("split"), with(sets, from), 2);
    std::atomic<bool> stop{false};
    try {
      rlpp::train::resume_run(dir.sub("split"), {"dqn.backend=\"" + to + "\""}, 0, true, stop);
      ADD_FAILURE() << "--set dqn.backend was accepted on resume";
    } catch (const rlpp::core::UserError& e) {
      EXPECT_NE(std::string(e.what()).find("dqn.backend"), std::string::npos) << e.what();
    }
    const std::string recipe = dir.sub("split") + "/recipe.toml";
    std::ifstream in(recipe);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    in.close();
    const std::string old_line = "backend = '" + from + "'";
    ASSERT_NE(text.find(old_line), std::string::npos) << text;
    text.replace(text.find(old_line), old_line.size(), "backend = '" + to + "'");
    std::ofstream(recipe) << text;
    EXPECT_TRUE(rlpp::train::resume_run(dir.sub("split"), {}, 0, true, stop).finished) << from << " -> " << to;
    const auto a = rows_of(dir.sub("whole")), b = rows_of(dir.sub("split"));
    ASSERT_EQ(a.size(), 5u);
    ASSERT_EQ(b.size(), 5u);
    for (size_t i = 2; i < 5; ++i) {
      for (const char* k : {"losses/td_loss", "losses/q_values"}) {
        const double x = b[i][k].get<double>(), y = a[i][k].get<double>();
        EXPECT_NEAR(x, y, 1e-3 * std::max(1.0, std::abs(y))) << from << " -> " << to << " row " << i << " " << k;
      }
    }
  }
}

TEST(FastDqnTrainer, UnknownBackendIsRejected) {
  TempDir dir("fast-dqn-bad");
  try {
    start("cartpole_dqn.toml", dir.sub("never"), with(kSmall, "gpu"));
    ADD_FAILURE() << "dqn.backend = \"gpu\" was accepted";
  } catch (const rlpp::core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("dqn.backend"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir.sub("never") + "/metrics.jsonl"));
}

// OffPolicyTrainers.DqnLearnsCartPole's check with the fast backend: Double DQN on CartPole in 30k
// steps, the mean training return of the last 100 episodes and the greedy policy's evaluation far
// above a random policy's (~22).
TEST(FastDqnTrainer, LearnsCartPole) {
  TempDir dir("fast-dqn-learn");
  start("cartpole_dqn.toml", dir.sub("run"),
        {"run.total_steps=30000", "offpolicy.learning_starts=1000", "dqn.exploration_fraction=0.3",
         "dqn.target_network_frequency=200", "dqn.learning_rate=1e-3", "dqn.backend=\"fast\""});
  const auto rows = rows_of(dir.sub("run"));
  ASSERT_EQ(rows.size(), 30u);
  EXPECT_GT(rows.back()["charts/return_mean_100"].get<double>(), 100.0);
  EXPECT_NEAR(rows.back()["charts/epsilon"].get<double>(), 0.05, 1e-12);
  rlpp::train::EvalRequest req;
  req.episodes = 5;
  req.seed = 7;
  EXPECT_GT(rlpp::train::evaluate_run(dir.sub("run"), req).mean_return, 100.0);
}

}  // namespace fast_dqn_test
