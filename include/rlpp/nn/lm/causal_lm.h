// What the generation engine needs from a language model: an incremental forward over a KV cache.
// TransformerLm implements it; tests may implement it with small exactly-known models.
#pragma once
#include <torch/torch.h>

#include "rlpp/nn/lm/config.h"
#include "rlpp/nn/lm/kv_cache.h"

namespace rlpp::nn::lm {

class CausalLm {
 public:
  virtual ~CausalLm() = default;
  // Appends T tokens per row to `cache` (slots [cache.length, cache.length + T)) and returns the
  // next-token logits (B, T, V) in fp32. tokens (B, T) int64; positions (B, T) int64; valid (B, T)
  // bool (false: left padding, never attended to). cache.length grows by T.
  virtual torch::Tensor forward_cached(const torch::Tensor& tokens, const torch::Tensor& positions,
                                       const torch::Tensor& valid, KvCache& cache) = 0;
  virtual const LmConfig& lm_config() const = 0;
  virtual torch::Device lm_device() const = 0;
};

}  // namespace rlpp::nn::lm
