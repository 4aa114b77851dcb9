// Incremental decoding of the small models rlpp trains on CPU, LibTorch path against the fast path
// (fast_decode.h), on the shape of configs/lm_arithmetic.toml's model (3 layers, hidden 128, 4 heads
// / 2 kv heads, SwiGLU 352, a 20-token character vocabulary, tied embeddings), one thread:
//   BM_LmDecodeStep/<fast>/<rows>   one (rows, 1) decode step over a cache of 24 filled slots
//   BM_LmGenerateSmall/<fast>/<rows> a whole Generator::generate: 8-token prompts, 32 new tokens, no
//                                   stop token (every row runs all 32 steps)
//   build/bin/rlpp_bench --benchmark_filter='LmDecode|LmGenerateSmall'
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "rlpp/nn/lm/transformer.h"
#include "rlpp/sample/generator.h"

namespace {

using rlpp::nn::lm::KvCache;
using rlpp::nn::lm::LmConfig;
using rlpp::nn::lm::TransformerLm;

LmConfig arithmetic_config() {
  LmConfig c;
  c.vocab_size = 20;
  c.hidden_size = 128;
  c.intermediate_size = 352;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.max_position_embeddings = 1024;
  c.tie_word_embeddings = true;
  return c;
}

TransformerLm make_model(bool fast) {
  torch::manual_seed(1);
  TransformerLm m(arithmetic_config());
  m->set_fast_path(fast);
  return m;
}

void BM_LmDecodeStep(benchmark::State& state) {
  torch::set_num_threads(1);
  const bool fast = state.range(0) != 0;
  const int64_t B = state.range(1), filled = 24;
  TransformerLm m = make_model(fast);
  torch::NoGradGuard no_grad;
  KvCache cache(m->config(), B, filled + 1, torch::kFloat);
  const torch::Tensor prompt = torch::randint(3, 20, {B, filled}, torch::kLong);
  const torch::Tensor pos = torch::arange(filled, torch::kLong).expand({B, filled}).contiguous();
  m->forward_cached(prompt, pos, torch::ones({B, filled}, torch::kBool), cache);
  const torch::Tensor tok = torch::randint(3, 20, {B, 1}, torch::kLong);
  const torch::Tensor p = torch::full({B, 1}, filled, torch::kLong);
  const torch::Tensor valid = torch::ones({B, 1}, torch::kBool);
  for (auto _ : state) {
    cache.length = filled;
    benchmark::DoNotOptimize(m->forward_cached(tok, p, valid, cache));
  }
  state.counters["rows/s"] = benchmark::Counter(static_cast<double>(B), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_LmDecodeStep)->ArgsProduct({{0, 1}, {64, 256}})->Unit(benchmark::kMicrosecond);

void BM_LmGenerateSmall(benchmark::State& state) {
  torch::set_num_threads(1);
  const bool fast = state.range(0) != 0;
  const int64_t rows = state.range(1), group = 8;
  TransformerLm m = make_model(fast);
  std::vector<std::vector<int64_t>> prompts(static_cast<size_t>(rows / group));
  for (size_t i = 0; i < prompts.size(); ++i) {
    for (int64_t j = 0; j < 8; ++j) prompts[i].push_back(3 + static_cast<int64_t>((i * 7 + j * 3) % 17));
  }
  rlpp::sample::GenerationOptions o;
  o.max_new_tokens = 32;
  o.num_return_sequences = group;
  o.stop_at_eos = false;
  rlpp::sample::Generator gen(rlpp::sample::default_chain({"temperature"}), o);
  int64_t tokens = 0;
  for (auto _ : state) tokens += gen.generate(*m, prompts).tokens_generated;
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_LmGenerateSmall)->ArgsProduct({{0, 1}, {64, 256}})->Unit(benchmark::kMillisecond);

}  // namespace
