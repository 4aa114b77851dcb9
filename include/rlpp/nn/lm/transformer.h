// Decoder-only transformer with the Llama / Qwen2 architecture: token embedding, N blocks of
// (RMSNorm -> grouped-query self-attention with RoPE -> residual, RMSNorm -> SwiGLU MLP ->
// residual), final RMSNorm, LM head (optionally tied to the embedding). Parameter names follow
// Hugging Face exactly (model.layers.0.self_attn.q_proj.weight, lm_head.weight, ...), so
// safetensors files map one to one.
#pragma once
#include <torch/torch.h>

#include "rlpp/nn/lm/causal_lm.h"
#include "rlpp/nn/lm/config.h"
#include "rlpp/nn/lm/kv_cache.h"
#include "rlpp/nn/lm/rope.h"

namespace rlpp::nn::lm {

namespace detail {
class DecoderImpl;  // "model": embed_tokens, layers, norm (src/nn/lm/transformer.cpp)
}  // namespace detail

// Construction initialises like Hugging Face (weights ~ N(0, initializer_range), norms 1, biases
// 0) from torch's global generator: call torch::manual_seed first for reproducibility. Parameters
// are fp32 ("master weights"); move the module with ->to(device). On CUDA every forward runs under
// bf16 autocast (matmuls in bf16, RMSNorm/softmax/RoPE in fp32); on CPU everything is fp32.
class TransformerLmImpl : public torch::nn::Module, public CausalLm {
 public:
  explicit TransformerLmImpl(const LmConfig& cfg);

  // Full (teacher-forced) forward without a cache.
  //   tokens     (B, T) int64
  //   attention  (B, T) bool or undefined: false marks padding (keys never attended to, query rows
  //              still computed); positions are then the cumulative count of real tokens - 1
  // Returns the final normed hidden states (B, T, H).
  torch::Tensor hidden_states(const torch::Tensor& tokens, const torch::Tensor& attention = {});

  // Incremental forward: appends T new tokens per row to `cache` (writing slots
  // [cache.length, cache.length + T)) and attends causally to everything valid in the cache.
  //   tokens (B, T) int64; positions (B, T) int64 (RoPE positions); valid (B, T) bool (false: pad)
  // Returns hidden states (B, T, H); cache.length grows by T. The cache buffers never change shape;
  // attention reads the filled slots [0, length + T) only (a slice, so its shape grows by step).
  // Create the cache in the same grad mode (e.g. c10::InferenceMode) as the calls that fill it, with
  // the model's compute dtype (fp32 on CPU; bf16 saves memory under CUDA autocast).
  torch::Tensor hidden_states_cached(const torch::Tensor& tokens, const torch::Tensor& positions,
                                     const torch::Tensor& valid, KvCache& cache);

  // hidden (.., H) -> logits (.., V), fp32.
  torch::Tensor logits(const torch::Tensor& hidden);

  // Convenience: logits (B, T, V) of the full forward.
  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& attention = {});

  const LmConfig& config() const { return cfg_; }

  // Hand-written CPU fp32 kernels instead of LibTorch ops for token_logprobs (fast_logprobs.h) and
  // forward_cached (fast_decode.h); equal to the LibTorch path up to float rounding, not bit for bit.
  // Off by default; the flag is copied with the module (clone()). Throws core::UserError when on
  // and fast_path_unsupported(model) says why the kernels cannot run it.
  void set_fast_path(bool on) { fast_path_ = on; }
  bool fast_path() const { return fast_path_; }

  // CausalLm: logits(hidden_states_cached(...)).
  torch::Tensor forward_cached(const torch::Tensor& tokens, const torch::Tensor& positions,
                               const torch::Tensor& valid, KvCache& cache) override;
  const LmConfig& lm_config() const override { return cfg_; }
  torch::Device lm_device() const override;

  // Hugging Face name -> parameter, including lm_head.weight only when untied.
  std::vector<std::pair<std::string, torch::Tensor>> hf_named_parameters() const;

  // The (V, H) output projection: lm_head.weight, or model.embed_tokens.weight when tied.
  torch::Tensor lm_head_weight() const;

 private:
  // Shared by both paths. allowed (B, 1, T, S) bool: query t may attend to key s.
  torch::Tensor run_layers(const torch::Tensor& tokens, const torch::Tensor& positions,
                           const torch::Tensor& allowed, KvCache* cache);

  LmConfig cfg_;
  std::shared_ptr<detail::DecoderImpl> model_;
  torch::nn::Linear lm_head_{nullptr};  // untied only
  RopeFrequencies rope_;                // fixed frequencies (dynamic scaling recomputes them per call)
  bool fast_path_ = false;              // see set_fast_path
  // Submodules are registered so that named_parameters() gives Hugging Face names
  // ("model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight", "model.norm.weight",
  // "lm_head.weight"); the layout of the private members is the implementation's choice.
};
TORCH_MODULE(TransformerLm);

// Log-probabilities and entropies of the given sequences under the model (teacher forcing),
// computed `chunk` positions at a time so the (B, L, V) fp32 logits are never materialised whole.
//   tokens (B, L) int64, attention (B, L) bool or undefined
// Returns logp (B, L) with logp[:, t] = log pi(tokens[:, t] | tokens[:, <t]) (logp[:, 0] = 0) and
// entropy (B, L) of the predictive distribution at t (entropy[:, 0] = 0). Differentiable.
struct TokenLogProbs {
  torch::Tensor logp;     // (B, L)
  torch::Tensor entropy;  // (B, L)
};
TokenLogProbs token_logprobs(TransformerLm& model, const torch::Tensor& tokens,
                             const torch::Tensor& attention = {}, int64_t chunk = 256,
                             double temperature = 1.0);

}  // namespace rlpp::nn::lm
