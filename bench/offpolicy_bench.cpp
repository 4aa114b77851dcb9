// SAC's gradient step on Hopper shapes (CleanRL's sac_continuous_action.py: obs 11, actions 3,
// 256-256 ReLU MLPs, batch 256), on both backends of sac.cpp, and the dense-algebra floor:
//   BM_SacUpdate/libtorch  modules + autograd + torch::optim::Adam (sac.cpp's LibTorch path)
//   BM_SacUpdate/fast      FastSac (flat buffers, hand-derived gradients, fused Adam)
//   BM_SacGemmBound        only the matrix products of the fast path's step (Eigen), nothing else
//   BM_Td3Update/libtorch, BM_Td3Update/fast  TD3's step (td3.cpp's two backends), same shapes
// One iteration is two gradient steps, t even then t odd, as the trainer runs them with
// policy_frequency 2: two critic steps, two actor steps, two temperature steps and two Polyak
// updates. items_per_second = gradient steps per CPU second of the whole process (a busy machine
// slows the wall clock but not this). Threads: RLPP_BENCH_THREADS (default 1): LibTorch's
// intra-op threads, FastSac's threads (the twin critics on two).
//
//   build/bin/rlpp_bench --benchmark_filter='BM_Sac'
//   bash scripts/offpolicy-bench.sh (this, the Python peer and end-to-end Hopper runs side by side)
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

#include "rlpp/train/offpolicy/fast_sac_update.h"
#include "rlpp/train/offpolicy/fast_td3_update.h"
#include "rlpp/train/offpolicy/networks.h"
#include "rlpp/train/offpolicy/sac.h"
#include "rlpp/train/offpolicy/td3.h"

namespace {

using namespace rlpp::train::offpolicy;

constexpr int64_t kObs = 11, kAct = 3, kBatch = 256, kHiddenWidth = 256;
const std::vector<int64_t> kHidden{kHiddenWidth, kHiddenWidth};
constexpr double kTau = 0.005;

int bench_threads() {
  const char* v = std::getenv("RLPP_BENCH_THREADS");
  return v && *v ? std::max(1, std::atoi(v)) : 1;
}

torch::Tensor normals(std::mt19937& gen, std::vector<int64_t> shape) {
  std::normal_distribution<float> n(0.0f, 1.0f);
  torch::Tensor t = torch::empty(shape, torch::kFloat32);
  for (int64_t i = 0; i < t.numel(); ++i) t.data_ptr<float>()[i] = n(gen);
  return t;
}

struct Batch {
  torch::Tensor obs, actions, returns, next_obs, discount, weights;  // (B, 11), (B, 3), (B), (B, 11), (B), (B)
  std::vector<torch::Tensor> noise;                                   // (B, 3) each: a pool drawn from in turn
  explicit Batch(std::mt19937& gen) {
    obs = normals(gen, {kBatch, kObs});
    next_obs = normals(gen, {kBatch, kObs});
    actions = torch::tanh(normals(gen, {kBatch, kAct}));
    returns = normals(gen, {kBatch});
    discount = torch::full({kBatch}, 0.99f);
    weights = torch::ones({kBatch});
    for (int i = 0; i < 8; ++i) noise.push_back(normals(gen, {kBatch, kAct}));
  }
};

// sac.cpp's LibTorch train_step (autotune, policy_frequency 2, target_network_frequency 1).
void BM_SacUpdateLibTorch(benchmark::State& state) {
  torch::set_num_threads(bench_threads());
  torch::manual_seed(1);
  std::mt19937 gen(2);
  const Batch b(gen);
  GaussianActor actor(kObs, kAct, kHidden);
  ContinuousQ qf1(kObs, kAct, kHidden), qf2(kObs, kAct, kHidden), qf1_t(kObs, kAct, kHidden), qf2_t(kObs, kAct, kHidden);
  polyak_update(qf1_t->parameters(), qf1->parameters(), 1.0);
  polyak_update(qf2_t->parameters(), qf2->parameters(), 1.0);
  std::vector<torch::Tensor> qp = qf1->parameters();
  for (const auto& p : qf2->parameters()) qp.push_back(p);
  torch::optim::Adam q_opt(qp, torch::optim::AdamOptions(1e-3));
  torch::optim::Adam actor_opt(actor->parameters(), torch::optim::AdamOptions(3e-4));
  torch::Tensor log_alpha = torch::zeros({1}).requires_grad_(true);
  torch::optim::Adam alpha_opt(std::vector<torch::Tensor>{log_alpha}, torch::optim::AdamOptions(1e-3));
  const torch::Tensor scale = torch::ones({kAct}), bias = torch::zeros({kAct});
  double alpha = 1.0;
  size_t next_noise = 0;
  auto noise = [&] { return b.noise[next_noise++ % b.noise.size()]; };
  auto sample = [&](const torch::Tensor& obs) {
    auto [mean, log_std] = actor->forward(obs);
    return squashed_gaussian(mean, log_std, noise(), scale, bias);
  };
  int64_t t = 0;
  for (auto _ : state) {
    for (int half = 0; half < 2; ++half, ++t) {
      torch::Tensor target;
      {
        torch::NoGradGuard no_grad;
        const SquashedSample next = sample(b.next_obs);
        target = sac_critic_target(b.returns, b.discount, qf1_t->forward(b.next_obs, next.action),
                                   qf2_t->forward(b.next_obs, next.action), next.logp, alpha);
      }
      const torch::Tensor q1 = qf1->forward(b.obs, b.actions), q2 = qf2->forward(b.obs, b.actions);
      const torch::Tensor qf_loss = twin_critic_loss(q1, q2, target, b.weights);
      q_opt.zero_grad();
      qf_loss.backward();
      q_opt.step();
      benchmark::DoNotOptimize(qf_loss.item<double>());
      if (t % 2 == 0) {
        for (int k = 0; k < 2; ++k) {
          const SquashedSample pi = sample(b.obs);
          const torch::Tensor actor_loss =
              sac_actor_loss(pi.logp, qf1->forward(b.obs, pi.action), qf2->forward(b.obs, pi.action), alpha);
          actor_opt.zero_grad();
          actor_loss.backward();
          actor_opt.step();
          torch::Tensor logp;
          {
            torch::NoGradGuard no_grad;
            logp = sample(b.obs).logp;
          }
          const torch::Tensor alpha_loss = sac_alpha_loss(log_alpha, logp, -static_cast<double>(kAct));
          alpha_opt.zero_grad();
          alpha_loss.backward();
          alpha_opt.step();
          alpha = log_alpha.detach().exp().item<double>();
        }
      }
      polyak_update(qf1_t->parameters(), qf1->parameters(), kTau);
      polyak_update(qf2_t->parameters(), qf2->parameters(), kTau);
    }
  }
  state.SetItemsProcessed(state.iterations() * 2);  // gradient steps
}
BENCHMARK(BM_SacUpdateLibTorch)->Name("BM_SacUpdate/libtorch")->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);

// The same two steps on FastSac, as sac.cpp's fast_train_step runs them.
void BM_SacUpdateFast(benchmark::State& state) {
  torch::manual_seed(1);
  std::mt19937 gen(2);
  const Batch b(gen);
  GaussianActor actor(kObs, kAct, kHidden);
  ContinuousQ qf1(kObs, kAct, kHidden), qf2(kObs, kAct, kHidden), qf1_t(kObs, kAct, kHidden), qf2_t(kObs, kAct, kHidden);
  polyak_update(qf1_t->parameters(), qf1->parameters(), 1.0);
  polyak_update(qf2_t->parameters(), qf2->parameters(), 1.0);
  FastSacConfig c;
  c.obs_dim = kObs;
  c.act_dim = kAct;
  c.hidden = kHidden;
  c.scale.assign(kAct, 1.0f);
  c.bias.assign(kAct, 0.0f);
  c.threads = bench_threads();
  FastSac fast(c);
  fast.copy_from(actor, qf1, qf2, qf1_t, qf2_t);
  const SacBatchView view{kBatch,
                          b.obs.data_ptr<float>(),
                          b.actions.data_ptr<float>(),
                          b.returns.data_ptr<float>(),
                          b.next_obs.data_ptr<float>(),
                          b.discount.data_ptr<float>(),
                          b.weights.data_ptr<float>()};
  std::vector<float> td(kBatch);
  double alpha = 1.0;
  size_t next_noise = 0;
  auto noise = [&] { return b.noise[next_noise++ % b.noise.size()].data_ptr<float>(); };
  int64_t t = 0;
  for (auto _ : state) {
    for (int half = 0; half < 2; ++half, ++t) {
      const SacCriticStats s = fast.critic_step(view, noise(), alpha, td.data());
      benchmark::DoNotOptimize(s.qf_loss);
      if (t % 2 == 0) {
        for (int k = 0; k < 2; ++k) {
          benchmark::DoNotOptimize(fast.actor_step(view.obs, kBatch, noise(), alpha));
          benchmark::DoNotOptimize(fast.alpha_step(view.obs, kBatch, noise(), -static_cast<double>(kAct)));
          alpha = static_cast<double>(std::exp(fast.log_alpha()));
        }
      }
      fast.polyak(kTau);
    }
  }
  state.SetItemsProcessed(state.iterations() * 2);  // gradient steps
}
BENCHMARK(BM_SacUpdateFast)->Name("BM_SacUpdate/fast")->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);

// Only the matrix products of the same two fast steps, on Eigen: per MLP forward in -> 256 -> 256 ->
// out three products; per backward with weight gradients five (dW for each layer, δ through the two
// upper layers); per input-gradient-only backward three. Two steps = 2 critic steps (actor forward,
// 2 target and 2 online critic forwards, 2 critic backwards) + 2 actor steps (actor forward, 2
// critic forwards, 2 input-gradient critic backwards, actor backward) + 2 temperature steps (actor
// forward). This is the floor of any implementation that does the same float32 math on one core.
void BM_SacGemmBound(benchmark::State& state) {
  using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>;
  const int64_t H = kHiddenWidth, B = kBatch;
  struct Net {
    Mat w1, w2, w3, h1, h2, out, d2, d1, dx, g1, g2, g3;
    Net(int64_t in, int64_t out_w, int64_t h, int64_t b)
        : w1(Mat::Random(h, in)), w2(Mat::Random(h, h)), w3(Mat::Random(out_w, h)), h1(h, b), h2(h, b),
          out(out_w, b), d2(h, b), d1(h, b), dx(in, b), g1(h, in), g2(h, h), g3(out_w, h) {}
    void forward(const Mat& x) {
      h1.noalias() = w1 * x;
      h2.noalias() = w2 * h1;
      out.noalias() = w3 * h2;
    }
    void backward(const Mat& x, const Mat& dout, bool weights) {
      if (weights) g3.noalias() = dout * h2.transpose();
      d2.noalias() = w3.transpose() * dout;
      if (weights) g2.noalias() = d2 * h1.transpose();
      d1.noalias() = w2.transpose() * d2;
      if (weights) {
        g1.noalias() = d1 * x.transpose();
      } else {
        dx.noalias() = w1.transpose() * d1;
      }
    }
  };
  Net actor(kObs, 2 * kAct, H, B), q1(kObs + kAct, 1, H, B), q2(kObs + kAct, 1, H, B);
  const Mat obs = Mat::Random(kObs, B), sa = Mat::Random(kObs + kAct, B), dq = Mat::Random(1, B), da = Mat::Random(2 * kAct, B);
  for (auto _ : state) {
    for (int half = 0; half < 2; ++half) {
      actor.forward(obs);  // critic step: a' ~ π(·|s')
      for (Net* q : {&q1, &q2, &q1, &q2}) q->forward(sa);  // target critics, then online critics
      q1.backward(sa, dq, true);
      q2.backward(sa, dq, true);
      actor.forward(obs);  // actor step (one per gradient step on average)
      q1.forward(sa);
      q2.forward(sa);
      q1.backward(sa, dq, false);
      q2.backward(sa, dq, false);
      actor.backward(obs, da, true);
      actor.forward(obs);  // temperature step
    }
    benchmark::DoNotOptimize(actor.g1.data());
  }
  state.SetItemsProcessed(state.iterations() * 2);  // gradient steps
}
BENCHMARK(BM_SacGemmBound)->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);

// TD3 (CleanRL's defaults: policy_frequency 2, lr 3e-4): two steps per iteration, the actor and the
// three Polyak updates on the even one.
void BM_Td3Update(benchmark::State& state, bool fast_path) {
  torch::set_num_threads(bench_threads());
  torch::manual_seed(1);
  std::mt19937 gen(2);
  const Batch b(gen);
  const torch::Tensor scale = torch::ones({kAct}), bias = torch::zeros({kAct}), low = -scale, high = scale;
  DeterministicActor actor(kObs, kAct, kHidden, scale, bias), actor_t(kObs, kAct, kHidden, scale, bias);
  ContinuousQ qf1(kObs, kAct, kHidden), qf2(kObs, kAct, kHidden), qf1_t(kObs, kAct, kHidden), qf2_t(kObs, kAct, kHidden);
  polyak_update(actor_t->parameters(), actor->parameters(), 1.0);
  polyak_update(qf1_t->parameters(), qf1->parameters(), 1.0);
  polyak_update(qf2_t->parameters(), qf2->parameters(), 1.0);
  std::vector<torch::Tensor> qp = qf1->parameters();
  for (const auto& p : qf2->parameters()) qp.push_back(p);
  torch::optim::Adam q_opt(qp, torch::optim::AdamOptions(3e-4)), actor_opt(actor->parameters(), torch::optim::AdamOptions(3e-4));
  FastTd3Config c;
  c.obs_dim = kObs;
  c.act_dim = kAct;
  c.hidden = kHidden;
  c.scale.assign(kAct, 1.0f);
  c.bias.assign(kAct, 0.0f);
  c.low.assign(kAct, -1.0f);
  c.high.assign(kAct, 1.0f);
  FastTd3 fast(c);
  fast.copy_from(actor, qf1, qf2, actor_t, qf1_t, qf2_t);
  const SacBatchView view{kBatch,
                          b.obs.data_ptr<float>(),
                          b.actions.data_ptr<float>(),
                          b.returns.data_ptr<float>(),
                          b.next_obs.data_ptr<float>(),
                          b.discount.data_ptr<float>(),
                          b.weights.data_ptr<float>()};
  std::vector<float> td(kBatch);
  size_t next_noise = 0;
  int64_t t = 0;
  for (auto _ : state) {
    for (int half = 0; half < 2; ++half, ++t) {
      const torch::Tensor& eps = b.noise[next_noise++ % b.noise.size()];
      if (fast_path) {
        benchmark::DoNotOptimize(fast.critic_step(view, eps.data_ptr<float>(), td.data()).qf_loss);
        if (t % 2 == 0) {
          benchmark::DoNotOptimize(fast.actor_step(view.obs, kBatch));
          fast.polyak(kTau);
        }
        continue;
      }
      torch::Tensor target;
      {
        torch::NoGradGuard no_grad;
        const torch::Tensor next_a = td3_target_action(actor_t->forward(b.next_obs), eps, 0.2, 0.5, scale, low, high);
        target = td3_critic_target(b.returns, b.discount, qf1_t->forward(b.next_obs, next_a), qf2_t->forward(b.next_obs, next_a));
      }
      const torch::Tensor qf_loss =
          twin_critic_loss(qf1->forward(b.obs, b.actions), qf2->forward(b.obs, b.actions), target, b.weights);
      q_opt.zero_grad();
      qf_loss.backward();
      q_opt.step();
      benchmark::DoNotOptimize(qf_loss.item<double>());
      if (t % 2 == 0) {
        const torch::Tensor actor_loss = td3_actor_loss(qf1->forward(b.obs, actor->forward(b.obs)));
        actor_opt.zero_grad();
        actor_loss.backward();
        actor_opt.step();
        polyak_update(actor_t->parameters(), actor->parameters(), kTau);
        polyak_update(qf1_t->parameters(), qf1->parameters(), kTau);
        polyak_update(qf2_t->parameters(), qf2->parameters(), kTau);
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * 2);  // gradient steps
}
BENCHMARK_CAPTURE(BM_Td3Update, libtorch, false)->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Td3Update, fast, true)->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);

}  // namespace
