// Preallocated key/value cache for batched incremental decoding. Every row of the batch shares one
// write position (`length`); ragged prompts are left-padded and their pad slots are marked invalid
// in `key_valid`, so shapes stay static (what CUDA-graph capture of the decode step needs).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "rlpp/nn/lm/config.h"

namespace rlpp::nn::lm {

struct KvCache {
  // One (B, n_kv_heads, max_len, head_dim) tensor per layer, allocated once.
  std::vector<torch::Tensor> k;
  std::vector<torch::Tensor> v;
  torch::Tensor key_valid;  // (B, max_len) bool: slot holds a real (non-pad) token
  int64_t length = 0;       // slots [0, length) are filled
  int64_t max_len = 0;

  KvCache() = default;
  KvCache(const LmConfig& cfg, int64_t batch, int64_t max_len, torch::TensorOptions opts);

  int64_t batch() const { return key_valid.size(0); }
  void reset();  // length = 0, all slots invalid (no reallocation)
};

}  // namespace rlpp::nn::lm
