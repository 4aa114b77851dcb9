#include "rlpp/nn/lm/transformer.h"

#include <torch/version.h>

#include <cmath>
#include <limits>

#include "nn/lm/autocast_scope.h"
#include "rlpp/core/error.h"
#include "rlpp/nn/lm/fast_decode.h"
#include "rlpp/nn/lm/llama_weights.h"

namespace rlpp::nn::lm {

namespace detail {

// RMSNorm (arXiv:1910.07467), in fp32 whatever the input dtype, as Hugging Face computes it:
//   y = weight * (x / sqrt(mean(x^2) + eps))
class RmsNormImpl : public torch::nn::Module {
 public:
  RmsNormImpl(int64_t dim, double eps) : eps_(eps) { weight = register_parameter("weight", torch::ones({dim})); }

  // x (.., H) -> (.., H)
  torch::Tensor forward(const torch::Tensor& x) {
    const torch::Tensor h = x.to(torch::kFloat);
    const torch::Tensor normed = h * torch::rsqrt(h.pow(2).mean(-1, /*keepdim=*/true) + eps_);
    return weight * normed.to(x.scalar_type());
  }

  torch::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(RmsNorm);

// softmax(q k^T / sqrt(d) masked) v with grouped-query attention: query head h reads key/value
// head h / rep (rep = nh / nkv), as Hugging Face's repeat_kv arranges them. Instead of repeating
// the keys and values (a copy of the whole cache per step), the rep query heads of a group are
// stacked along the query axis: q (B, nkv, rep * T, d) against k, v (B, nkv, S, d).
//   q (B, nh, T, d); k, v (B, nkv, S, d); allowed (B, 1, T, S) bool -> (B, nh, T, d)
torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k_in, const torch::Tensor& v_in,
                     const torch::Tensor& allowed) {
  const int64_t B = q.size(0), nh = q.size(1), T = q.size(2), d = q.size(3);
  const int64_t nkv = k_in.size(1), S = k_in.size(2), rep = nh / nkv;
  const torch::Tensor k = k_in.to(q.scalar_type());
  const torch::Tensor v = v_in.to(q.scalar_type());
  const torch::Tensor qg = q.reshape({B, nkv, rep * T, d});  // (B, nkv, rep*T, d)
#if TORCH_VERSION_MAJOR >= 2
  // A query with no allowed key (a left-pad position) would come out NaN; let it attend everywhere
  // instead (its output is never used), as Hugging Face does before calling SDPA.
  const torch::Tensor open = allowed.logical_or(allowed.any(-1, /*keepdim=*/true).logical_not());  // (B, 1, T, S)
  const torch::Tensor mask = open.unsqueeze(2).expand({B, 1, rep, T, S}).reshape({B, 1, rep * T, S});
  return at::scaled_dot_product_attention(qg, k, v, mask).reshape({B, nh, T, d});
#else
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  torch::Tensor scores = torch::matmul(qg, k.transpose(-2, -1)).to(torch::kFloat) * scale;  // (B, nkv, rep*T, S)
  // The lowest finite value rather than -inf: a fully masked row becomes uniform, not NaN (and its
  // gradient stays finite).
  scores = scores.view({B, nkv, rep, T, S}).masked_fill(allowed.logical_not().unsqueeze(2),
                                                        std::numeric_limits<float>::lowest());
  const torch::Tensor p = torch::softmax(scores, -1).to(v.scalar_type()).view({B, nkv, rep * T, S});
  return torch::matmul(p, v).reshape({B, nh, T, d});
#endif
}

class AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(const LmConfig& c)
      : heads_(c.num_attention_heads), kv_heads_(c.num_key_value_heads), head_dim_(c.resolved_head_dim()) {
    using torch::nn::LinearOptions;
    const bool qkv_bias = c.attention_bias;
    const bool o_bias = c.attention_bias && c.model_type != "qwen2";
    q_proj = register_module("q_proj", torch::nn::Linear(LinearOptions(c.hidden_size, heads_ * head_dim_).bias(qkv_bias)));
    k_proj = register_module("k_proj", torch::nn::Linear(LinearOptions(c.hidden_size, kv_heads_ * head_dim_).bias(qkv_bias)));
    v_proj = register_module("v_proj", torch::nn::Linear(LinearOptions(c.hidden_size, kv_heads_ * head_dim_).bias(qkv_bias)));
    o_proj = register_module("o_proj", torch::nn::Linear(LinearOptions(heads_ * head_dim_, c.hidden_size).bias(o_bias)));
  }

  // x (B, T, H); cos/sin (B, T, d); allowed (B, 1, T, S). With a cache, the new keys/values go to
  // slots [cache->length, cache->length + T) of `layer` and attention reads slots [0, S).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& allowed, KvCache* cache, int64_t layer) {
    const int64_t B = x.size(0), T = x.size(1);
    torch::Tensor q = q_proj->forward(x).view({B, T, heads_, head_dim_}).transpose(1, 2);     // (B, nh, T, d)
    torch::Tensor k = k_proj->forward(x).view({B, T, kv_heads_, head_dim_}).transpose(1, 2);  // (B, nkv, T, d)
    torch::Tensor v = v_proj->forward(x).view({B, T, kv_heads_, head_dim_}).transpose(1, 2);  // (B, nkv, T, d)
    q = apply_rope(q, cos, sin);
    k = apply_rope(k, cos, sin);
    if (cache != nullptr) {
      const int64_t start = cache->length;
      cache->k[layer].slice(2, start, start + T).copy_(k);
      cache->v[layer].slice(2, start, start + T).copy_(v);
      k = cache->k[layer].slice(2, 0, start + T);  // (B, nkv, S, d)
      v = cache->v[layer].slice(2, 0, start + T);
    }
    const torch::Tensor out = attend(q, k, v, allowed);                                       // (B, nh, T, d)
    return o_proj->forward(out.transpose(1, 2).reshape({B, T, heads_ * head_dim_}));          // (B, T, H)
  }

  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};

 private:
  int64_t heads_, kv_heads_, head_dim_;
};
TORCH_MODULE(Attention);

// SwiGLU (arXiv:2002.05202): down(silu(gate(x)) * up(x)).
class MlpImpl : public torch::nn::Module {
 public:
  explicit MlpImpl(const LmConfig& c) {
    using torch::nn::LinearOptions;
    gate_proj = register_module("gate_proj", torch::nn::Linear(LinearOptions(c.hidden_size, c.intermediate_size).bias(c.mlp_bias)));
    up_proj = register_module("up_proj", torch::nn::Linear(LinearOptions(c.hidden_size, c.intermediate_size).bias(c.mlp_bias)));
    down_proj = register_module("down_proj", torch::nn::Linear(LinearOptions(c.intermediate_size, c.hidden_size).bias(c.mlp_bias)));
  }
  // x (B, T, H) -> (B, T, H)
  torch::Tensor forward(const torch::Tensor& x) {
    return down_proj->forward(torch::silu(gate_proj->forward(x)) * up_proj->forward(x));
  }
  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(Mlp);

// Pre-norm block: x + attn(norm(x)), then x + mlp(norm(x)).
class DecoderLayerImpl : public torch::nn::Module {
 public:
  explicit DecoderLayerImpl(const LmConfig& c) {
    self_attn = register_module("self_attn", Attention(c));
    mlp = register_module("mlp", Mlp(c));
    input_layernorm = register_module("input_layernorm", RmsNorm(c.hidden_size, c.rms_norm_eps));
    post_attention_layernorm = register_module("post_attention_layernorm", RmsNorm(c.hidden_size, c.rms_norm_eps));
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& allowed, KvCache* cache, int64_t layer) {
    const torch::Tensor h = x + self_attn->forward(input_layernorm->forward(x), cos, sin, allowed, cache, layer);
    return h + mlp->forward(post_attention_layernorm->forward(h));
  }
  Attention self_attn{nullptr};
  Mlp mlp{nullptr};
  RmsNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(DecoderLayer);

class DecoderImpl : public torch::nn::Module {
 public:
  explicit DecoderImpl(const LmConfig& c) {
    embed_tokens = register_module("embed_tokens", torch::nn::Embedding(c.vocab_size, c.hidden_size));
    layers = register_module("layers", torch::nn::ModuleList());
    for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
      decoder_layers.push_back(DecoderLayer(c));
      layers->push_back(decoder_layers.back());
    }
    norm = register_module("norm", RmsNorm(c.hidden_size, c.rms_norm_eps));
  }
  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  std::vector<DecoderLayer> decoder_layers;  // the same modules as `layers`, typed
  RmsNorm norm{nullptr};
};

}  // namespace detail

namespace {

void check_tokens(const torch::Tensor& tokens, const char* where) {
  if (!tokens.defined() || tokens.dim() != 2 || tokens.scalar_type() != torch::kLong) {
    throw core::UserError(std::string(where) + ": tokens must be a (B, T) int64 tensor");
  }
}

void check_mask(const torch::Tensor& m, const torch::Tensor& tokens, const char* what, const char* where) {
  if (m.dim() != 2 || m.size(0) != tokens.size(0) || m.size(1) != tokens.size(1)) {
    throw core::UserError(std::string(where) + ": " + what + " must have the shape of tokens (B, T)");
  }
}

}  // namespace

TransformerLmImpl::TransformerLmImpl(const LmConfig& cfg) : cfg_(cfg) {
  cfg_.validate("TransformerLm config");
  model_ = register_module("model", std::make_shared<detail::DecoderImpl>(cfg_));
  if (!cfg_.tie_word_embeddings) {
    lm_head_ = register_module(
        "lm_head", torch::nn::Linear(torch::nn::LinearOptions(cfg_.hidden_size, cfg_.vocab_size).bias(false)));
  }
  rope_ = rope_frequencies(cfg_, /*seq_len=*/0);
  // Hugging Face's _init_weights: Linear and Embedding weights ~ N(0, initializer_range), biases 0,
  // RMSNorm weights 1 (already), the padding token's embedding row 0.
  torch::NoGradGuard no_grad;
  for (auto& p : named_parameters()) {
    const std::string& name = p.key();
    if (name.size() >= 11 && name.compare(name.size() - 11, 11, "norm.weight") == 0) continue;
    if (name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0) {
      p.value().zero_();
    } else {
      p.value().normal_(0.0, cfg_.initializer_range);
    }
  }
  if (cfg_.pad_token_id >= 0 && cfg_.pad_token_id < cfg_.vocab_size) {
    model_->embed_tokens->weight[cfg_.pad_token_id].zero_();
  }
}

torch::Tensor TransformerLmImpl::lm_head_weight() const {
  return cfg_.tie_word_embeddings ? model_->embed_tokens->weight : lm_head_->weight;
}

torch::Device TransformerLmImpl::lm_device() const { return model_->embed_tokens->weight.device(); }

std::vector<std::pair<std::string, torch::Tensor>> TransformerLmImpl::hf_named_parameters() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : named_parameters()) {
    if (p.value().defined()) out.emplace_back(p.key(), p.value());
  }
  return out;
}

torch::Tensor TransformerLmImpl::run_layers(const torch::Tensor& tokens, const torch::Tensor& positions,
                                            const torch::Tensor& allowed, KvCache* cache) {
  RopeFrequencies dynamic;
  const RopeFrequencies* rope = &rope_;
  if (cfg_.rope_scaling.kind == "dynamic") {  // the frequencies depend on the longest position
    const int64_t seq_len = positions.numel() > 0 ? positions.max().item<int64_t>() + 1 : 0;
    dynamic = rope_frequencies(cfg_, seq_len);
    rope = &dynamic;
  }
  const auto [cos, sin] = rope_cos_sin(positions, rope->inv_freq, rope->attention_factor);  // (B, T, d)
  torch::Tensor x = model_->embed_tokens->forward(tokens);                                 // (B, T, H)
  for (size_t l = 0; l < model_->decoder_layers.size(); ++l) {
    x = model_->decoder_layers[l]->forward(x, cos, sin, allowed, cache, static_cast<int64_t>(l));
  }
  return model_->norm->forward(x);
}

torch::Tensor TransformerLmImpl::hidden_states(const torch::Tensor& tokens, const torch::Tensor& attention) {
  check_tokens(tokens, "TransformerLm::hidden_states");
  const int64_t B = tokens.size(0), T = tokens.size(1);
  const auto dev = tokens.device();
  const torch::Tensor causal = torch::ones({T, T}, torch::TensorOptions().dtype(torch::kBool).device(dev)).tril();
  torch::Tensor positions, allowed;
  if (attention.defined()) {
    check_mask(attention, tokens, "attention", "TransformerLm::hidden_states");
    const torch::Tensor real = attention.to(torch::kBool);                                   // (B, T)
    // Left padding: a row's first real token gets position 0 (Hugging Face's position_ids).
    positions = (real.to(torch::kLong).cumsum(1) - 1).clamp_min(0);                         // (B, T)
    allowed = causal.view({1, 1, T, T}).logical_and(real.view({B, 1, 1, T}));             // (B, 1, T, T)
  } else {
    positions = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(dev)).expand({B, T});
    allowed = causal.view({1, 1, T, T}).expand({B, 1, T, T});
  }
  detail::AutocastScope autocast(lm_device());
  return run_layers(tokens, positions, allowed, nullptr);
}

torch::Tensor TransformerLmImpl::hidden_states_cached(const torch::Tensor& tokens, const torch::Tensor& positions,
                                                      const torch::Tensor& valid, KvCache& cache) {
  const char* where = "TransformerLm::hidden_states_cached";
  check_tokens(tokens, where);
  check_mask(positions, tokens, "positions", where);
  check_mask(valid, tokens, "valid", where);
  const int64_t B = tokens.size(0), T = tokens.size(1);
  if (static_cast<int64_t>(cache.k.size()) != cfg_.num_hidden_layers || !cache.key_valid.defined() || cache.batch() != B) {
    throw core::UserError(std::string(where) + ": the cache was not made for this model and batch size " + std::to_string(B));
  }
  const int64_t start = cache.length, S = start + T;
  if (S > cache.max_len) {
    throw core::UserError(std::string(where) + ": cache overflow: " + std::to_string(start) + " + " + std::to_string(T) +
                          " tokens exceed max_len " + std::to_string(cache.max_len));
  }
  cache.key_valid.slice(1, start, S).copy_(valid);
  // New token i sits in slot start + i: it sees every valid slot up to and including its own.
  const auto lopts = torch::TensorOptions().dtype(torch::kLong).device(tokens.device());
  const torch::Tensor slot = torch::arange(S, lopts);                                     // (S)
  const torch::Tensor query_slot = torch::arange(start, S, lopts);                        // (T)
  const torch::Tensor causal = slot.view({1, S}).le(query_slot.view({T, 1}));             // (T, S)
  const torch::Tensor allowed =
      causal.view({1, 1, T, S}).logical_and(cache.key_valid.slice(1, 0, S).view({B, 1, 1, S}));  // (B, 1, T, S)
  torch::Tensor h;
  {
    detail::AutocastScope autocast(lm_device());
    h = run_layers(tokens, positions, allowed, &cache);
  }
  cache.length = S;
  return h;
}

torch::Tensor TransformerLmImpl::logits(const torch::Tensor& hidden) {
  detail::AutocastScope autocast(lm_device());
  return torch::matmul(hidden, lm_head_weight().t()).to(torch::kFloat);  // (.., V)
}

torch::Tensor TransformerLmImpl::forward(const torch::Tensor& tokens, const torch::Tensor& attention) {
  return logits(hidden_states(tokens, attention));
}

torch::Tensor TransformerLmImpl::forward_cached(const torch::Tensor& tokens, const torch::Tensor& positions,
                                                const torch::Tensor& valid, KvCache& cache) {
  if (fast_path_) {
    TransformerLm self(std::static_pointer_cast<TransformerLmImpl>(shared_from_this()));
    const std::string why = fast_path_unsupported(self);
    if (!why.empty()) throw core::UserError("TransformerLm::forward_cached: the fast path cannot run this model: " + why);
    return fast_forward_cached(bind_llama(cfg_, llama_parameters(self)), rope_, tokens, positions, valid, cache);
  }
  return logits(hidden_states_cached(tokens, positions, valid, cache));
}

}  // namespace rlpp::nn::lm
