// SAC's fast path (fast_sac_update.h, sac.backend = "fast") against the LibTorch reference: the
// same modules, losses (sac.h) and torch::optim::Adam that sac.cpp's LibTorch path steps with,
// differentiated by autograd. Same initial weights, batches and noise; compared after every one of
// several steps: the critics' and the actor's gradients, every parameter (online, target), log α,
// the td errors, the losses and the sampled actions. Then the trainer with the fast backend: a
// resumed run is bit-identical to an uninterrupted one, and its first losses match the LibTorch
// backend's. TD3's fast path (fast_td3_update.h) the same way against td3.cpp's update.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "common/temp_dir.h"
#include "rlpp/core/error.h"
#include "rlpp/train/offpolicy/fast_mlp.h"
#include "rlpp/train/offpolicy/fast_sac_update.h"
#include "rlpp/train/offpolicy/fast_td3_update.h"
#include "rlpp/train/offpolicy/networks.h"
#include "rlpp/train/offpolicy/sac.h"
#include "rlpp/train/offpolicy/td3.h"
#include "rlpp/train/run.h"

namespace fast_path_test {

using namespace rlpp::train::offpolicy;

constexpr int64_t kObs = 7, kAct = 3, kBatch = 96;
const std::vector<int64_t> kHidden{48, 40};
const std::vector<float> kScale{1.0f, 2.0f, 0.4f}, kBias{0.0f, 0.5f, -0.1f};
constexpr double kPolicyLr = 3e-4, kQLr = 1e-3, kTau = 0.005;

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

template <class V>
std::vector<float> vec(const V& v, size_t from = 0, size_t n = 0) {
  return std::vector<float>(v.begin() + from, n ? v.begin() + from + n : v.end());
}

// The actor's parameters (or gradients) in FastSac's layout: the trunk, then the heads as one layer
// with rows [mean; log_std].
std::vector<float> actor_flat(GaussianActor& a, bool grad) {
  std::vector<float> out = flat(a->trunk->parameters(), grad);
  for (const auto& part : {flat({a->mean->weight}, grad), flat({a->log_std->weight}, grad), flat({a->mean->bias}, grad),
                           flat({a->log_std->bias}, grad)}) {
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

torch::Tensor normals(std::mt19937& gen, std::vector<int64_t> shape, float scale = 1.0f, float shift = 0.0f) {
  std::normal_distribution<float> n(0.0f, 1.0f);
  torch::Tensor t = torch::empty(shape, torch::kFloat32);
  for (int64_t i = 0; i < t.numel(); ++i) t.data_ptr<float>()[i] = shift + scale * n(gen);
  return t;
}

// The LibTorch reference: sac.cpp's update written with the same library calls.
struct Reference {
  GaussianActor actor{kObs, kAct, kHidden};
  ContinuousQ qf1{kObs, kAct, kHidden}, qf2{kObs, kAct, kHidden}, qf1_t{kObs, kAct, kHidden}, qf2_t{kObs, kAct, kHidden};
  torch::Tensor scale = torch::tensor(kScale), bias = torch::tensor(kBias);
  torch::Tensor log_alpha = torch::zeros({1}).requires_grad_(true);
  std::unique_ptr<torch::optim::Adam> q_opt, actor_opt, alpha_opt;
  double alpha = 1.0;

  Reference() {
    polyak_update(qf1_t->parameters(), qf1->parameters(), 1.0);
    polyak_update(qf2_t->parameters(), qf2->parameters(), 1.0);
    std::vector<torch::Tensor> q = qf1->parameters();
    for (const auto& p : qf2->parameters()) q.push_back(p);
    q_opt = std::make_unique<torch::optim::Adam>(q, torch::optim::AdamOptions(kQLr));
    actor_opt = std::make_unique<torch::optim::Adam>(actor->parameters(), torch::optim::AdamOptions(kPolicyLr));
    alpha_opt = std::make_unique<torch::optim::Adam>(std::vector<torch::Tensor>{log_alpha}, torch::optim::AdamOptions(kQLr));
  }
  SquashedSample sample(const torch::Tensor& obs, const torch::Tensor& eps) {
    auto [mean, log_std] = actor->forward(obs);
    return squashed_gaussian(mean, log_std, eps, scale, bias);
  }
};

struct Batch {
  torch::Tensor obs, actions, returns, next_obs, discount, weights;
  SacBatchView view() const {
    return {obs.size(0),          obs.data_ptr<float>(),      actions.data_ptr<float>(), returns.data_ptr<float>(),
            next_obs.data_ptr<float>(), discount.data_ptr<float>(), weights.data_ptr<float>()};
  }
};

Batch make_batch(std::mt19937& gen) {
  Batch b;
  b.obs = normals(gen, {kBatch, kObs});
  b.next_obs = normals(gen, {kBatch, kObs});
  b.actions = torch::tanh(normals(gen, {kBatch, kAct})) * torch::tensor(kScale) + torch::tensor(kBias);
  b.returns = normals(gen, {kBatch}, 1.0f, 0.3f);
  b.discount = torch::full({kBatch}, 0.99f);
  b.weights = 0.5f + torch::sigmoid(normals(gen, {kBatch}));  // importance weights in (0.5, 1.5)
  for (int64_t i = 0; i < kBatch; i += 7) b.discount[i] = 0.0f;  // terminated transitions
  return b;
}

FastSac make_fast(Reference& ref, int threads = 1) {
  FastSacConfig c;
  c.threads = threads;
  c.obs_dim = kObs;
  c.act_dim = kAct;
  c.hidden = kHidden;
  c.scale = kScale;
  c.bias = kBias;
  c.policy_lr = kPolicyLr;
  c.q_lr = kQLr;
  FastSac f(c);
  f.copy_from(ref.actor, ref.qf1, ref.qf2, ref.qf1_t, ref.qf2_t);
  return f;
}

TEST(FastSac, StepsEqualTheLibTorchReference) {
  torch::manual_seed(11);
  Reference ref;
  FastSac fast = make_fast(ref);
  const size_t pq = static_cast<size_t>(fast.critic_params_each());
  std::mt19937 gen(5);
  double fast_alpha = 1.0;
  for (int step = 0; step < 6; ++step) {
    const std::string at = "step " + std::to_string(step);
    const Batch b = make_batch(gen);
    const torch::Tensor eps_next = normals(gen, {kBatch, kAct}), eps_pi = normals(gen, {kBatch, kAct}),
                        eps_alpha = normals(gen, {kBatch, kAct});

    // critics
    torch::Tensor target;
    {
      torch::NoGradGuard no_grad;
      const SquashedSample next = ref.sample(b.next_obs, eps_next);
      target = sac_critic_target(b.returns, b.discount, ref.qf1_t->forward(b.next_obs, next.action),
                                 ref.qf2_t->forward(b.next_obs, next.action), next.logp, ref.alpha);
    }
    const torch::Tensor q1 = ref.qf1->forward(b.obs, b.actions), q2 = ref.qf2->forward(b.obs, b.actions);
    const torch::Tensor qf_loss = twin_critic_loss(q1, q2, target, b.weights);
    ref.q_opt->zero_grad();
    qf_loss.backward();
    const std::vector<float> ref_q_grad = flat(ref.qf1->parameters(), true), ref_q2_grad = flat(ref.qf2->parameters(), true);
    ref.q_opt->step();
    std::vector<float> td(kBatch);
    const SacCriticStats s = fast.critic_step(b.view(), eps_next.data_ptr<float>(), fast_alpha, td.data());
    expect_close(vec(fast.critic_grad(), 0, pq), ref_q_grad, 2e-5, at + " qf1 gradient");
    expect_close(vec(fast.critic_grad(), pq, pq), ref_q2_grad, 2e-5, at + " qf2 gradient");
    EXPECT_NEAR(s.qf_loss, qf_loss.item<double>(), 1e-5 * std::abs(qf_loss.item<double>())) << at;
    EXPECT_NEAR(s.qf1_values, q1.mean().item<double>(), 1e-5) << at;
    const torch::Tensor ref_td = (0.5 * ((q1 - target).abs() + (q2 - target).abs())).detach().contiguous();
    expect_close(td, vec(std::vector<float>(ref_td.data_ptr<float>(), ref_td.data_ptr<float>() + kBatch)), 1e-5,
                 at + " |td|");

    // actor
    const SquashedSample pi = ref.sample(b.obs, eps_pi);
    const torch::Tensor actor_loss =
        sac_actor_loss(pi.logp, ref.qf1->forward(b.obs, pi.action), ref.qf2->forward(b.obs, pi.action), ref.alpha);
    ref.actor_opt->zero_grad();
    actor_loss.backward();
    const std::vector<float> ref_actor_grad = actor_flat(ref.actor, true);
    ref.actor_opt->step();
    const double fast_actor_loss = fast.actor_step(b.obs.data_ptr<float>(), kBatch, eps_pi.data_ptr<float>(), fast_alpha);
    expect_close(vec(fast.actor_grad()), ref_actor_grad, 1e-5, at + " actor gradient");
    EXPECT_NEAR(fast_actor_loss, actor_loss.item<double>(), 1e-5 * std::max(1.0, std::abs(actor_loss.item<double>())))
        << at;

    // temperature
    torch::Tensor logp;
    {
      torch::NoGradGuard no_grad;
      logp = ref.sample(b.obs, eps_alpha).logp;
    }
    const torch::Tensor alpha_loss = sac_alpha_loss(ref.log_alpha, logp, -static_cast<double>(kAct));
    ref.alpha_opt->zero_grad();
    alpha_loss.backward();
    const float ref_alpha_grad = ref.log_alpha.grad().item<float>();
    ref.alpha_opt->step();
    ref.alpha = ref.log_alpha.detach().exp().item<double>();
    const double fast_alpha_loss =
        fast.alpha_step(b.obs.data_ptr<float>(), kBatch, eps_alpha.data_ptr<float>(), -static_cast<double>(kAct));
    fast_alpha = static_cast<double>(std::exp(fast.log_alpha()));
    EXPECT_NEAR(fast_alpha_loss, alpha_loss.item<double>(), 1e-5 * std::abs(alpha_loss.item<double>())) << at;
    EXPECT_NEAR(fast.log_alpha_grad(), ref_alpha_grad, 1e-5 * std::abs(ref_alpha_grad)) << at;
    EXPECT_NEAR(fast.log_alpha(), ref.log_alpha.item<float>(), 1e-7) << at;

    // targets
    polyak_update(ref.qf1_t->parameters(), ref.qf1->parameters(), kTau);
    polyak_update(ref.qf2_t->parameters(), ref.qf2->parameters(), kTau);
    fast.polyak(kTau);

    // every parameter: |Δθ| within 1e-5 of the parameters' scale (each Adam step moves θ by ~lr)
    expect_close(vec(fast.critic_params(), 0, pq), flat(ref.qf1->parameters(), false), 1e-5, at + " qf1");
    expect_close(vec(fast.critic_params(), pq, pq), flat(ref.qf2->parameters(), false), 1e-5, at + " qf2");
    expect_close(vec(fast.critic_target_params(), 0, pq), flat(ref.qf1_t->parameters(), false), 1e-5, at + " qf1 target");
    expect_close(vec(fast.critic_target_params(), pq, pq), flat(ref.qf2_t->parameters(), false), 1e-5, at + " qf2 target");
    expect_close(vec(fast.actor_params()), actor_flat(ref.actor, false), 1e-5, at + " actor");
  }
  // the parameters did move: six steps of lr 1e-3 change the critics' first weights by far more
  // than the tolerance
  torch::manual_seed(11);
  Reference fresh;
  double moved = 0;
  const std::vector<float> start = flat(fresh.qf1->parameters(), false);
  for (size_t i = 0; i < pq; ++i) moved = std::max(moved, std::abs(static_cast<double>(fast.critic_params()[i]) - start[i]));
  EXPECT_GT(moved, 1e-3);

  // actions: the squashed sample and the mean action, then copy_to gives the modules back
  std::mt19937 g2(9);
  const torch::Tensor obs = normals(g2, {5, kObs}), eps = normals(g2, {5, kAct});
  std::vector<float> a(5 * kAct), mean_a(5 * kAct);
  fast.act(obs.data_ptr<float>(), 5, eps.data_ptr<float>(), a.data());
  fast.act(obs.data_ptr<float>(), 5, nullptr, mean_a.data());
  torch::NoGradGuard no_grad;
  const torch::Tensor ref_a = ref.sample(obs, eps).action.contiguous();
  const torch::Tensor ref_mean = (torch::tanh(ref.actor->forward(obs).first) * ref.scale + ref.bias).contiguous();
  expect_close(a, std::vector<float>(ref_a.data_ptr<float>(), ref_a.data_ptr<float>() + 5 * kAct), 1e-5, "actions");
  expect_close(mean_a, std::vector<float>(ref_mean.data_ptr<float>(), ref_mean.data_ptr<float>() + 5 * kAct), 1e-5,
               "mean actions");
  Reference back;
  fast.copy_to(back.actor, back.qf1, back.qf2, back.qf1_t, back.qf2_t);
  EXPECT_EQ(actor_flat(back.actor, false), vec(fast.actor_params()));
  EXPECT_EQ(flat(back.qf2_t->parameters(), false), vec(fast.critic_target_params(), pq, pq));
}

// The twin critics on two threads give the same bits as on one (each critic stays on one thread).
TEST(FastSac, TwoThreadsGiveTheSameBits) {
  torch::manual_seed(12);
  Reference ref;
  FastSac one = make_fast(ref, 1), two = make_fast(ref, 2);
  std::mt19937 gen(6);
  for (int step = 0; step < 3; ++step) {
    const Batch b = make_batch(gen);
    const torch::Tensor e1 = normals(gen, {kBatch, kAct}), e2 = normals(gen, {kBatch, kAct}), e3 = normals(gen, {kBatch, kAct});
    std::vector<float> td1(kBatch), td2(kBatch);
    for (FastSac* f : {&one, &two}) {
      f->critic_step(b.view(), e1.data_ptr<float>(), 0.5, f == &one ? td1.data() : td2.data());
      f->actor_step(b.obs.data_ptr<float>(), kBatch, e2.data_ptr<float>(), 0.5);
      f->alpha_step(b.obs.data_ptr<float>(), kBatch, e3.data_ptr<float>(), -3.0);
      f->polyak(kTau);
    }
    EXPECT_EQ(td1, td2);
  }
  EXPECT_EQ(vec(one.critic_params()), vec(two.critic_params()));
  EXPECT_EQ(vec(one.critic_target_params()), vec(two.critic_target_params()));
  EXPECT_EQ(vec(one.actor_params()), vec(two.actor_params()));
  EXPECT_EQ(one.log_alpha(), two.log_alpha());
}

// TD3's fast path against td3.cpp's LibTorch update (target smoothing, clipped double Q, the delayed
// actor through Q1, Polyak on all three targets), five steps, the actor on the even ones.
TEST(FastTd3, StepsEqualTheLibTorchReference) {
  torch::manual_seed(13);
  const torch::Tensor scale = torch::tensor(kScale), bias = torch::tensor(kBias);
  std::vector<float> low(kAct), high(kAct);
  for (int64_t i = 0; i < kAct; ++i) low[i] = kBias[i] - kScale[i], high[i] = kBias[i] + kScale[i];
  const torch::Tensor low_t = torch::tensor(low), high_t = torch::tensor(high);
  DeterministicActor actor(kObs, kAct, kHidden, scale, bias), actor_t(kObs, kAct, kHidden, scale, bias);
  ContinuousQ qf1(kObs, kAct, kHidden), qf2(kObs, kAct, kHidden), qf1_t(kObs, kAct, kHidden), qf2_t(kObs, kAct, kHidden);
  polyak_update(actor_t->parameters(), actor->parameters(), 1.0);
  polyak_update(qf1_t->parameters(), qf1->parameters(), 1.0);
  polyak_update(qf2_t->parameters(), qf2->parameters(), 1.0);
  std::vector<torch::Tensor> qp = qf1->parameters();
  for (const auto& p : qf2->parameters()) qp.push_back(p);
  torch::optim::Adam q_opt(qp, torch::optim::AdamOptions(kQLr)), actor_opt(actor->parameters(), torch::optim::AdamOptions(kQLr));
  FastTd3Config c;
  c.obs_dim = kObs;
  c.act_dim = kAct;
  c.hidden = kHidden;
  c.scale = kScale;
  c.bias = kBias;
  c.low = low;
  c.high = high;
  c.learning_rate = kQLr;
  FastTd3 fast(c);
  fast.copy_from(actor, qf1, qf2, actor_t, qf1_t, qf2_t);
  const size_t pq = static_cast<size_t>(fast.critic_params_each());
  std::mt19937 gen(8);
  for (int step = 0; step < 5; ++step) {
    const std::string at = "step " + std::to_string(step);
    const Batch b = make_batch(gen);
    const torch::Tensor eps = normals(gen, {kBatch, kAct}, 2.0f);  // σ ε beyond the clip on some rows
    torch::Tensor target;
    {
      torch::NoGradGuard no_grad;
      const torch::Tensor next_a = td3_target_action(actor_t->forward(b.next_obs), eps, 0.2, 0.5, scale, low_t, high_t);
      target = td3_critic_target(b.returns, b.discount, qf1_t->forward(b.next_obs, next_a), qf2_t->forward(b.next_obs, next_a));
    }
    const torch::Tensor q1 = qf1->forward(b.obs, b.actions), q2 = qf2->forward(b.obs, b.actions);
    const torch::Tensor qf_loss = twin_critic_loss(q1, q2, target, b.weights);
    q_opt.zero_grad();
    qf_loss.backward();
    const std::vector<float> ref_q1_grad = flat(qf1->parameters(), true), ref_q2_grad = flat(qf2->parameters(), true);
    q_opt.step();
    std::vector<float> td(kBatch);
    const SacCriticStats s = fast.critic_step(b.view(), eps.data_ptr<float>(), td.data());
    expect_close(vec(fast.critic_grad(), 0, pq), ref_q1_grad, 2e-5, at + " qf1 gradient");
    expect_close(vec(fast.critic_grad(), pq, pq), ref_q2_grad, 2e-5, at + " qf2 gradient");
    EXPECT_NEAR(s.qf_loss, qf_loss.item<double>(), 1e-5 * std::abs(qf_loss.item<double>())) << at;
    if (step % 2 == 0) {
      const torch::Tensor actor_loss = td3_actor_loss(qf1->forward(b.obs, actor->forward(b.obs)));
      actor_opt.zero_grad();
      actor_loss.backward();
      const std::vector<float> ref_actor_grad = flat(actor->parameters(), true);
      actor_opt.step();
      const double fast_loss = fast.actor_step(b.obs.data_ptr<float>(), kBatch);
      expect_close(vec(fast.actor_grad()), ref_actor_grad, 1e-5, at + " actor gradient");
      EXPECT_NEAR(fast_loss, actor_loss.item<double>(), 1e-5 * std::max(1.0, std::abs(actor_loss.item<double>()))) << at;
      polyak_update(actor_t->parameters(), actor->parameters(), kTau);
      polyak_update(qf1_t->parameters(), qf1->parameters(), kTau);
      polyak_update(qf2_t->parameters(), qf2->parameters(), kTau);
      fast.polyak(kTau);
    }
    expect_close(vec(fast.critic_params(), 0, pq), flat(qf1->parameters(), false), 1e-5, at + " qf1");
    expect_close(vec(fast.critic_params(), pq, pq), flat(qf2->parameters(), false), 1e-5, at + " qf2");
    expect_close(vec(fast.critic_target_params(), pq, pq), flat(qf2_t->parameters(), false), 1e-5, at + " qf2 target");
    expect_close(vec(fast.actor_params()), flat(actor->parameters(), false), 1e-5, at + " actor");
    expect_close(vec(fast.actor_target_params()), flat(actor_t->parameters(), false), 1e-5, at + " actor target");
  }
  // exploration: μ(s) + noise, clipped to the box
  std::mt19937 g2(4);
  const torch::Tensor obs = normals(g2, {6, kObs}), noise = normals(g2, {6, kAct}, 10.0f);
  std::vector<float> a(6 * kAct);
  fast.act(obs.data_ptr<float>(), 6, noise.data_ptr<float>(), a.data());
  torch::NoGradGuard no_grad;
  const torch::Tensor ref = torch::max(torch::min(actor->forward(obs) + noise * (scale * 0.1), high_t), low_t).contiguous();
  expect_close(a, std::vector<float>(ref.data_ptr<float>(), ref.data_ptr<float>() + 6 * kAct), 1e-5, "td3 actions");
}

// FastReluMlp's input gradient against central finite differences in double of the same network
// (dL/dx for L = Σ c ⊙ out with fixed c).
TEST(FastReluMlp, InputAndWeightGradientsMatchFiniteDifferences) {
  FastReluMlp net(4, {6, 5}, 2);
  std::mt19937 gen(3);
  std::normal_distribution<float> n(0.0f, 0.7f);
  std::vector<float> params(static_cast<size_t>(net.num_params())), x(3 * 4), c(3 * 2);
  for (float& p : params) p = n(gen);
  for (float& v : x) v = n(gen);
  for (float& v : c) v = n(gen);
  // the same network in double, written out
  auto loss = [&](const std::vector<double>& p, const std::vector<double>& in) {
    double total = 0;
    for (int64_t r = 0; r < 3; ++r) {
      std::vector<double> h(in.begin() + r * 4, in.begin() + r * 4 + 4);
      for (int64_t l = 0; l < net.num_layers(); ++l) {
        std::vector<double> z(static_cast<size_t>(net.layer_out(l)));
        for (int64_t o = 0; o < net.layer_out(l); ++o) {
          double s = p[static_cast<size_t>(net.bias_offset(l) + o)];
          for (int64_t i = 0; i < net.layer_in(l); ++i) s += p[static_cast<size_t>(net.weight_offset(l) + o * net.layer_in(l) + i)] * h[i];
          z[o] = l + 1 < net.num_layers() ? std::max(s, 0.0) : s;
        }
        h = z;
      }
      for (int64_t o = 0; o < 2; ++o) total += c[static_cast<size_t>(r * 2 + o)] * h[o];
    }
    return total;
  };
  std::vector<double> pd(params.begin(), params.end()), xd(x.begin(), x.end());
  const float* out = net.forward(params.data(), x.data(), 3);
  double l = 0;
  for (size_t k = 0; k < c.size(); ++k) l += static_cast<double>(out[k]) * c[k];
  EXPECT_NEAR(l, loss(pd, xd), 1e-5);
  std::vector<float> grads(params.size()), dx(x.size());
  net.backward(params.data(), c.data(), grads.data(), dx.data());
  const double h = 1e-6;
  for (size_t i = 0; i < xd.size(); ++i) {
    auto up = xd, down = xd;
    up[i] += h, down[i] -= h;
    EXPECT_NEAR(dx[i], (loss(pd, up) - loss(pd, down)) / (2 * h), 1e-4) << "dx " << i;
  }
  for (size_t i = 0; i < pd.size(); ++i) {
    auto up = pd, down = pd;
    up[i] += h, down[i] -= h;
    EXPECT_NEAR(grads[i], (loss(up, xd) - loss(down, xd)) / (2 * h), 1e-4) << "dθ " << i;
  }
}

// ---- the trainer with sac.backend = "fast" -----------------------------------------------------

std::vector<nlohmann::json> rows_of(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::vector<nlohmann::json> rows;
  std::string line;
  while (std::getline(in, line)) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

rlpp::train::RunOutcome start(const std::string& out, std::vector<std::string> sets, int64_t stop_after = 0) {
  std::atomic<bool> stop{false};
  rlpp::train::StartRequest req;
  req.recipe_path = std::string(RLPP_SOURCE_DIR) + "/configs/pendulum_sac.toml";
  req.overrides = std::move(sets);
  req.out_dir = out;
  req.stop_after_updates = stop_after;
  req.quiet = true;
  return rlpp::train::start_run(req, stop);
}

const std::vector<std::string> kSmall = {
    "run.total_steps=600", "offpolicy.steps_per_update=100", "offpolicy.learning_starts=80",
    "offpolicy.buffer_size=300", "offpolicy.batch_size=32", "sac.hidden=[32, 32]", "replay.n_step=3",
    "replay.prioritized=true"};

std::vector<std::string> with(std::vector<std::string> sets, const std::string& backend) {
  sets.push_back("sac.backend=\"" + backend + "\"");
  return sets;
}

// Six updates in one call equal three, a checkpoint, a resume and three more (every metric but the
// speed, and the evaluation of the final weights).
TEST(FastSacTrainer, ResumeIsBitIdentical) {
  rlpp::testing::TempDir dir("fast-sac-resume");
  EXPECT_TRUE(start(dir.sub("whole"), with(kSmall, "fast")).finished);
  EXPECT_FALSE(start(dir.sub("split"), with(kSmall, "fast"), 3).finished);
  std::atomic<bool> stop{false};
  EXPECT_TRUE(rlpp::train::resume_run(dir.sub("split"), {}, 0, true, stop).finished);
  const auto a = rows_of(dir.sub("whole")), b = rows_of(dir.sub("split"));
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), 6u);
  for (size_t i = 0; i < a.size(); ++i) {
    for (auto& [key, value] : a[i].items()) {
      if (key != "charts/SPS") EXPECT_EQ(value, b[i].at(key)) << "row " << i << " " << key;
    }
  }
  EXPECT_GT(a.back()["charts/gradient_steps"].get<double>(), 400.0);
  EXPECT_TRUE(a.back()["losses/qf_loss"].is_number());
  rlpp::train::EvalRequest req;
  req.episodes = 2;
  req.seed = 7;
  EXPECT_EQ(rlpp::train::evaluate_run(dir.sub("whole"), req).mean_return,
            rlpp::train::evaluate_run(dir.sub("split"), req).mean_return);
}

// TD3 with the fast backend: the same resume check on Pendulum with prioritized replay.
TEST(FastTd3Trainer, ResumeIsBitIdentical) {
  rlpp::testing::TempDir dir("fast-td3-resume");
  const std::vector<std::string> sets = {
      "run.total_steps=600", "offpolicy.steps_per_update=100", "offpolicy.learning_starts=80",
      "offpolicy.buffer_size=300", "offpolicy.batch_size=32", "td3.hidden=[32, 32]", "replay.prioritized=true",
      "env.name=\"Pendulum-v1\"", "td3.backend=\"fast\""};
  auto run = [&](const std::string& out, int64_t stop_after) {
    std::atomic<bool> stop{false};
    rlpp::train::StartRequest req;
    req.recipe_path = std::string(RLPP_SOURCE_DIR) + "/configs/hopper_td3.toml";
    req.overrides = sets;
    req.out_dir = out;
    req.stop_after_updates = stop_after;
    req.quiet = true;
    return rlpp::train::start_run(req, stop);
  };
  EXPECT_TRUE(run(dir.sub("whole"), 0).finished);
  EXPECT_FALSE(run(dir.sub("split"), 3).finished);
  std::atomic<bool> stop{false};
  EXPECT_TRUE(rlpp::train::resume_run(dir.sub("split"), {}, 0, true, stop).finished);
  const auto a = rows_of(dir.sub("whole")), b = rows_of(dir.sub("split"));
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), 6u);
  for (size_t i = 0; i < a.size(); ++i) {
    for (auto& [key, value] : a[i].items()) {
      if (key != "charts/SPS") EXPECT_EQ(value, b[i].at(key)) << "row " << i << " " << key;
    }
  }
  EXPECT_TRUE(a.back()["losses/actor_loss"].is_number());
  rlpp::train::EvalRequest req;
  req.episodes = 2;
  req.seed = 7;
  EXPECT_EQ(rlpp::train::evaluate_run(dir.sub("whole"), req).mean_return,
            rlpp::train::evaluate_run(dir.sub("split"), req).mean_return);
}

TEST(FastSacTrainer, UnknownBackendIsRejected) {
  rlpp::testing::TempDir dir("fast-sac-bad");
  try {
    start(dir.sub("never"), with(kSmall, "gpu"));
    ADD_FAILURE() << "sac.backend = \"gpu\" was accepted";
  } catch (const rlpp::core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("sac.backend"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir.sub("never") + "/metrics.jsonl"));
}

// Both backends draw the same numbers in the same order: the warm-up and the first gradient steps
// coincide, so the first row's means (its 19 gradient steps) agree to float precision before the
// trajectories drift apart.
TEST(FastSacTrainer, FirstLossesMatchTheLibTorchBackend) {
  rlpp::testing::TempDir dir("fast-sac-vs-torch");
  const std::vector<std::string> sets = {"run.total_steps=100", "offpolicy.steps_per_update=100",
                                         "offpolicy.learning_starts=80", "offpolicy.batch_size=32",
                                         "sac.hidden=[32, 32]"};
  start(dir.sub("fast"), with(sets, "fast"));
  start(dir.sub("torch"), with(sets, "libtorch"));
  const auto f = rows_of(dir.sub("fast")), t = rows_of(dir.sub("torch"));
  ASSERT_EQ(f.size(), 1u);
  ASSERT_EQ(t.size(), 1u);
  std::ifstream recipe(dir.sub("fast") + "/recipe.toml");
  const std::string text((std::istreambuf_iterator<char>(recipe)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("backend = 'fast'"), std::string::npos);  // the run used the fast path
  EXPECT_EQ(f[0]["charts/gradient_steps"].get<double>(), 19.0);
  for (const char* k : {"losses/qf_loss", "losses/qf1_values", "losses/actor_loss", "losses/alpha_loss", "losses/alpha"}) {
    const double x = f[0][k].get<double>(), y = t[0][k].get<double>();
    EXPECT_NEAR(x, y, 1e-4 * std::max(1.0, std::abs(y))) << k;
  }
}

}  // namespace fast_path_test
