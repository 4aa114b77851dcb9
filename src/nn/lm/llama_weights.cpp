#include "rlpp/nn/lm/llama_weights.h"

#include <map>

#include "rlpp/core/error.h"

namespace rlpp::nn::lm {

namespace {

// Hugging Face names of the parameters in llama_parameters' order, with whether each is optional.
std::vector<std::pair<std::string, bool>> ordered_names(const LmConfig& c) {
  std::vector<std::pair<std::string, bool>> names{{"model.embed_tokens.weight", false}};
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    names.push_back({p + "input_layernorm.weight", false});
    for (const char* proj : {"q_proj", "k_proj", "v_proj", "o_proj"}) {
      names.push_back({p + "self_attn." + proj + ".weight", false});
      names.push_back({p + "self_attn." + proj + ".bias", true});
    }
    names.push_back({p + "post_attention_layernorm.weight", false});
    for (const char* proj : {"gate_proj", "up_proj", "down_proj"}) {
      names.push_back({p + "mlp." + proj + ".weight", false});
      names.push_back({p + "mlp." + proj + ".bias", true});
    }
  }
  names.push_back({"model.norm.weight", false});
  if (!c.tie_word_embeddings) names.push_back({"lm_head.weight", false});
  return names;
}

}  // namespace

std::vector<torch::Tensor> llama_parameters(TransformerLm& model) {
  std::map<std::string, torch::Tensor> by_name;
  for (const auto& [name, t] : model->hf_named_parameters()) by_name[name] = t;
  std::vector<torch::Tensor> out;
  for (const auto& [name, optional] : ordered_names(model->config())) {
    const auto it = by_name.find(name);
    if (it == by_name.end()) {
      if (optional) continue;
      throw core::UserError("llama_parameters: the model has no parameter " + name);
    }
    out.push_back(it->second);
  }
  return out;
}

LlamaWeights bind_llama(const LmConfig& cfg, const std::vector<torch::Tensor>& tensors) {
  const int64_t H = cfg.hidden_size, V = cfg.vocab_size, I = cfg.intermediate_size, d = cfg.resolved_head_dim();
  const int64_t nh = cfg.num_attention_heads, nkv = cfg.num_key_value_heads;
  const bool o_bias = cfg.attention_bias && cfg.model_type != "qwen2";
  size_t next = 0;
  auto take = [&](std::vector<int64_t> shape, const char* what) -> float* {
    core::require(next < tensors.size(), std::string("bind_llama: too few tensors (at ") + what + ")");
    const torch::Tensor& t = tensors[next++];
    if (!t.defined() || !t.device().is_cpu() || t.scalar_type() != torch::kFloat || !t.is_contiguous() ||
        t.sizes() != c10::IntArrayRef(shape)) {
      throw core::UserError(std::string("bind_llama: ") + what + " must be a contiguous CPU fp32 tensor of shape " +
                            c10::str(c10::IntArrayRef(shape)) + ", got " +
                            (t.defined() ? c10::str(t.sizes(), " ", t.scalar_type(), " ", t.device()) : "undefined"));
    }
    return t.data_ptr<float>();
  };
  LlamaWeights w;
  w.cfg = cfg;
  w.embed = take({V, H}, "embed_tokens");
  for (int64_t l = 0; l < cfg.num_hidden_layers; ++l) {
    LlamaLayerWeights L;
    L.input_norm = take({H}, "input_layernorm");
    L.q = take({nh * d, H}, "q_proj");
    if (cfg.attention_bias) L.q_bias = take({nh * d}, "q_proj.bias");
    L.k = take({nkv * d, H}, "k_proj");
    if (cfg.attention_bias) L.k_bias = take({nkv * d}, "k_proj.bias");
    L.v = take({nkv * d, H}, "v_proj");
    if (cfg.attention_bias) L.v_bias = take({nkv * d}, "v_proj.bias");
    L.o = take({H, nh * d}, "o_proj");
    if (o_bias) L.o_bias = take({H}, "o_proj.bias");
    L.post_norm = take({H}, "post_attention_layernorm");
    L.gate = take({I, H}, "gate_proj");
    if (cfg.mlp_bias) L.gate_bias = take({I}, "gate_proj.bias");
    L.up = take({I, H}, "up_proj");
    if (cfg.mlp_bias) L.up_bias = take({I}, "up_proj.bias");
    L.down = take({H, I}, "down_proj");
    if (cfg.mlp_bias) L.down_bias = take({H}, "down_proj.bias");
    w.layers.push_back(L);
  }
  w.final_norm = take({H}, "model.norm");
  w.lm_head = cfg.tie_word_embeddings ? w.embed : take({V, H}, "lm_head");
  core::require(next == tensors.size(), "bind_llama: " + std::to_string(tensors.size() - next) + " tensors left over");
  return w;
}

std::string fast_path_unsupported(TransformerLm& model) {
  if (model->config().hidden_act != "silu") return "hidden_act " + model->config().hidden_act + " (only silu)";
  for (const auto& [name, t] : model->hf_named_parameters()) {
    if (!t.device().is_cpu()) return name + " is on " + t.device().str() + " (the fast kernels run on the CPU)";
    if (t.scalar_type() != torch::kFloat) return name + " is " + std::string(c10::toString(t.scalar_type())) + ", not fp32";
  }
  return "";
}

}  // namespace rlpp::nn::lm
