// Token samplers in the style of llama.cpp's sampling chain: small objects applied in order to the
// next-token logits (B, V) fp32, each removing tokens (logit -> -inf) or rescaling the logits. The
// chain that runs them and draws the token is in sampler_chain.h; the built-in samplers and their
// options are in samplers.h.
//
// Adding a sampler = one options struct with `bind`, one class (or pure function) in
// src/sample/samplers/<name>.cpp, one `add` line in sampler_registry() and one test.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "rlpp/algo/component.h"
#include "rlpp/algo/objectives/hapo.h"
#include "rlpp/core/registry.h"

namespace rlpp::sample {

// Per-call inputs that are not options: they change from batch to batch.
struct SampleContext {
  // (B) fp32 per-row temperature. When defined it replaces the `temperature` option of every
  // temperature sampler (temperature, hapo_temperature); 0 in a row means greedy for that row.
  torch::Tensor temperature;
  // Statistics that normalise the entropy for hapo_temperature (fitted by the trainer, e.g. on the
  // previous batch's token entropies with algo::fit_entropy_norm). Null: ĥ = 0, i.e. plain T.
  const algo::EntropyNormStats* entropy_stats = nullptr;
};

class Sampler {
 public:
  virtual ~Sampler() = default;
  // logits (B, V) fp32 -> new logits (B, V) fp32; removed tokens are -inf. A sampler keeps at least
  // one token of every row that had a finite logit, and never revives a -inf token.
  virtual torch::Tensor apply(const torch::Tensor& logits, const SampleContext& ctx) const = 0;
};

using SamplerFactory = algo::Factory<Sampler>;

// temperature, top_k, top_p, min_p, hapo_temperature.
core::Registry<SamplerFactory>& sampler_registry();
std::vector<std::pair<std::string, std::string>> list_samplers();  // (name, summary)

}  // namespace rlpp::sample
