// Language-model throughput: one training step (teacher-forced forward + backward + AdamW) and
// batched sampling with the KV-cache generation engine.
//   CPU shape  "small": hidden 256, 4 layers, 8 heads / 4 kv heads, vocab 4096 (what CPU runs train)
//   GPU shape  "qwen2.5-0.5b": hidden 896, 24 layers, 14 heads / 2 kv heads, SwiGLU 4864, vocab
//              151936, tied embeddings (random weights); registered only when CUDA is available.
// Counters: tokens/s and the achieved TFLOP/s (6·params·tokens for a training step, 2·params per
// generated token), which divided by the device's bf16 peak gives the fraction of peak.
//   build/bin/rlpp_bench --benchmark_filter='Lm'
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "rlpp/nn/lm/transformer.h"
#include "rlpp/sample/generator.h"

namespace {

using rlpp::nn::lm::LmConfig;
using rlpp::nn::lm::TransformerLm;

LmConfig small_config() {
  LmConfig c;
  c.vocab_size = 4096;
  c.hidden_size = 256;
  c.intermediate_size = 704;
  c.num_hidden_layers = 4;
  c.num_attention_heads = 8;
  c.num_key_value_heads = 4;
  c.max_position_embeddings = 1024;
  c.tie_word_embeddings = true;
  c.eos_token_id = 1;
  return c;
}

LmConfig qwen05b_config() {
  LmConfig c;
  c.model_type = "qwen2";
  c.vocab_size = 151936;
  c.hidden_size = 896;
  c.intermediate_size = 4864;
  c.num_hidden_layers = 24;
  c.num_attention_heads = 14;
  c.num_key_value_heads = 2;
  c.max_position_embeddings = 32768;
  c.rope_theta = 1000000.0;
  c.attention_bias = true;
  c.tie_word_embeddings = true;
  c.eos_token_id = 151643;
  return c;
}

double param_count(TransformerLm& m) {
  double n = 0;
  for (const auto& p : m->parameters()) n += static_cast<double>(p.numel());
  return n;
}

void BM_LmTrainStep(benchmark::State& state, LmConfig cfg, bool cuda) {
  torch::manual_seed(0);
  const torch::Device dev = cuda ? torch::kCUDA : torch::kCPU;
  TransformerLm model(cfg);
  model->to(dev);
  const int64_t B = state.range(0), L = state.range(1);
  const auto tokens = torch::randint(cfg.vocab_size, {B, L}, torch::TensorOptions(torch::kInt64).device(dev));
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-4));
  for (auto _ : state) {
    opt.zero_grad();
    const auto lp = rlpp::nn::lm::token_logprobs(model, tokens, {}, /*chunk=*/cuda ? 64 : 128);
    const torch::Tensor loss = -lp.logp.mean();
    loss.backward();
    opt.step();
    benchmark::DoNotOptimize(loss.item<float>());  // also waits for the device
  }
  const double tokens_per_iter = static_cast<double>(B * L);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * tokens_per_iter));
  state.counters["TFLOPs"] = benchmark::Counter(6.0 * param_count(model) * tokens_per_iter * 1e-12 * state.iterations(),
                                                benchmark::Counter::kIsRate);
}

void BM_LmGenerate(benchmark::State& state, LmConfig cfg, bool cuda) {
  torch::manual_seed(0);
  const torch::Device dev = cuda ? torch::kCUDA : torch::kCPU;
  TransformerLm model(cfg);
  model->to(dev);
  model->eval();
  const int64_t B = state.range(0), P = state.range(1), N = state.range(2);
  std::vector<std::vector<int64_t>> prompts(static_cast<size_t>(B));
  for (auto& p : prompts) {
    for (int64_t t = 0; t < P; ++t) p.push_back(2 + (t * 7919) % (cfg.vocab_size - 2));
  }
  rlpp::sample::GenerationOptions g;
  g.max_new_tokens = N;
  g.stop_at_eos = false;  // every row generates N tokens: a fixed amount of work
  rlpp::sample::Generator gen(rlpp::sample::default_chain({"temperature"}), g);
  if (cuda) gen.set_cache_dtype(torch::kBFloat16);
  int64_t generated = 0;
  for (auto _ : state) {
    const auto out = gen.generate(*model, prompts);
    generated += out.tokens_generated;
  }
  state.SetItemsProcessed(generated);
  state.counters["TFLOPs"] =
      benchmark::Counter(2.0 * param_count(model) * static_cast<double>(generated) * 1e-12, benchmark::Counter::kIsRate);
}

const bool kRegistered = [] {
  benchmark::RegisterBenchmark("LmTrainStep/small", BM_LmTrainStep, small_config(), false)
      ->Args({8, 256})->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("LmGenerate/small", BM_LmGenerate, small_config(), false)
      ->Args({32, 32, 64})->Unit(benchmark::kMillisecond)->UseRealTime();
  if (torch::cuda::is_available()) {
    benchmark::RegisterBenchmark("LmTrainStep/qwen2.5-0.5b", BM_LmTrainStep, qwen05b_config(), true)
        ->Args({64, 320})->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark("LmGenerate/qwen2.5-0.5b", BM_LmGenerate, qwen05b_config(), true)
        ->Args({256, 64, 256})->Unit(benchmark::kMillisecond)->UseRealTime();
  }
  return true;
}();

}  // namespace
