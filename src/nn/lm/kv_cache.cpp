#include "rlpp/nn/lm/kv_cache.h"

#include "rlpp/core/error.h"

namespace rlpp::nn::lm {

KvCache::KvCache(const LmConfig& cfg, int64_t batch, int64_t max_len_, torch::TensorOptions opts) : max_len(max_len_) {
  core::require(batch > 0 && max_len_ > 0, "KvCache: batch and max_len must be positive, got batch " +
                                               std::to_string(batch) + ", max_len " + std::to_string(max_len_));
  // Keys are stored after RoPE (as Hugging Face caches them), so a slot never needs its position again.
  const std::vector<int64_t> shape{batch, cfg.num_key_value_heads, max_len_, cfg.resolved_head_dim()};
  for (int64_t l = 0; l < cfg.num_hidden_layers; ++l) {
    k.push_back(torch::zeros(shape, opts));
    v.push_back(torch::zeros(shape, opts));
  }
  key_valid = torch::zeros({batch, max_len_}, opts.dtype(torch::kBool));
}

void KvCache::reset() {
  length = 0;
  key_valid.zero_();
}

}  // namespace rlpp::nn::lm
