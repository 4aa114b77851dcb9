// Double DQN's gradient step and greedy action on CartPole shapes (CleanRL's dqn.py: obs 4,
// 2 actions, 120-84 ReLU MLP, batch 128, MSE loss), on both backends of dqn.cpp:
//   BM_DqnUpdate/libtorch  the module + autograd + torch::optim::Adam (dqn.cpp's LibTorch path)
//   BM_DqnUpdate/fast      FastDqn (flat buffers, hand-derived gradient, fused Adam)
//   BM_DqnGemmBound        only the matrix products of the fast step (Eigen), nothing else
//   BM_DqnAct/libtorch, BM_DqnAct/fast  argmax_a Q(s, a) of one observation (every env step of a
//                          one-env run pays it)
// One BM_DqnUpdate iteration is one gradient step; the target network is copied every 50 steps
// (dqn.py: target_network_frequency 500 env steps / train_frequency 10). items_per_second = steps
// per CPU second of the whole process (a busy machine slows the wall clock but not this). Threads:
// RLPP_BENCH_THREADS (default 1), LibTorch's intra-op threads; the fast path uses one.
//
//   build/bin/rlpp_bench --benchmark_filter='BM_Dqn'
//   bash scripts/dqn-bench.sh (this, the CleanRL-style Python peer and end-to-end CartPole runs side by side)
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>
#include <algorithm>
#include <cstdlib>
#include <random>
#include <vector>

#include "rlpp/train/offpolicy/dqn.h"
#include "rlpp/train/offpolicy/fast_dqn_update.h"
#include "rlpp/train/offpolicy/networks.h"

namespace {

using namespace rlpp::train::offpolicy;

constexpr int64_t kDqnObs = 4, kDqnActions = 2, kDqnBatch = 128, kTargetEvery = 50;
const std::vector<int64_t> kDqnHidden{120, 84};

int dqn_bench_threads() {
  const char* v = std::getenv("RLPP_BENCH_THREADS");
  return v && *v ? std::max(1, std::atoi(v)) : 1;
}

struct DqnBatch {
  torch::Tensor obs, actions, returns, next_obs, discount, weights;  // (B, 4), (B, 1), (B), (B, 4), (B), (B)
  explicit DqnBatch(std::mt19937& gen) {
    std::normal_distribution<float> n(0.0f, 1.0f);
    auto normals = [&](std::vector<int64_t> shape) {
      torch::Tensor t = torch::empty(shape, torch::kFloat32);
      for (int64_t i = 0; i < t.numel(); ++i) t.data_ptr<float>()[i] = n(gen);
      return t;
    };
    obs = normals({kDqnBatch, kDqnObs});
    next_obs = normals({kDqnBatch, kDqnObs});
    actions = (normals({kDqnBatch, 1}) > 0).to(torch::kFloat32);
    returns = torch::ones({kDqnBatch});
    discount = torch::full({kDqnBatch}, 0.99f);
    weights = torch::ones({kDqnBatch});
  }
  DqnBatchView view() const {
    return {kDqnBatch,
            obs.data_ptr<float>(),
            actions.data_ptr<float>(),
            returns.data_ptr<float>(),
            next_obs.data_ptr<float>(),
            discount.data_ptr<float>(),
            weights.data_ptr<float>()};
  }
};

FastDqnConfig dqn_config() {
  FastDqnConfig c;
  c.obs_dim = kDqnObs;
  c.num_actions = kDqnActions;
  c.hidden = kDqnHidden;
  return c;
}

void BM_DqnUpdate(benchmark::State& state, bool fast_path) {
  torch::set_num_threads(dqn_bench_threads());
  torch::manual_seed(1);
  std::mt19937 gen(2);
  const DqnBatch b(gen);
  DiscreteQ q(kDqnObs, kDqnActions, kDqnHidden), q_t(kDqnObs, kDqnActions, kDqnHidden);
  polyak_update(q_t->parameters(), q->parameters(), 1.0);
  torch::optim::Adam opt(q->parameters(), torch::optim::AdamOptions(2.5e-4));
  FastDqn fast(dqn_config());
  fast.copy_from(q, q_t);
  const DqnBatchView view = b.view();
  std::vector<float> td(kDqnBatch);
  int64_t t = 0;
  for (auto _ : state) {
    if (fast_path) {
      benchmark::DoNotOptimize(fast.train_step(view, td.data()).td_loss);
      if (++t % kTargetEvery == 0) fast.polyak(1.0);
      continue;
    }
    // dqn.cpp's LibTorch train_step, with the two .item() reads of its metrics
    torch::Tensor target;
    {
      torch::NoGradGuard no_grad;
      const torch::Tensor next_target = q_t->forward(b.next_obs);
      target = dqn_target(b.returns, b.discount, q->forward(b.next_obs), next_target, /*double_q=*/true);
    }
    const torch::Tensor q_taken = q->forward(b.obs).gather(1, b.actions.to(torch::kInt64)).squeeze(1);
    const torch::Tensor loss = dqn_loss(q_taken, target, b.weights, "mse");
    opt.zero_grad();
    loss.backward();
    opt.step();
    torch::NoGradGuard no_grad;
    benchmark::DoNotOptimize(loss.item<double>());
    benchmark::DoNotOptimize(q_taken.mean().item<double>());
    benchmark::DoNotOptimize((q_taken - target).abs().contiguous().data_ptr<float>());
    if (++t % kTargetEvery == 0) polyak_update(q_t->parameters(), q->parameters(), 1.0);
  }
  state.SetItemsProcessed(state.iterations());  // gradient steps
}
BENCHMARK_CAPTURE(BM_DqnUpdate, libtorch, false)->MeasureProcessCPUTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_DqnUpdate, fast, true)->MeasureProcessCPUTime()->Unit(benchmark::kMicrosecond);

// The matrix products of one fast step, on Eigen: three forwards in -> 120 -> 84 -> out (online
// on s', target on s', online on s; three products each), then the backward with weight
// gradients (dW for the three layers, δ through the two upper ones). The floor of any
// implementation of the same float32 math on one core.
void BM_DqnGemmBound(benchmark::State& state) {
  using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>;
  const int64_t h1 = kDqnHidden[0], h2 = kDqnHidden[1], B = kDqnBatch;
  const Mat w1 = Mat::Random(h1, kDqnObs), w2 = Mat::Random(h2, h1), w3 = Mat::Random(kDqnActions, h2);
  const Mat x = Mat::Random(kDqnObs, B), dout = Mat::Random(kDqnActions, B);
  Mat a1(h1, B), a2(h2, B), out(kDqnActions, B), d2(h2, B), d1(h1, B), g1(h1, kDqnObs), g2(h2, h1), g3(kDqnActions, h2);
  for (auto _ : state) {
    for (int f = 0; f < 3; ++f) {
      a1.noalias() = w1 * x;
      a2.noalias() = w2 * a1;
      out.noalias() = w3 * a2;
    }
    g3.noalias() = dout * a2.transpose();
    d2.noalias() = w3.transpose() * dout;
    g2.noalias() = d2 * a1.transpose();
    d1.noalias() = w2.transpose() * d2;
    g1.noalias() = d1 * x.transpose();
    benchmark::DoNotOptimize(g1.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());  // gradient steps
}
BENCHMARK(BM_DqnGemmBound)->MeasureProcessCPUTime()->Unit(benchmark::kMicrosecond);

void BM_DqnAct(benchmark::State& state, bool fast_path) {
  torch::set_num_threads(dqn_bench_threads());
  torch::manual_seed(1);
  DiscreteQ q(kDqnObs, kDqnActions, kDqnHidden), q_t(kDqnObs, kDqnActions, kDqnHidden);
  FastDqn fast(dqn_config());
  fast.copy_from(q, q_t);
  std::vector<float> obs{0.01f, -0.02f, 0.03f, 0.04f};  // (1, 4)
  int64_t action = 0;
  for (auto _ : state) {
    obs[0] = -obs[0];
    if (fast_path) {
      fast.greedy(obs.data(), 1, &action);
    } else {  // dqn.cpp's act() on the LibTorch backend
      torch::NoGradGuard no_grad;
      const torch::Tensor o = torch::from_blob(obs.data(), {1, kDqnObs}, torch::kFloat32);
      action = q->forward(o).argmax(1).contiguous().data_ptr<int64_t>()[0];
    }
    benchmark::DoNotOptimize(action);
  }
  state.SetItemsProcessed(state.iterations());  // actions
}
BENCHMARK_CAPTURE(BM_DqnAct, libtorch, false)->MeasureProcessCPUTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_DqnAct, fast, true)->MeasureProcessCPUTime()->Unit(benchmark::kMicrosecond);

}  // namespace
