// The [model] and [tokenizer] sections of an `lm` recipe: a Hugging Face checkpoint directory to
// start from, or the shape of a fresh Llama/Qwen2-architecture model; a tokenizer file, or a
// character tokenizer built over the data's alphabet.
#pragma once
#include <memory>
#include <string>

#include "rlpp/core/config.h"
#include "rlpp/nn/lm/config.h"
#include "rlpp/nn/lm/transformer.h"
#include "rlpp/nn/tokenizer/tokenizer.h"

namespace rlpp::train::lm {

struct LmModelOptions {
  std::string from;                 // directory with config.json + safetensors; "" = fresh model
  std::string model_type = "llama";
  int64_t hidden_size = 128;
  int64_t num_hidden_layers = 4;
  int64_t num_attention_heads = 4;
  int64_t num_key_value_heads = 2;
  int64_t intermediate_size = 352;  // ≈ 8/3 · hidden, a multiple of 32 (SwiGLU convention)
  int64_t max_position_embeddings = 1024;
  double rope_theta = 10000.0;
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = true;
  // Hand-written fp32 CPU kernels for generation and teacher-forced log-probs instead of LibTorch
  // ops (TransformerLm::set_fast_path; fast_decode.h, fast_logprobs.h). A runtime setting, not part
  // of config.json: every copy of the policy a trainer makes carries it.
  bool fast_path = false;

  void bind(core::Binder& b);
  // The config of a fresh model for a tokenizer's vocabulary and special ids.
  nn::lm::LmConfig fresh_config(const nn::Tokenizer& tok) const;
};

struct TokenizerOptions {
  std::string path;  // tokenizer.json or an rlpp character tokenizer file; "" = characters of the data

  void bind(core::Binder& b);
};

// The tokenizer a run uses: opts.path, else the tokenizer saved next to a `from` model
// (from/tokenizer.json or from/rlpp_tokenizer.json), else a character tokenizer over `alphabet`.
// `source` receives the file it was read from ("" for a new character tokenizer).
std::unique_ptr<nn::Tokenizer> make_tokenizer(const TokenizerOptions& opts, const LmModelOptions& model,
                                              const std::string& alphabet, std::string* source);
// Writes the tokenizer into `dir` so that make_tokenizer with model.from = dir finds it: a
// character tokenizer as dir/rlpp_tokenizer.json, any other as a copy of its `source` file
// (dir/tokenizer.json). Returns the path written.
std::string save_tokenizer(const nn::Tokenizer& tok, const std::string& source, const std::string& dir);

// A fresh model (seeded by the caller through torch::manual_seed) or the checkpoint in `from`,
// checked against the tokenizer's vocabulary size.
nn::lm::TransformerLm make_model(const LmModelOptions& opts, const nn::Tokenizer& tok);

}  // namespace rlpp::train::lm
