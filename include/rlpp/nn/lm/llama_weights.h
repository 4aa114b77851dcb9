// Raw fp32 views of a TransformerLm's parameters, for the hand-written CPU kernels that replace
// LibTorch ops on small models (fast_logprobs.h: teacher-forced log-probs with their backward;
// fast_decode.h: the incremental forward of generation). The same binding serves the gradients:
// tensors of the parameters' shapes, in the order of llama_parameters(), bound by bind_llama().
//
// Shapes (row-major, LibTorch's (out, in) Linear layout): H = hidden_size, V = vocab_size,
// I = intermediate_size, d = head dim, nh / nkv = query / key-value heads. Optional biases
// (Qwen2's q/k/v, attention_bias's o, mlp_bias) are nullptr when the model has none.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "rlpp/nn/lm/config.h"
#include "rlpp/nn/lm/transformer.h"

namespace rlpp::nn::lm {

struct LlamaLayerWeights {
  float* input_norm = nullptr;  // (H)
  float* q = nullptr;           // (nh·d, H)
  float* q_bias = nullptr;      // (nh·d) or nullptr
  float* k = nullptr;           // (nkv·d, H)
  float* k_bias = nullptr;      // (nkv·d) or nullptr
  float* v = nullptr;           // (nkv·d, H)
  float* v_bias = nullptr;      // (nkv·d) or nullptr
  float* o = nullptr;           // (H, nh·d)
  float* o_bias = nullptr;      // (H) or nullptr
  float* post_norm = nullptr;   // (H)
  float* gate = nullptr;        // (I, H)
  float* gate_bias = nullptr;   // (I) or nullptr
  float* up = nullptr;          // (I, H)
  float* up_bias = nullptr;     // (I) or nullptr
  float* down = nullptr;        // (H, I)
  float* down_bias = nullptr;   // (H) or nullptr
};

struct LlamaWeights {
  LmConfig cfg;
  float* embed = nullptr;                 // (V, H)
  std::vector<LlamaLayerWeights> layers;  // (num_hidden_layers)
  float* final_norm = nullptr;            // (H)
  float* lm_head = nullptr;               // (V, H); the same pointer as embed when tied
};

// The model's parameter tensors in a fixed order: embed_tokens; per layer input_layernorm,
// q_proj (weight, bias?), k_proj (weight, bias?), v_proj (weight, bias?), o_proj (weight, bias?),
// post_attention_layernorm, gate_proj (weight, bias?), up_proj (weight, bias?), down_proj (weight,
// bias?); model.norm; lm_head (untied only). "?" = present only when the model has that bias.
std::vector<torch::Tensor> llama_parameters(TransformerLm& model);

// Pointers into `tensors` (llama_parameters' order and shapes; CPU, fp32, contiguous, checked:
// core::UserError otherwise). With tied embeddings lm_head = embed. For gradient tensors made with
// zeros_like of each parameter, the tied head's gradient must be added into the embedding's.
LlamaWeights bind_llama(const LmConfig& cfg, const std::vector<torch::Tensor>& tensors);

// Why the fast kernels cannot run `model` as it is now ("" when they can): parameters not on the
// CPU, not fp32, or a hidden_act other than silu.
std::string fast_path_unsupported(TransformerLm& model);

}  // namespace rlpp::nn::lm
