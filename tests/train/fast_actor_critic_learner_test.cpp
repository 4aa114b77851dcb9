// FastActorCriticLearner against the LibTorch reference (TorchActorCriticLearner: autograd over the
// algo library's losses, torch::optim::Adam, clip_grad_norm_): same initial weights under the same
// torch seed, then the same minibatches. Compared: update statistics, the unclipped gradient, the
// parameters after 1 and 5 Adam steps (with and without an active grad-norm clip), actions and
// values from act(), and checkpoints in both directions.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "rlpp/core/error.h"
#include "rlpp/train/fast_actor_critic_learner.h"
#include "rlpp/train/torch_actor_critic_learner.h"

namespace rlpp::train {
namespace {

struct Case {
  std::string name;
  int64_t obs_dim;
  int64_t act_dim;
  bool discrete;
  std::vector<int64_t> hidden;
  std::string activation;
  bool norm_adv;
  bool clip_vloss;
  double ent_coef;
};

std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.name; }

LearnerConfig config_of(const Case& c) {
  LearnerConfig cfg;
  cfg.obs_dim = c.obs_dim;
  cfg.act_dim = c.act_dim;
  cfg.discrete = c.discrete;
  cfg.policy.hidden = c.hidden;
  cfg.policy.activation = c.activation;
  cfg.policy.init_log_std = -0.3;
  return cfg;
}

PpoLossOptions loss_of(const Case& c, double max_grad_norm) {
  PpoLossOptions o;
  o.norm_adv = c.norm_adv;
  o.clip_vloss = c.clip_vloss;
  o.ent_coef = c.ent_coef;
  o.max_grad_norm = max_grad_norm;
  return o;
}

// A minibatch whose logp_old and values_old are the reference model's current values plus noise, so
// that ratios fall on both sides of the clip range and inside it, and the value clip binds on some
// samples and not on others.
struct Minibatch {
  int64_t m = 0;
  std::vector<float> obs, actions, logp_old, advantages, returns, values_old;
  ControlMinibatch view() const {
    return {m, obs.data(), actions.data(), logp_old.data(), advantages.data(), returns.data(), values_old.data()};
  }
};

Minibatch make_minibatch(const Case& c, nn::ActorCritic& model, int64_t m, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Minibatch mb;
  mb.m = m;
  const int64_t act_flat = c.discrete ? 1 : c.act_dim;
  mb.obs.resize(static_cast<size_t>(m * c.obs_dim));
  for (float& v : mb.obs) v = normal(gen);
  mb.actions.resize(static_cast<size_t>(m * act_flat));
  std::uniform_int_distribution<int64_t> pick(0, c.act_dim - 1);
  for (float& v : mb.actions) v = c.discrete ? static_cast<float>(pick(gen)) : 0.8f * normal(gen);
  torch::NoGradGuard no_grad;
  const torch::Tensor obs = torch::from_blob(mb.obs.data(), {m, c.obs_dim}).clone();
  const torch::Tensor act = c.discrete ? torch::from_blob(mb.actions.data(), {m}).to(torch::kInt64)
                                       : torch::from_blob(mb.actions.data(), {m, c.act_dim}).clone();
  const torch::Tensor logp = model->log_prob_entropy(obs, act).first.contiguous();  // (M)
  const torch::Tensor value = model->value(obs).contiguous();                       // (M)
  for (int64_t i = 0; i < m; ++i) {
    mb.logp_old.push_back(logp.data_ptr<float>()[i] + 0.3f * normal(gen));
    mb.advantages.push_back(2.0f * normal(gen) + 0.3f);
    mb.values_old.push_back(value.data_ptr<float>()[i] + 0.3f * normal(gen));
    mb.returns.push_back(mb.values_old.back() + normal(gen));
  }
  return mb;
}

std::vector<float> plain(const nn::AlignedFloats& v) { return {v.begin(), v.end()}; }

std::vector<float> flat_params(nn::ActorCritic& model) {
  std::vector<float> out;
  for (const torch::Tensor& p : model->parameters()) {
    const torch::Tensor c = p.detach().contiguous();
    out.insert(out.end(), c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  }
  return out;
}

std::vector<float> flat_grads(nn::ActorCritic& model) {
  std::vector<float> out;
  for (const torch::Tensor& p : model->parameters()) {
    const torch::Tensor c = p.grad().contiguous();
    out.insert(out.end(), c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  }
  return out;
}

// max_k |a_k − b_k| / (atol + rtol·|b_k|) ≤ 1 passes; returns that worst ratio.
double worst_ratio(const std::vector<float>& a, const std::vector<float>& b, double rtol, double atol) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0.0;
  for (size_t k = 0; k < std::min(a.size(), b.size()); ++k) {
    worst = std::max(worst, std::abs(static_cast<double>(a[k]) - b[k]) / (atol + rtol * std::abs(b[k])));
  }
  return worst;
}

void expect_stats_near(const UpdateStats& fast, const UpdateStats& ref, const std::string& where) {
  const auto near = [&](double a, double b, const char* what) {
    EXPECT_NEAR(a, b, 1e-4 * std::abs(b) + 2e-6) << what << " (" << where << ")";
  };
  near(fast.policy_loss, ref.policy_loss, "policy_loss");
  near(fast.value_loss, ref.value_loss, "value_loss");
  near(fast.entropy, ref.entropy, "entropy");
  near(fast.old_approx_kl, ref.old_approx_kl, "old_approx_kl");
  near(fast.approx_kl, ref.approx_kl, "approx_kl");
  EXPECT_NEAR(fast.clipfrac, ref.clipfrac, 1e-12) << "clipfrac (" << where << ")";
  near(fast.grad_norm, ref.grad_norm, "grad_norm");
}

class FastLearnerVsTorch : public ::testing::TestWithParam<Case> {};

TEST_P(FastLearnerVsTorch, UpdatesMatchReference) {
  const Case c = GetParam();
  const LearnerConfig cfg = config_of(c);
  torch::manual_seed(11);
  TorchActorCriticLearner ref(cfg);
  torch::manual_seed(11);
  FastActorCriticLearner fast(cfg);
  ASSERT_EQ(plain(fast.parameters()), flat_params(ref.model())) << "initial weights are copied from the module";

  // Step 1, no clipping: the raw gradient is comparable.
  {
    const Minibatch mb = make_minibatch(c, ref.model(), 128, 1);
    // The minibatch exercises every branch: ratios clipped above and below and unclipped, and a
    // value clip that binds on some samples only.
    torch::NoGradGuard no_grad;
    int high = 0, low = 0, inside = 0, vclip = 0;
    const int64_t act_flat = c.discrete ? 1 : c.act_dim;
    const torch::Tensor obs = torch::from_blob(const_cast<float*>(mb.obs.data()), {mb.m, c.obs_dim});
    torch::Tensor act = torch::from_blob(const_cast<float*>(mb.actions.data()), {mb.m, act_flat});
    act = c.discrete ? act.squeeze(-1).to(torch::kInt64) : act;
    const torch::Tensor logp = ref.model()->log_prob_entropy(obs, act).first;
    const torch::Tensor v = ref.model()->value(obs);
    for (int64_t i = 0; i < mb.m; ++i) {
      const double r = std::exp(logp[i].item<double>() - mb.logp_old[i]);
      high += (mb.advantages[i] > 0 && r > 1.2) ? 1 : 0;
      low += (mb.advantages[i] < 0 && r < 0.8) ? 1 : 0;
      inside += (r > 0.8 && r < 1.2) ? 1 : 0;
      vclip += std::abs(v[i].item<double>() - mb.values_old[i]) > 0.2 ? 1 : 0;
    }
    ASSERT_GT(high, 3);
    ASSERT_GT(low, 3);
    ASSERT_GT(inside, 3);
    ASSERT_GT(vclip, 3);
    ASSERT_LT(vclip, mb.m - 3);
  }
  {
    const Minibatch mb = make_minibatch(c, ref.model(), 128, 1);
    const PpoLossOptions opts = loss_of(c, /*max_grad_norm=*/1e9);
    const UpdateStats s_ref = ref.update(mb.view(), opts, 3e-4);
    const UpdateStats s_fast = fast.update(mb.view(), opts, 3e-4);
    expect_stats_near(s_fast, s_ref, "step 1");
    const std::vector<float> g_ref = flat_grads(ref.model());
    // Gradient relative to its largest entry: float rounding of sums, not of each entry.
    double g_max = 0.0;
    for (float g : g_ref) g_max = std::max(g_max, static_cast<double>(std::abs(g)));
    EXPECT_LE(worst_ratio(plain(fast.gradient()), g_ref, 1e-4, 1e-5 * g_max), 1.0) << "gradient, step 1";
    EXPECT_LE(worst_ratio(plain(fast.parameters()), flat_params(ref.model()), 1e-5, 1e-7), 1.0) << "params, step 1";
  }
  // Steps 2..5 with a grad-norm clip that binds, a smaller minibatch, and changing lr.
  bool clip_was_active = false;
  for (int step = 2; step <= 5; ++step) {
    const Minibatch mb = make_minibatch(c, ref.model(), step == 3 ? 37 : 128, 10 + step);
    const PpoLossOptions opts = loss_of(c, /*max_grad_norm=*/0.1);
    const double lr = 2.5e-4 * (1.0 - 0.1 * step);
    const UpdateStats s_ref = ref.update(mb.view(), opts, lr);
    const UpdateStats s_fast = fast.update(mb.view(), opts, lr);
    expect_stats_near(s_fast, s_ref, "step " + std::to_string(step));
    clip_was_active = clip_was_active || s_ref.grad_norm > 0.1;
  }
  EXPECT_TRUE(clip_was_active);
  EXPECT_EQ(fast.adam_step(), 5);
  EXPECT_LE(worst_ratio(plain(fast.parameters()), flat_params(ref.model()), 1e-5, 1e-7), 1.0) << "params, step 5";
}

TEST_P(FastLearnerVsTorch, ActMatchesReference) {
  const Case c = GetParam();
  const LearnerConfig cfg = config_of(c);
  torch::manual_seed(5);
  TorchActorCriticLearner ref(cfg);
  torch::manual_seed(5);
  FastActorCriticLearner fast(cfg);
  const int64_t act_flat = c.discrete ? 1 : c.act_dim;
  for (const int64_t n : {64, 4, 1}) {
    for (const bool deterministic : {false, true}) {
      const Minibatch mb = make_minibatch(c, ref.model(), n, 100 + static_cast<uint32_t>(n));
      std::vector<float> a_ref(n * act_flat), a_fast(n * act_flat), lp_ref(n), lp_fast(n), v_ref(n), v_fast(n);
      core::Rng rng_ref(42), rng_fast(42);
      ref.act(mb.obs.data(), n, rng_ref, deterministic, a_ref.data(), lp_ref.data(), v_ref.data());
      fast.act(mb.obs.data(), n, rng_fast, deterministic, a_fast.data(), lp_fast.data(), v_fast.data());
      if (c.discrete) {
        EXPECT_EQ(a_fast, a_ref) << "n=" << n;
      } else {
        EXPECT_LE(worst_ratio(a_fast, a_ref, 1e-5, 1e-6), 1.0) << "actions, n=" << n;
      }
      EXPECT_LE(worst_ratio(lp_fast, lp_ref, 1e-5, 1e-6), 1.0) << "logp, n=" << n;
      EXPECT_LE(worst_ratio(v_fast, v_ref, 1e-5, 1e-6), 1.0) << "value, n=" << n;
      std::vector<float> v_only(n);
      fast.value(mb.obs.data(), n, v_only.data());
      EXPECT_EQ(v_only, v_fast);
      EXPECT_EQ(rng_fast.next_u64(), rng_ref.next_u64()) << "both drew the same number of variates";
    }
  }
}

std::string to_bytes(ActorCriticLearner& learner) {
  torch::serialize::OutputArchive archive;
  learner.save(archive);
  std::ostringstream os;
  archive.save_to(os);
  return os.str();
}

void from_bytes(ActorCriticLearner& learner, const std::string& bytes) {
  std::istringstream is(bytes);
  torch::serialize::InputArchive archive;
  archive.load_from(is);
  learner.load(archive);
}

TEST_P(FastLearnerVsTorch, CheckpointsRoundTripAndCrossLoad) {
  const Case c = GetParam();
  const LearnerConfig cfg = config_of(c);
  const PpoLossOptions opts = loss_of(c, 0.5);
  torch::manual_seed(3);
  TorchActorCriticLearner ref(cfg);
  torch::manual_seed(3);
  FastActorCriticLearner fast(cfg);
  for (int k = 0; k < 3; ++k) {
    const Minibatch mb = make_minibatch(c, ref.model(), 64, 200 + k);
    ref.update(mb.view(), opts, 3e-4);
    fast.update(mb.view(), opts, 3e-4);
  }
  const Minibatch next = make_minibatch(c, ref.model(), 64, 300);
  torch::manual_seed(99);  // fresh learners start from other weights
  FastActorCriticLearner fast_copy(cfg), fast_from_torch(cfg);
  TorchActorCriticLearner torch_from_fast(cfg);
  ASSERT_NE(plain(fast_copy.parameters()), plain(fast.parameters()));

  // Within the fast backend the round trip is bit-exact, including the optimizer state.
  from_bytes(fast_copy, to_bytes(fast));
  EXPECT_EQ(plain(fast_copy.parameters()), plain(fast.parameters()));
  EXPECT_EQ(fast_copy.adam_step(), 3);
  // Across backends the weights are copied exactly and Adam continues from the loaded moments:
  // the next step agrees with the reference's within float rounding (a fresh Adam state would move
  // every parameter by about lr instead).
  from_bytes(fast_from_torch, to_bytes(ref));
  EXPECT_EQ(plain(fast_from_torch.parameters()), flat_params(ref.model()));
  EXPECT_EQ(fast_from_torch.adam_step(), 3);
  from_bytes(torch_from_fast, to_bytes(fast));
  EXPECT_EQ(flat_params(torch_from_fast.model()), plain(fast.parameters()));

  fast.update(next.view(), opts, 3e-4);
  fast_copy.update(next.view(), opts, 3e-4);
  EXPECT_EQ(plain(fast_copy.parameters()), plain(fast.parameters())) << "resumed fast learner continues bit-identically";
  ref.update(next.view(), opts, 3e-4);
  fast_from_torch.update(next.view(), opts, 3e-4);
  EXPECT_LE(worst_ratio(plain(fast_from_torch.parameters()), flat_params(ref.model()), 1e-5, 1e-7), 1.0);
  torch_from_fast.update(next.view(), opts, 3e-4);
  EXPECT_LE(worst_ratio(flat_params(torch_from_fast.model()), plain(fast.parameters()), 1e-5, 1e-7), 1.0);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, FastLearnerVsTorch,
    ::testing::Values(
        // CleanRL CartPole: 4 observations, 2 actions, 64-64 tanh.
        Case{"cartpole", 4, 2, true, {64, 64}, "tanh", true, true, 0.0},
        Case{"cartpole_plain_loss_entropy", 4, 2, true, {64, 64}, "tanh", false, false, 0.01},
        Case{"discrete5_relu", 6, 5, true, {32, 16}, "relu", true, true, 0.02},
        // Pendulum-shaped and HalfCheetah-shaped Gaussian policies.
        Case{"gauss_3_1", 3, 1, false, {64, 64}, "tanh", true, true, 0.0},
        Case{"gauss_17_6", 17, 6, false, {64, 64}, "tanh", true, true, 0.01},
        Case{"gauss_17_6_plain_relu", 17, 6, false, {64, 64}, "relu", false, false, 0.0}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(FastLearner, BackendSwitch) {
  LearnerConfig cfg;
  cfg.obs_dim = 4;
  cfg.act_dim = 2;
  cfg.policy.backend = "fast";
  EXPECT_NE(dynamic_cast<FastActorCriticLearner*>(make_actor_critic_learner(cfg).get()), nullptr);
  cfg.policy.backend = "torch";
  EXPECT_NE(dynamic_cast<TorchActorCriticLearner*>(make_actor_critic_learner(cfg).get()), nullptr);
  cfg.policy.backend = "cuda";
  EXPECT_THROW(make_actor_critic_learner(cfg), core::UserError);
}

TEST(FastLearner, RejectsActionsThatAreNotIndices) {
  LearnerConfig cfg;
  cfg.obs_dim = 4;
  cfg.act_dim = 2;
  FastActorCriticLearner fast(cfg);
  const std::vector<float> obs(8, 0.1f), actions{0.0f, 2.0f}, zeros(2, 0.0f);
  const ControlMinibatch mb{2, obs.data(), actions.data(), zeros.data(), zeros.data(), zeros.data(), zeros.data()};
  EXPECT_THROW(fast.update(mb, PpoLossOptions{}, 1e-3), core::UserError);
}

}  // namespace
}  // namespace rlpp::train
