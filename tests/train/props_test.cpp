// PPO-buffer / PROPS pieces against independent references: the PROPS loss and its gradient
// re-derived in double precision; Gaussian KL by numerical integration, categorical KL by brute
// force; the buffer ring against a deque; φ ← θ; recomputed log-probs and values against the
// learner's own (fast, Eigen) forward; the sampling-error fit against the closed-form KL of a
// shifted, narrowed Gaussian. Then a short PROPS training run (CI).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <deque>
#include <fstream>
#include <numeric>

#include "rlpp/algo/props.h"
#include "rlpp/core/rng.h"
#include "rlpp/train/fast_behavior_policy.h"
#include "rlpp/train/props_trainer.h"
#include "rlpp/train/run.h"
#include "rlpp/train/sampling_error.h"
#include "test_dirs.h"

namespace rlpp::train {
namespace {

TEST(PropsLoss, MatchesADoublePrecisionRederivation) {
  core::Rng rng(1);
  const int B = 64;
  const double eps = 0.3, lambda = 0.3;
  std::vector<double> lp(B), lt(B), kl(B);
  for (int i = 0; i < B; ++i) {
    lt[i] = rng.uniform(-3, 0);
    lp[i] = lt[i] + rng.uniform(-0.8, 0.8);  // ratios from 0.45 to 2.2: all three clip regions
    kl[i] = rng.uniform(0, 0.1);
  }
  auto t = [](const std::vector<double>& v) { return torch::tensor(v, torch::kFloat64); };
  torch::Tensor logp_phi = t(lp).requires_grad_(true);
  const auto out = algo::props_loss(logp_phi, t(lt), t(kl), {eps, lambda});
  out.loss.backward();
  double want = 0, kl_mean = 0;
  std::vector<double> grad(B);
  int clipped = 0;
  for (int i = 0; i < B; ++i) {
    const double r = std::exp(lp[i] - lt[i]);
    const double c = std::min(std::max(r, 1 - eps), 1 + eps);
    want += std::max(r, c) / B;
    kl_mean += kl[i] / B;
    // below 1 − ε the constant 1 − ε wins: no gradient; otherwise d r / d logp = r
    grad[i] = r < 1 - eps ? 0.0 : r / B;
    clipped += std::abs(r - 1) > eps;
  }
  want += lambda * kl_mean;
  EXPECT_NEAR(out.loss.item<double>(), want, 1e-12);
  EXPECT_NEAR(out.metrics.at("kl").item<double>(), kl_mean, 1e-12);
  EXPECT_NEAR(out.metrics.at("clipfrac").item<double>(), static_cast<double>(clipped) / B, 1e-6);
  for (int i = 0; i < B; ++i) EXPECT_NEAR(logp_phi.grad()[i].item<double>(), grad[i], 1e-12) << i;
}

TEST(PropsKl, GaussianMatchesNumericalIntegration) {
  // KL of factorised Gaussians = Σ over dimensions of 1-D KLs; each by the trapezoid rule on
  // ∫ p log(p/q) over ±12 σ_p.
  const std::vector<double> mp = {0.3, -1.0}, lsp = {-0.5, 0.2}, mq = {-0.1, -0.4}, lsq = {0.1, -0.3};
  double want = 0;
  for (size_t a = 0; a < mp.size(); ++a) {
    const double sp = std::exp(lsp[a]), sq = std::exp(lsq[a]);
    auto logn = [](double x, double m, double s) { return -0.5 * std::pow((x - m) / s, 2) - std::log(s) - 0.5 * std::log(2 * M_PI); };
    const int n = 200000;
    const double lo = mp[a] - 12 * sp, hi = mp[a] + 12 * sp, h = (hi - lo) / n;
    double sum = 0;
    for (int k = 0; k <= n; ++k) {
      const double x = lo + k * h, lpx = logn(x, mp[a], sp);
      sum += (k == 0 || k == n ? 0.5 : 1.0) * std::exp(lpx) * (lpx - logn(x, mq[a], sq));
    }
    want += sum * h;
  }
  auto t = [](const std::vector<double>& v) { return torch::tensor(v, torch::kFloat64); };
  const double got = algo::gaussian_kl(t(mp).unsqueeze(0), t(lsp), t(mq).unsqueeze(0), t(lsq)).item<double>();
  EXPECT_NEAR(got, want, 1e-8);
}

TEST(PropsKl, CategoricalMatchesBruteForce) {
  const std::vector<double> a = {0.5, -1.0, 2.0}, b = {0.0, 0.3, -0.7};
  auto softmax = [](std::vector<double> z) {
    double s = 0;
    for (double& v : z) s += (v = std::exp(v));
    for (double& v : z) v /= s;
    return z;
  };
  const auto p = softmax(a), q = softmax(b);
  double want = 0;
  for (int k = 0; k < 3; ++k) want += p[k] * std::log(p[k] / q[k]);
  const double got = algo::categorical_kl(torch::tensor(a, torch::kFloat64).unsqueeze(0),
                                          torch::tensor(b, torch::kFloat64).unsqueeze(0)).item<double>();
  EXPECT_NEAR(got, want, 1e-12);
}

TEST(PropsBuffer, RingKeepsTheLastRowsOldestFirst) {
  for (int pushes : {0, 3, 7, 8, 9, 20}) {
    RowRing ring(8, 2);
    std::deque<float> ref;  // brute force: append, drop from the front beyond 8 rows
    for (int k = 0; k < pushes; ++k) {
      const float row[2] = {static_cast<float>(k), static_cast<float>(-k)};
      ring.push(row);
      ref.push_back(row[0]);
      ref.push_back(row[1]);
      while (ref.size() > 16) ref.pop_front();
    }
    const auto got = ring.ordered();
    ASSERT_EQ(got.size(), ref.size()) << pushes;
    for (size_t k = 0; k < got.size(); ++k) EXPECT_EQ(got[k], ref[k]) << pushes;
  }
}

LearnerConfig config(bool discrete) {
  LearnerConfig c;
  c.obs_dim = 5;
  c.act_dim = 3;
  c.discrete = discrete;
  c.policy.backend = "fast";
  c.policy.init_log_std = -0.3;
  c.policy.actor_head_gain = 1.0;  // a head far from zero, so the policy depends on the state
  return c;
}

torch::Tensor random_obs(int64_t n, int64_t dim, uint64_t seed) {
  torch::manual_seed(seed);
  return torch::randn({n, dim});
}

// Actions drawn from π at obs (B, obs_dim): (B, 1) indices as floats or (B, A), contiguous.
torch::Tensor sample_actions(nn::ActorCritic& pi, const torch::Tensor& obs) {
  torch::NoGradGuard no_grad;
  if (pi->discrete()) return torch::multinomial(torch::softmax(pi->actor_out(obs), -1), 1).to(torch::kFloat32);
  return (pi->actor_out(obs) + torch::exp(pi->log_std) * torch::randn({obs.size(0), pi->act_dim()})).contiguous();
}

TEST(PropsBuffer, RecomputedLogProbsAndValuesMatchTheLearner) {
  for (bool discrete : {false, true}) {
    SCOPED_TRACE(discrete ? "categorical" : "gaussian");
    torch::manual_seed(3);
    const LearnerConfig c = config(discrete);
    auto learner = make_actor_critic_learner(c);
    const int64_t n = 32;
    torch::Tensor obs = random_obs(n, c.obs_dim, 4).contiguous();
    const int64_t af = discrete ? 1 : c.act_dim;
    std::vector<float> act(static_cast<size_t>(n * af)), logp(n), val(n);
    core::Rng rng(5);
    learner->act(obs.data_ptr<float>(), n, rng, false, act.data(), logp.data(), val.data());
    nn::ActorCritic theta = snapshot_policy(*learner, c);
    torch::NoGradGuard no_grad;
    const torch::Tensor a = torch::from_blob(act.data(), {n, af});
    const torch::Tensor lp = policy_log_prob(theta, obs, a), v = theta->value(obs);
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_NEAR(lp[i].item<float>(), logp[i], 1e-4) << i;
      EXPECT_NEAR(v[i].item<float>(), val[i], 1e-4) << i;
    }
    // After an update of θ the stored log-probs are stale; a new snapshot follows θ.
    std::vector<float> adv(n, 1.0f), ret(n, 0.5f);
    for (int64_t i = 0; i < n; ++i) adv[i] = (i % 2) ? 1.0f : -1.0f;
    ControlMinibatch mb{n, obs.data_ptr<float>(), act.data(), logp.data(), adv.data(), ret.data(), val.data()};
    learner->update(mb, PpoLossOptions{}, 1e-2);
    nn::ActorCritic theta2 = snapshot_policy(*learner, c);
    const torch::Tensor lp2 = policy_log_prob(theta2, obs, a);
    EXPECT_GT((lp2 - lp).abs().max().item<float>(), 1e-3);
    std::vector<float> act3(act.size()), logp3(n), val3(n);
    core::Rng rng3(5);
    learner->act(obs.data_ptr<float>(), n, rng3, false, act3.data(), logp3.data(), val3.data());
    const torch::Tensor lp3 = policy_log_prob(theta2, obs, torch::from_blob(act3.data(), {n, af}));
    for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(lp3[i].item<float>(), logp3[i], 1e-4) << i;
  }
}

TEST(PropsBehavior, ResetsToTheTargetThenLowersSampledActionsProbability) {
  for (bool discrete : {false, true}) {
    SCOPED_TRACE(discrete ? "categorical" : "gaussian");
    torch::manual_seed(7);
    const LearnerConfig c = config(discrete);
    nn::ActorCritic theta(c.obs_dim, c.act_dim, c.discrete, c.policy);
    nn::ActorCritic phi(c.obs_dim, c.act_dim, c.discrete, c.policy);  // different random init
    const int64_t n = 512;
    const torch::Tensor obs = random_obs(n, c.obs_dim, 8);
    const torch::Tensor actions = sample_actions(theta, obs);
    copy_policy(theta, phi);
    {
      torch::NoGradGuard no_grad;
      EXPECT_TRUE(torch::equal(phi->actor_out(obs), theta->actor_out(obs)));
      EXPECT_EQ(policy_kl(phi, theta, obs).abs().max().item<float>(), 0.0f);
    }
    std::vector<torch::Tensor> before;
    for (const auto& p : theta->parameters()) before.push_back(p.detach().clone());
    PropsOptions opts;
    opts.behavior_lr = 1e-3;
    opts.behavior_target_kl = 0.05;
    core::Rng rng(9);
    const BehaviorUpdateStats s = props_behavior_update(theta, phi, obs, actions, opts, rng);
    const auto after = theta->parameters();
    for (size_t k = 0; k < before.size(); ++k) EXPECT_TRUE(torch::equal(before[k], after[k])) << "θ moved";
    torch::NoGradGuard no_grad;
    const double mean_log_ratio = (policy_log_prob(phi, obs, actions) - policy_log_prob(theta, obs, actions)).mean().item<double>();
    EXPECT_LT(mean_log_ratio, -1e-3);  // the buffer's actions became less likely under φ
    const double kl = policy_kl(phi, theta, obs).mean().item<double>();
    EXPECT_NEAR(kl, s.kl, 1e-6);
    EXPECT_GT(kl, 0.0);
    EXPECT_LT(kl, 0.05 + 0.05);  // stopped soon after passing the target
    EXPECT_GE(s.epochs, 1);
  }
}

// The fast behaviour update against the LibTorch reference: the same shuffles (same seed), so
// after several epochs of Adam both φ agree to float rounding, with the same statistics.
TEST(FastBehaviorPolicy, MatchesTheLibTorchReferenceUpdate) {
  for (int kind = 0; kind < 3; ++kind) {  // Gaussian, Gaussian with a tanh'd mean, categorical
    const bool discrete = kind == 2;
    for (double target_kl : {0.0, 0.02}) {
      SCOPED_TRACE(std::string(discrete ? "categorical" : kind == 1 ? "gaussian, tanh mean" : "gaussian") +
                   " target_kl " + std::to_string(target_kl));
      torch::manual_seed(21);
      LearnerConfig c = config(discrete);
      c.policy.mean_tanh = kind == 1;
      nn::ActorCritic theta(c.obs_dim, c.act_dim, c.discrete, c.policy);
      nn::ActorCritic phi(c.obs_dim, c.act_dim, c.discrete, c.policy);
      const int64_t n = 384;
      const torch::Tensor obs = random_obs(n, c.obs_dim, 22).contiguous();
      const torch::Tensor actions = sample_actions(theta, obs);
      PropsOptions opts;
      opts.behavior_lr = 3e-3;
      opts.behavior_epochs = 4;
      opts.behavior_minibatches = 8;
      opts.behavior_target_kl = target_kl;
      core::Rng rng_ref(9), rng_fast(9);
      const BehaviorUpdateStats want = props_behavior_update(theta, phi, obs, actions, opts, rng_ref);
      FastBehaviorPolicy fast(c.obs_dim, c.act_dim, c.discrete, c.policy);
      const BehaviorUpdateStats got =
          fast.update(theta, obs.data_ptr<float>(), actions.data_ptr<float>(), n, opts, rng_fast);
      EXPECT_EQ(got.epochs, want.epochs);
      EXPECT_EQ(got.steps, want.steps);
      if (target_kl == 0.0) {
        EXPECT_EQ(got.epochs, opts.behavior_epochs);
        EXPECT_EQ(got.steps, opts.behavior_epochs * opts.behavior_minibatches);
      }
      EXPECT_NEAR(got.kl, want.kl, 1e-5 + 1e-3 * want.kl);
      EXPECT_NEAR(got.loss, want.loss, 1e-5);
      EXPECT_NEAR(got.clipfrac, want.clipfrac, 1e-6);  // float rounding; one sample's decision is 1/48
      EXPECT_GT(want.kl, 1e-4);  // φ moved away from θ
      std::vector<float> ref(static_cast<size_t>(fast.num_params()));
      fast.flatten(phi, ref.data());
      double max_diff = 0, max_move = 0;
      std::vector<float> start(ref.size());
      fast.flatten(theta, start.data());
      for (size_t k = 0; k < ref.size(); ++k) {
        max_diff = std::max(max_diff, std::abs(static_cast<double>(ref[k]) - fast.parameters()[k]));
        max_move = std::max(max_move, std::abs(static_cast<double>(ref[k]) - start[k]));
      }
      EXPECT_LT(max_diff, 2e-5) << "largest parameter move " << max_move;
      EXPECT_GT(max_move, 1e-3);
      // Sampling draws the same actions as nn/action_sampling.h on φ's outputs.
      nn::ActorCritic back(c.obs_dim, c.act_dim, c.discrete, c.policy);
      fast.to_module(back);
      std::vector<float> round(ref.size());
      fast.flatten(back, round.data());
      for (size_t k = 0; k < ref.size(); ++k) ASSERT_EQ(round[k], fast.parameters()[k]) << k;
    }
  }
}

// The behaviour update against the authors' update_props (ppo_props_continuous.py), re-derived
// here in double precision with LibTorch autograd on a copy of θ: the same shuffles; before each
// minibatch's step the minibatch's mean KL(π_φ‖π_θ), stopping once it exceeds the target; loss
// mean max(r, clip(r)) + λ · the KL of each (state, dimension) pair averaged over both (so λ
// weighs one dimension); grad-norm clip; Adam (eps 1e-5). Gaussian and tanh'd-mean Gaussian,
// both backends, a target that stops the update inside an epoch and none.
TEST(PropsBehavior, FollowsTheAuthorsUpdateInDoublePrecision) {
  for (bool tanh_mean : {false, true}) {
    for (const std::string backend : {"torch", "fast"}) {
      for (double target_kl : {0.0, 0.004}) {
        SCOPED_TRACE(backend + (tanh_mean ? " tanh mean" : "") + " target_kl " + std::to_string(target_kl));
        torch::manual_seed(31);
        LearnerConfig c = config(false);
        c.policy.mean_tanh = tanh_mean;
        nn::ActorCritic theta(c.obs_dim, c.act_dim, false, c.policy);
        const int64_t n = 256;
        const torch::Tensor obs = random_obs(n, c.obs_dim, 32).contiguous();
        const torch::Tensor actions = sample_actions(theta, obs);
        PropsOptions opts;
        opts.behavior_lr = 3e-3;
        opts.behavior_epochs = 3;
        opts.behavior_minibatches = 4;
        opts.behavior_kl_coef = 0.5;
        opts.behavior_target_kl = target_kl;

        // the reference, in double
        nn::ActorCritic ref(c.obs_dim, c.act_dim, false, c.policy);
        copy_policy(theta, ref);
        ref->to(torch::kFloat64);
        nn::ActorCritic th(c.obs_dim, c.act_dim, false, c.policy);
        copy_policy(theta, th);
        th->to(torch::kFloat64);
        const torch::Tensor o64 = obs.to(torch::kFloat64), a64 = actions.to(torch::kFloat64);
        torch::Tensor mu2, sigma2, logp_theta;
        {
          torch::NoGradGuard no_grad;
          mu2 = th->actor_out(o64);
          sigma2 = torch::exp(th->log_std).expand_as(mu2);
          logp_theta = th->log_prob_entropy(o64, a64).first;
        }
        std::vector<torch::Tensor> params = ref->actor->parameters();
        params.push_back(ref->log_std);
        torch::optim::Adam adam(params, torch::optim::AdamOptions(opts.behavior_lr).eps(1e-5));
        std::vector<int64_t> idx(n);
        std::iota(idx.begin(), idx.end(), 0);
        core::Rng rng_ref(41);
        const int64_t mb = n / opts.behavior_minibatches;
        int steps = 0;
        bool done = false;
        for (int epoch = 0; epoch < opts.behavior_epochs && !done; ++epoch) {
          rng_ref.shuffle(idx.data(), n);
          for (int64_t start = 0; start < n; start += mb) {
            const torch::Tensor sel = torch::tensor(std::vector<int64_t>(idx.begin() + start, idx.begin() + start + mb));
            const torch::Tensor o = o64.index_select(0, sel), a = a64.index_select(0, sel);
            const torch::Tensor mu1 = ref->actor_out(o), sigma1 = torch::exp(ref->log_std).expand_as(mu1);
            const torch::Tensor m2 = mu2.index_select(0, sel), s2 = sigma2.index_select(0, sel);
            // (mb, A): KL of each dimension, N(μ1, σ1²) ‖ N(μ2, σ2²)
            const torch::Tensor kl = torch::log(s2 / sigma1) + (sigma1 * sigma1 + (mu1 - m2) * (mu1 - m2)) / (2 * s2 * s2) - 0.5;
            if (target_kl > 0 && kl.sum(1).mean().item<double>() > target_kl) {
              done = true;
              break;
            }
            const torch::Tensor ratio = torch::exp(ref->log_prob_entropy(o, a).first - logp_theta.index_select(0, sel));
            const torch::Tensor pg = torch::max(ratio, torch::clamp(ratio, 1 - opts.behavior_clip, 1 + opts.behavior_clip)).mean();
            const torch::Tensor loss = pg + opts.behavior_kl_coef * kl.mean();
            adam.zero_grad();
            loss.backward();
            torch::nn::utils::clip_grad_norm_(params, opts.behavior_max_grad_norm);
            adam.step();
            ++steps;
          }
        }

        core::Rng rng(41);
        BehaviorUpdateStats got;
        std::vector<float> phi_flat;
        FastBehaviorPolicy fast(c.obs_dim, c.act_dim, false, c.policy);
        if (backend == "torch") {
          nn::ActorCritic phi(c.obs_dim, c.act_dim, false, c.policy);
          got = props_behavior_update(theta, phi, obs, actions, opts, rng);
          phi_flat.resize(static_cast<size_t>(fast.num_params()));
          fast.flatten(phi, phi_flat.data());
        } else {
          got = fast.update(theta, obs.data_ptr<float>(), actions.data_ptr<float>(), n, opts, rng);
          phi_flat.assign(fast.parameters().begin(), fast.parameters().end());
        }
        EXPECT_EQ(got.steps, steps);
        if (target_kl > 0) {
          EXPECT_LT(steps, opts.behavior_epochs * opts.behavior_minibatches);  // stopped early,
          EXPECT_NE(steps % opts.behavior_minibatches, 0);                      // inside an epoch
        } else {
          EXPECT_EQ(steps, opts.behavior_epochs * opts.behavior_minibatches);
        }
        nn::ActorCritic ref32(c.obs_dim, c.act_dim, false, c.policy);
        ref->to(torch::kFloat32);
        copy_policy(ref, ref32);
        std::vector<float> want(phi_flat.size()), start(phi_flat.size());
        fast.flatten(ref32, want.data());
        fast.flatten(theta, start.data());
        double max_diff = 0, max_move = 0;
        for (size_t k = 0; k < want.size(); ++k) {
          max_diff = std::max(max_diff, std::abs(static_cast<double>(want[k]) - phi_flat[k]));
          max_move = std::max(max_move, std::abs(static_cast<double>(want[k]) - start[k]));
        }
        EXPECT_GT(max_move, 1e-3);
        EXPECT_LT(max_diff, 1e-4) << "largest parameter move " << max_move;
      }
    }
  }
}

// The rows a behaviour update fits: once the ring is full, all but the oldest m (they are
// evicted before the next target update); hand values.
TEST(PropsBehavior, FitsTheRowsTheNextStepsKeep) {
  EXPECT_EQ(behavior_rows(2048, 2048, 512), 1536);  // HalfCheetah: b·n = 2048, m = 512, full
  EXPECT_EQ(behavior_rows(1800, 2048, 512), 1536);
  EXPECT_EQ(behavior_rows(1536, 2048, 512), 1536);
  EXPECT_EQ(behavior_rows(1024, 2048, 512), 1024);  // filling: every row stays
  EXPECT_EQ(behavior_rows(4096, 4096, 256), 3840);
  EXPECT_EQ(behavior_rows(1024, 1024, 1024), 1024);  // b = 1, m = n: nothing survives; all rows
}

// policy.mean_tanh: the fast learner's actor (FastMlp with a tanh output and its backward)
// against the LibTorch module: the same means in (−1, 1) on large inputs, and after one PPO
// minibatch update from the same start both backends hold the same parameters.
TEST(PropsPolicy, TanhMeanFastLearnerMatchesLibTorch) {
  LearnerConfig c = config(false);
  c.policy.mean_tanh = true;
  c.policy.actor_head_gain = 3.0;  // means that saturate
  const int64_t n = 64;
  const torch::Tensor obs = (3.0 * random_obs(n, c.obs_dim, 51)).contiguous();
  std::vector<std::vector<torch::Tensor>> after;
  std::vector<std::vector<float>> means;
  for (const std::string backend : {"fast", "torch"}) {
    torch::manual_seed(52);
    c.policy.backend = backend;
    auto learner = make_actor_critic_learner(c);
    std::vector<float> act(static_cast<size_t>(n * c.act_dim)), logp(n), val(n);
    core::Rng rng(53);
    learner->act(obs.data_ptr<float>(), n, rng, /*deterministic=*/true, act.data(), logp.data(), val.data());
    means.push_back(act);
    std::vector<float> adv(n), ret(n, 0.5f);
    for (int64_t i = 0; i < n; ++i) adv[i] = (i % 3) ? 1.0f : -1.5f;
    ControlMinibatch mb{n, obs.data_ptr<float>(), act.data(), logp.data(), adv.data(), ret.data(), val.data()};
    for (int k = 0; k < 3; ++k) learner->update(mb, PpoLossOptions{}, 1e-2);
    std::vector<torch::Tensor> w;
    for (const auto& t : snapshot_policy(*learner, c)->parameters()) w.push_back(t.detach().clone());
    after.push_back(w);
  }
  double max_abs = 0;
  for (size_t k = 0; k < means[0].size(); ++k) {
    EXPECT_NEAR(means[0][k], means[1][k], 1e-5) << k;
    max_abs = std::max(max_abs, static_cast<double>(std::abs(means[0][k])));
  }
  EXPECT_LT(max_abs, 1.0);
  EXPECT_GT(max_abs, 0.9);  // saturated: without the tanh these means would leave the box
  ASSERT_EQ(after[0].size(), after[1].size());
  for (size_t k = 0; k < after[0].size(); ++k) {
    EXPECT_LT((after[0][k] - after[1][k]).abs().max().item<double>(), 2e-5) << k;
  }
}

TEST(PropsSamplingError, MatchesTheClosedFormForAShiftedNarrowedBuffer) {
  // Actions = μ_θ(s) + δ + σ' z: the head's bias can move by δ and log σ to log σ', so π_D is that
  // Gaussian and KL(π_D‖π_θ) = Σ_a [log σ_θ − log σ' + (σ'² + δ²)/(2σ_θ²) − 1/2].
  torch::manual_seed(11);
  LearnerConfig c = config(false);
  c.policy.init_log_std = 0.0;
  nn::ActorCritic theta(c.obs_dim, c.act_dim, false, c.policy);
  const int64_t n = 20000;
  const torch::Tensor obs = random_obs(n, c.obs_dim, 12);
  const double delta = 0.3, sigma = 0.6;
  torch::Tensor actions;
  {
    torch::NoGradGuard no_grad;
    actions = theta->actor_out(obs) + delta + sigma * torch::randn({n, c.act_dim});
  }
  const double want = c.act_dim * (0.0 - std::log(sigma) + (sigma * sigma + delta * delta) / 2.0 - 0.5);
  const double got = measure_sampling_error(theta, obs, actions, /*steps=*/400, /*lr=*/1e-2);
  EXPECT_NEAR(got, want, 0.03 * want) << "closed form " << want;
  // On-policy actions: only the finite-sample error remains, far below the shifted buffer's.
  torch::Tensor on_policy;
  {
    torch::NoGradGuard no_grad;
    on_policy = theta->actor_out(obs) + torch::randn({n, c.act_dim});
  }
  const double small = measure_sampling_error(theta, obs, on_policy, 400, 1e-2);
  EXPECT_GE(small, -1e-4);
  EXPECT_LT(small, 0.01);
}

TEST(PropsSamplingError, GaussianStatisticsPathMatchesTheAutogradFit) {
  // The Gaussian path steps Adam on sufficient statistics (G, c, s); the reference differentiates
  // the B per-sample log-probabilities with autograd. A buffer off θ in mean and spread, short and
  // long fits, two learning rates.
  torch::manual_seed(5);
  LearnerConfig c = config(false);
  nn::ActorCritic theta(c.obs_dim, c.act_dim, false, c.policy);
  const int64_t n = 3000;
  const torch::Tensor obs = random_obs(n, c.obs_dim, 6);
  torch::Tensor actions;
  {
    torch::NoGradGuard no_grad;
    actions = theta->actor_out(obs) + 0.2 + 0.7 * torch::randn({n, c.act_dim}) + 0.3 * obs.narrow(1, 0, 1).tanh();
  }
  for (const auto& [steps, lr] : std::vector<std::pair<int, double>>{{1, 1e-2}, {30, 1e-2}, {100, 3e-3}}) {
    SCOPED_TRACE(std::to_string(steps) + " steps, lr " + std::to_string(lr));
    const double want = measure_sampling_error_autograd(theta, obs, actions, steps, lr);
    const double got = measure_sampling_error(theta, obs, actions, steps, lr);
    EXPECT_GT(want, 1e-3);
    EXPECT_NEAR(got, want, 1e-4 + 1e-3 * std::abs(want));
  }
}

// With a tanh'd mean the fitted head feeds a tanh: the sufficient statistics do not apply and the
// autograd fit runs (features end before the head's Linear, not at the Tanh); a buffer drawn off
// θ's mean gives a clearly positive error, an on-policy one a small error.
TEST(PropsSamplingError, TanhMeanTakesTheAutogradFit) {
  torch::manual_seed(61);
  LearnerConfig c = config(false);
  c.policy.mean_tanh = true;
  c.policy.init_log_std = 0.0;
  nn::ActorCritic theta(c.obs_dim, c.act_dim, false, c.policy);
  const int64_t n = 4000;
  const torch::Tensor obs = random_obs(n, c.obs_dim, 62);
  torch::Tensor off, on;
  {
    torch::NoGradGuard no_grad;
    off = theta->actor_out(obs) + 0.3 + 0.6 * torch::randn({n, c.act_dim});
    on = theta->actor_out(obs) + torch::randn({n, c.act_dim});
  }
  const double got = measure_sampling_error(theta, obs, off, 200, 1e-2);
  EXPECT_DOUBLE_EQ(got, measure_sampling_error_autograd(theta, obs, off, 200, 1e-2));
  // at most the closed form of a free shifted, narrowed Gaussian; a tanh'd head reaches most of it
  const double bound = c.act_dim * (-std::log(0.6) + (0.36 + 0.09) / 2.0 - 0.5);
  EXPECT_GT(got, 0.5 * bound);
  EXPECT_LT(got, bound + 0.03);  // + the finite-sample part, about 3·66 head parameters / (2·4000)
  const double small = measure_sampling_error(theta, obs, on, 200, 1e-2);
  EXPECT_GE(small, -1e-4);
  EXPECT_LT(small, 0.03);
}

// A PROPS run split by a checkpoint and resumed equals the run in one go, metric for metric (the
// checkpoint holds θ, φ, the buffer rings, generators, environment state and normalisers).
// Pendulum (Gaussian) and CartPole (categorical), both behaviour backends; no MuJoCo needed.
TEST(PropsTrainer, ResumeIsBitIdentical) {
  for (const std::string backend : {"fast", "torch"}) {
    for (const std::string env : {"Pendulum-v1", "CartPole-v1"}) {
      SCOPED_TRACE(backend + " " + env);
      rlpp::testing::TempDir dir("props_resume");
      const std::vector<std::string> sets = {
          "env.name=\"" + env + "\"", "policy.backend=\"" + backend + "\"", "run.total_steps=2048",
          "ppo.num_steps=256",        "ppo.num_minibatches=4",                "props.behavior_every=128",
          "props.behavior_epochs=2",  "props.mle_steps=5",                    "ppo.update_epochs=2",
          "ppo.bootstrap_truncated=true"};
      auto start = [&](const std::string& out, int64_t stop_after) {
        std::atomic<bool> stop{false};
        StartRequest req;
        req.recipe_path = std::string(RLPP_SOURCE_DIR) + "/configs/inverted_pendulum_props.toml";
        req.overrides = sets;
        req.out_dir = out;
        req.stop_after_updates = stop_after;
        req.quiet = true;
        return start_run(req, stop);
      };
      EXPECT_TRUE(start(dir.sub("whole"), 0).finished);
      EXPECT_FALSE(start(dir.sub("split"), 3).finished);
      std::atomic<bool> stop{false};
      EXPECT_TRUE(resume_run(dir.sub("split"), {}, 0, true, stop).finished);
      auto rows = [](const std::string& d) {
        std::ifstream in(d + "/metrics.jsonl");
        std::vector<nlohmann::json> out;
        std::string line;
        while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
        return out;
      };
      const auto a = rows(dir.sub("whole")), b = rows(dir.sub("split"));
      ASSERT_EQ(a.size(), 8u);
      ASSERT_EQ(b.size(), a.size());
      for (size_t i = 0; i < a.size(); ++i) {
        for (auto& [key, value] : a[i].items()) {
          if (key == "charts/SPS") continue;
          EXPECT_EQ(value.dump(), b[i].at(key).dump()) << "row " << i << " metric " << key;
        }
      }
    }
  }
}

// CI: a short PROPS run on InvertedPendulum learns (MuJoCo builds only; ~15 s of CPU).
#ifdef RLPP_HAVE_MUJOCO
TEST(PropsTrainer, ShortRunOnInvertedPendulumLearns) {
  rlpp::testing::TempDir dir("props");
  std::atomic<bool> stop{false};
  StartRequest req;
  req.recipe_path = std::string(RLPP_SOURCE_DIR) + "/configs/inverted_pendulum_props.toml";
  req.overrides = {"run.total_steps=16384", "ppo.num_steps=1024", "props.behavior_every=256",
                   "props.behavior_epochs=8"};
  req.out_dir = dir.sub("run");
  req.quiet = true;
  const RunOutcome outcome = start_run(req, stop);
  EXPECT_TRUE(outcome.finished);
  std::ifstream in(dir.sub("run") + "/metrics.jsonl");
  std::string line;
  std::vector<nlohmann::json> rows;
  while (std::getline(in, line)) rows.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(rows.size(), 16u);
  const double first = rows.front()["charts/episodic_return"].get<double>();
  const double last = rows.back()["charts/return_mean_100"].get<double>();
  EXPECT_GT(last, 3 * first) << "first " << first << " last " << last;
  for (const auto& r : rows) {
    EXPECT_TRUE(r.contains("props/sampling_error"));
    EXPECT_GE(r["props/behavior_epochs"].get<double>(), 1.0);
  }
}
#endif

}  // namespace
}  // namespace rlpp::train
