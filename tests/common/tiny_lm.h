// The small language-model pieces tests build: a character tokenizer and a tiny random Llama.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "rlpp/nn/lm/transformer.h"
#include "rlpp/nn/tokenizer/char_tokenizer.h"

namespace rlpp::testing {

// A character tokenizer over `alphabet`; `specials` take the first ids in order, and those named
// <bos>, <eos> and <pad> get those roles.
inline nn::CharTokenizerSpec char_tokenizer_spec(const std::string& alphabet, const std::vector<std::string>& specials) {
  nn::CharTokenizerSpec spec;
  spec.alphabet = alphabet;
  spec.special_tokens = specials;
  for (const std::string& s : specials) {
    if (s == "<bos>") spec.bos_token = s;
    if (s == "<eos>") spec.eos_token = s;
    if (s == "<pad>") spec.pad_token = s;
  }
  return spec;
}

// One layer, 2 attention heads sharing 1 KV head, SwiGLU width 2 · hidden, and large weights
// (initializer_range 0.5): peaked, varied next-token distributions, so log-probs are far from
// uniform and greedy decoding is not degenerate.
inline nn::lm::LmConfig tiny_lm_config(int64_t vocab, int64_t hidden, int64_t max_positions) {
  nn::lm::LmConfig c;
  c.vocab_size = vocab;
  c.hidden_size = hidden;
  c.intermediate_size = 2 * hidden;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.max_position_embeddings = max_positions;
  c.initializer_range = 0.5;
  return c;
}

// Its weights drawn after torch::manual_seed(seed).
inline nn::lm::TransformerLm tiny_lm(const nn::lm::LmConfig& c, uint64_t seed) {
  torch::manual_seed(seed);
  return nn::lm::TransformerLm(c);
}

}  // namespace rlpp::testing
