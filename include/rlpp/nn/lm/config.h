// Decoder-only transformer configuration, read from and written to a Hugging Face `config.json`
// (LlamaConfig / Qwen2Config field names), so a checkpoint made by transformers loads here and a
// model saved here loads there.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace rlpp::nn::lm {

// RoPE frequency scaling ("rope_scaling" in config.json). kind "none" | "linear" | "dynamic" |
// "llama3" | "yarn"; the fields a kind does not use are ignored.
struct RopeScaling {
  std::string kind = "none";
  double factor = 1.0;
  double low_freq_factor = 1.0;                 // llama3
  double high_freq_factor = 4.0;                // llama3
  int64_t original_max_position_embeddings = 0; // llama3, yarn, dynamic
  double beta_fast = 32.0;                      // yarn
  double beta_slow = 1.0;                       // yarn
  double attention_factor = 0.0;                // yarn: 0 = derived from factor (and mscale)
  double mscale = 0.0;                          // yarn (DeepSeek style): 0 = unused
  double mscale_all_dim = 0.0;                  // yarn (DeepSeek style): 0 = unused
};

struct LmConfig {
  std::string model_type = "llama";  // "llama" | "qwen2" (written back as HF's model_type)
  int64_t vocab_size = 32000;
  int64_t hidden_size = 4096;
  int64_t intermediate_size = 11008;
  int64_t num_hidden_layers = 32;
  int64_t num_attention_heads = 32;
  int64_t num_key_value_heads = 32;  // < num_attention_heads: grouped-query attention
  int64_t head_dim = 0;              // 0: hidden_size / num_attention_heads
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool attention_bias = false;       // q/k/v biases (Qwen2: always true)
  bool mlp_bias = false;
  bool tie_word_embeddings = false;
  std::string hidden_act = "silu";   // only silu (SwiGLU) is supported
  int64_t bos_token_id = -1;         // -1: absent
  int64_t eos_token_id = -1;
  int64_t pad_token_id = -1;
  double initializer_range = 0.02;   // std of the normal initialisation of weights

  int64_t resolved_head_dim() const { return head_dim > 0 ? head_dim : hidden_size / num_attention_heads; }

  // Parses a config.json object; unknown fields are ignored (HF adds many), wrong types, missing
  // required fields and inconsistent shapes throw core::UserError naming the field and `where`.
  static LmConfig from_json(const nlohmann::json& j, const std::string& where = "config.json");
  static LmConfig load(const std::string& path);
  nlohmann::json to_json() const;  // HF field names, loadable by transformers' AutoConfig
  void save(const std::string& path) const;  // atomic (temp + rename)
  void validate(const std::string& where = "config") const;
};

}  // namespace rlpp::nn::lm
