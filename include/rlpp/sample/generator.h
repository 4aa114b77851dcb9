// Batched generation with a KV cache for any nn::lm::CausalLm.
//
//   prompts (ragged) --repeat G--> (B = P·G) rows, left-padded to the longest prompt (valid = false
//   on pads; positions = cumulative count of real tokens − 1, 0 on pads)
//   prefill: one forward of all prompt tokens (B, L_p)
//   decode:  one token per row per step, (B, 1), until every row has emitted a stop token or
//            max_new_tokens steps ran. Finished rows keep receiving a pad token with valid = false;
//            nothing of theirs is recorded.
//
// The cache is allocated once for L_p + max_new_tokens slots (and reused by the next call of the
// same shape), so every decode step has the same shapes: what CUDA-graph capture needs. Capture
// itself is a hook left for a CUDA build (see decode_step in generator.cpp): LibTorch 1.13 on CPU
// has no usable at::cuda::CUDAGraph, and the only host sync per step is the all-finished check.
//
// A trainer calls:
//   sample::Generator gen(sample::default_chain({"top_p", "temperature"}), gen_opts);
//   gen.set_entropy_stats(objective.entropy_norm_stats(prev.entropy, prev.mask));  // HAPO only
//   sample::Generation out = gen.generate(model, prompts);
//   // out.tokens (B, N), out.mask (B, N), out.logp (B, N) = logp_old at T = 1, out.logp_sample
//   // (B, N) = behaviour log-probs, out.entropy (B, N), out.group_id (B)
//
// Partial rollouts (train/lm/async_rollouts.h): set_chunk_hook({C, at}) asks at(j) before token
// j·C of a call (j ≥ 1, only while a row is still generating). at(j) may change the model's weights
// and then returns true: the cache (computed under the old weights) is discarded and the prefix
// (prompt + the tokens so far) re-encoded under the new ones in one forward, in place of that step's
// decode; the sampler's random stream is untouched, so every token keeps the log-probs of the
// weights it was sampled under.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "rlpp/algo/objectives/hapo.h"
#include "rlpp/core/config.h"
#include "rlpp/nn/lm/causal_lm.h"
#include "rlpp/nn/lm/kv_cache.h"
#include "rlpp/sample/sampler_chain.h"

namespace rlpp::sample {

struct GenerationOptions {
  int64_t max_new_tokens = 256;
  int64_t num_return_sequences = 1;  // G samples per prompt (GRPO-style groups)
  std::vector<int64_t> stop_tokens;  // ends a row; the stop token itself is part of the response
  bool stop_at_eos = true;           // also stop at the model's eos_token_id (when it has one)
  int64_t pad_token = -1;            // fed to pads and finished rows; -1: pad_token_id, else eos, else 0
  int64_t seed = 0;                  // the generator's RNG seed (a Generator advances it call to call)

  void bind(core::Binder& b) {
    b.integer("max_new_tokens", max_new_tokens, "most tokens generated per response", core::Bounds::at_least(1));
    b.integer("num_return_sequences", num_return_sequences, "samples per prompt (group size)",
              core::Bounds::at_least(1));
    b.integers("stop_tokens", stop_tokens, "token ids that end a response (kept in it)", core::Bounds::at_least(0));
    b.flag("stop_at_eos", stop_at_eos, "also stop at the model's eos_token_id");
    b.integer("pad_token", pad_token, "pad token id; -1: the model's pad, else eos, else 0", core::Bounds::at_least(-1));
    b.integer("seed", seed, "sampling seed", core::Bounds::at_least(0));
  }
};

enum class FinishReason : int8_t { kStop = 0, kLength = 1 };
const char* to_string(FinishReason r);

// B = number of prompts · num_return_sequences, rows of prompt i are i·G … i·G + G − 1.
// N = the longest response (≤ max_new_tokens). Entries past a row's length are pad / 0 / false.
struct Generation {
  torch::Tensor tokens;        // (B, N) int64 response tokens (the stop token included)
  torch::Tensor mask;          // (B, N) bool: a generated token
  torch::Tensor lengths;       // (B) int64 = mask.sum(1)
  std::vector<FinishReason> finish_reason;  // (B)
  torch::Tensor logp;          // (B, N) fp32 log pi(token) at temperature 1 (the raw policy)
  torch::Tensor logp_sample;   // (B, N) fp32 log q(token), q the distribution sampled from
  torch::Tensor entropy;       // (B, N) fp32 entropy of pi (temperature 1) at each step
  torch::Tensor prompt_tokens;  // (B, L_p) int64, left-padded with the pad token
  torch::Tensor prompt_mask;    // (B, L_p) bool: a real prompt token
  torch::Tensor group_id;       // (B) int64: index of the prompt the row answers
  int64_t pad_token = 0;

  // Throughput counters.
  int64_t tokens_generated = 0;  // = lengths.sum()
  int64_t prompt_tokens_total = 0;  // real prompt tokens prefilled
  int64_t forward_calls = 0;     // 1 prefill + decode steps (+ re-encodes)
  int64_t reencodes = 0;         // prefixes re-encoded after the chunk hook changed the weights
  double prefill_seconds = 0;
  double seconds = 0;            // whole call
  double tokens_per_second() const { return seconds > 0 ? tokens_generated / seconds : 0.0; }
};

// Called before token j·every of a generate call (j ≥ 1); returns true when it changed the model's
// weights (every = 0: never called).
struct ChunkHook {
  int64_t every = 0;
  std::function<bool(int64_t chunk)> at;
};

class Generator {
 public:
  Generator(SamplerChain chain, GenerationOptions opts);

  // Generates for every prompt (non-empty token-id lists) num_return_sequences responses.
  // temperature: optional (num prompts) fp32 per-prompt temperature replacing the chain's
  // temperature option (SampleContext::temperature), repeated over each group.
  // Runs under torch::NoGradGuard (not InferenceMode: the returned tensors feed training, where
  // inference tensors may not be saved for backward).
  Generation generate(nn::lm::CausalLm& model, const std::vector<std::vector<int64_t>>& prompts,
                      const torch::Tensor& temperature = {});

  // HAPO's entropy statistics for hapo_temperature (none: ĥ = 0).
  void set_entropy_stats(std::optional<algo::EntropyNormStats> stats) { stats_ = std::move(stats); }
  void reseed(uint64_t seed);  // restarts the random stream: the next call draws as a fresh Generator
  // dtype of the KV cache (default fp32; match the model's compute dtype, e.g. torch::kBFloat16).
  void set_cache_dtype(torch::Dtype dtype) { cache_dtype_ = dtype; }
  // Partial rollouts: the hook asked at chunk boundaries (see the top of this file); {} = none.
  void set_chunk_hook(ChunkHook hook) { hook_ = std::move(hook); }

  const SamplerChain& chain() const { return chain_; }
  const GenerationOptions& options() const { return opts_; }

 private:
  SamplerChain chain_;
  GenerationOptions opts_;
  std::optional<algo::EntropyNormStats> stats_;
  uint64_t seed_;
  std::optional<at::Generator> rng_;  // created on the model's device at the first call
  torch::Dtype cache_dtype_ = torch::kFloat;
  nn::lm::KvCache cache_;  // allocated once per (B, L_p + max_new_tokens), reset between calls
  ChunkHook hook_;
};

// Reads the GenerationOptions from `[section]` and the sampler chain from the array of tables
// `[[list]]`, one table per sampler in the order they apply, each `name = "…"` plus that sampler's
// options (rlpp list samplers); no `[[list]]`: one temperature sampler at T = 1. Unknown keys are
// errors naming the file and line; the earlier spelling (`samplers = [...]` and the samplers'
// options flat in `[section]`) is refused with the new one. With `resolved`, resolved[section] and
// resolved[list] get every option with its value.
struct SamplingRecipe {
  std::vector<std::string> samplers;  // the chain's names, in order
  SamplerChain chain;
  GenerationOptions generation;
};
SamplingRecipe read_sampling(const core::Recipe& recipe, const std::string& section = "sample",
                             toml::table* resolved = nullptr, const std::string& list = "samplers");

}  // namespace rlpp::sample
