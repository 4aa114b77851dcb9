// A sampler chain: samplers applied in order to the next-token logits, then one draw from the final
// distribution with a seeded generator. Besides the token it returns what RL needs per token: the
// log-probability under the distribution actually sampled from (after every sampler: the behaviour
// policy of off-policy corrections) and the log-probability and entropy of the raw policy at
// temperature 1 (before any sampler).
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/sample/sampler.h"

namespace rlpp::sample {

struct SampleResult {
  torch::Tensor tokens;       // (B) int64
  torch::Tensor logp_sample;  // (B) fp32 log q(token), q = softmax(chain(logits))
  torch::Tensor logp;         // (B) fp32 log pi(token), pi = softmax(logits) (T = 1)
  torch::Tensor entropy;      // (B) fp32 H(pi)
};

// A generator for `device` seeded with `seed` (CPU: a fresh Mersenne twister; other devices: a
// copy of the device's default generator, reseeded), independent of the global generators.
at::Generator make_generator(torch::Device device, uint64_t seed);

// One draw per row from softmax(logits) by the exponential race: argmax_i p_i / E_i with
// E_i ~ Exp(1) (equivalent to Gumbel-max). Static shapes and no host sync, unlike multinomial.
// Tokens with logit -inf are never drawn. Reproducible for a given generator state.
torch::Tensor draw(const torch::Tensor& logits,  // (B, V) fp32
                   at::Generator& generator);    // returns (B) int64

class SamplerChain {
 public:
  SamplerChain() = default;  // no samplers: draws from the raw policy

  void add(std::string name, std::shared_ptr<const Sampler> sampler);
  const std::vector<std::string>& names() const { return names_; }
  size_t size() const { return samplers_.size(); }

  // The final logits (B, V) fp32 (removed tokens -inf) of the raw logits (B, V).
  torch::Tensor process(const torch::Tensor& logits, const SampleContext& ctx = {}) const;
  // process + draw + the log-probs and entropy above. logits (B, V) (any float dtype; computed in
  // fp32); every row must have at least one finite logit.
  SampleResult sample(const torch::Tensor& logits, at::Generator& generator, const SampleContext& ctx = {}) const;

 private:
  std::vector<std::string> names_;
  std::vector<std::shared_ptr<const Sampler>> samplers_;
};

// A chain of registered samplers, each binding its options into `b` (flat keys, samplers.h).
SamplerChain build_chain(const std::vector<std::string>& names, core::Binder& b);
// Paper/llama.cpp defaults.
SamplerChain default_chain(const std::vector<std::string>& names);
// One temperature sampler at `temperature` (>= 0; 0 = greedy).
SamplerChain temperature_chain(double temperature);

}  // namespace rlpp::sample
