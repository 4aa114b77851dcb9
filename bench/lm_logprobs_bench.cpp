// Teacher-forced log-probs of a small language model, forward + backward (the LM RL step's main
// cost): token_logprobs through LibTorch against the hand-written fast path (fast_logprobs.h).
//   char   : vocab 20, hidden 128, 3 layers, 4 heads / 2 kv heads, SwiGLU 352, tied; 256 x 24 tokens
//   bigger : vocab 20, hidden 256, 4 layers, 8 heads / 4 kv heads, SwiGLU 704, tied; 256 x 24 tokens
// Each iteration: logp, entropy = token_logprobs(...); (a·logp + c·entropy).sum().backward().
// Counter GFLOPs: 3 x the forward's matmul FLOPs (projections, attention scores and values over the
// full L x L, LM head) per second. Threads: RLPP_BENCH_THREADS (default 1).
//   build/bin/rlpp_bench --benchmark_filter='LmLogprobs'
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>

#include "rlpp/nn/lm/transformer.h"

namespace {

using rlpp::nn::lm::LmConfig;
using rlpp::nn::lm::TransformerLm;

int bench_threads() {
  const char* v = std::getenv("RLPP_BENCH_THREADS");
  return v && *v ? std::max(1, std::atoi(v)) : 1;
}

LmConfig char_config(int64_t hidden, int64_t layers, int64_t heads, int64_t kv_heads, int64_t intermediate) {
  LmConfig c;
  c.vocab_size = 20;
  c.hidden_size = hidden;
  c.intermediate_size = intermediate;
  c.num_hidden_layers = layers;
  c.num_attention_heads = heads;
  c.num_key_value_heads = kv_heads;
  c.max_position_embeddings = 128;
  c.tie_word_embeddings = true;
  return c;
}

// 3 x forward matmul FLOPs of one call over B x L tokens.
double fwd_bwd_flops(const LmConfig& c, int64_t B, int64_t L) {
  const double N = static_cast<double>(B * L), H = c.hidden_size, I = c.intermediate_size;
  const double d = c.resolved_head_dim(), qd = c.num_attention_heads * d, kd = c.num_key_value_heads * d;
  const double per_layer = 2 * N * (H * (2 * qd + 2 * kd) + 3 * H * I) +
                           4.0 * B * c.num_attention_heads * static_cast<double>(L) * L * d;
  return 3.0 * (c.num_hidden_layers * per_layer + 2 * N * H * c.vocab_size);
}

void BM_LmLogprobs(benchmark::State& state, LmConfig cfg, bool fast) {
  torch::set_num_threads(bench_threads());
  torch::manual_seed(0);
  TransformerLm model(cfg);
  model->set_fast_path(fast);
  const int64_t B = state.range(0), L = state.range(1);
  const torch::Tensor tokens = torch::randint(cfg.vocab_size, {B, L}, torch::kInt64);
  torch::Tensor attention = torch::ones({B, L}, torch::kBool);
  attention.slice(0, 0, B / 2).slice(1, 0, L / 4).fill_(false);  // half the rows left-padded
  const torch::Tensor a = torch::randn({B, L}), c = torch::randn({B, L});
  for (auto _ : state) {
    for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();
    const auto out = rlpp::nn::lm::token_logprobs(model, tokens, attention, /*chunk=*/128);
    const torch::Tensor loss = (a * out.logp).sum() + (c * out.entropy).sum();
    loss.backward();
    benchmark::DoNotOptimize(loss.item<float>());
  }
  state.SetItemsProcessed(state.iterations() * B * L);
  state.counters["GFLOPs"] =
      benchmark::Counter(fwd_bwd_flops(cfg, B, L) * 1e-9 * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}

const LmConfig kChar = char_config(128, 3, 4, 2, 352);
const LmConfig kBigger = char_config(256, 4, 8, 4, 704);

BENCHMARK_CAPTURE(BM_LmLogprobs, char_libtorch, kChar, false)->Args({256, 24})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_LmLogprobs, char_fast, kChar, true)->Args({256, 24})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_LmLogprobs, bigger_libtorch, kBigger, false)->Args({256, 24})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_LmLogprobs, bigger_fast, kBigger, true)->Args({256, 24})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
