#include "rlpp/train/lm/model_section.h"

#include <filesystem>

#include "rlpp/core/error.h"
#include "rlpp/core/fs.h"
#include "rlpp/nn/lm/pretrained.h"
#include "rlpp/nn/tokenizer/char_tokenizer.h"

namespace rlpp::train::lm {

namespace fs = std::filesystem;

namespace {
constexpr const char* kHfTokenizerFile = "tokenizer.json";
constexpr const char* kCharTokenizerFile = "rlpp_tokenizer.json";
}  // namespace

void LmModelOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.text("from", from, "Hugging Face checkpoint directory to start from (\"\" = a fresh model)");
  b.choice("model_type", model_type, {"llama", "qwen2"}, "architecture of a fresh model (qwen2: q/k/v biases)");
  b.integer("hidden_size", hidden_size, "model width", Bounds::closed(1, 1 << 16));
  b.integer("num_hidden_layers", num_hidden_layers, "transformer blocks", Bounds::closed(1, 1024));
  b.integer("num_attention_heads", num_attention_heads, "query heads", Bounds::closed(1, 1024));
  b.integer("num_key_value_heads", num_key_value_heads, "key/value heads (grouped-query attention)", Bounds::closed(1, 1024));
  b.integer("intermediate_size", intermediate_size, "SwiGLU hidden width", Bounds::closed(1, 1 << 20));
  b.integer("max_position_embeddings", max_position_embeddings, "longest sequence", Bounds::closed(1, 1 << 24));
  b.num("rope_theta", rope_theta, "RoPE base", Bounds::positive());
  b.num("rms_norm_eps", rms_norm_eps, "RMSNorm epsilon", Bounds::positive());
  b.flag("tie_word_embeddings", tie_word_embeddings, "share the embedding and the LM head");
  b.flag("fast_path", fast_path, "hand-written fp32 CPU kernels for generation and log-probs (small Llama/Qwen2 models)");
}

nn::lm::LmConfig LmModelOptions::fresh_config(const nn::Tokenizer& tok) const {
  nn::lm::LmConfig c;
  c.model_type = model_type;
  c.vocab_size = tok.vocab_size();
  c.hidden_size = hidden_size;
  c.intermediate_size = intermediate_size;
  c.num_hidden_layers = num_hidden_layers;
  c.num_attention_heads = num_attention_heads;
  c.num_key_value_heads = num_key_value_heads;
  c.max_position_embeddings = max_position_embeddings;
  c.rope_theta = rope_theta;
  c.rms_norm_eps = rms_norm_eps;
  c.attention_bias = model_type == "qwen2";
  c.tie_word_embeddings = tie_word_embeddings;
  c.bos_token_id = tok.bos_id;
  c.eos_token_id = tok.eos_id;
  c.pad_token_id = tok.pad_id;
  c.validate("[model]");
  return c;
}

void TokenizerOptions::bind(core::Binder& b) {
  b.text("path", path, "tokenizer.json (byte-level BPE) or an rlpp character tokenizer file; \"\" = characters of the data");
}

std::unique_ptr<nn::Tokenizer> make_tokenizer(const TokenizerOptions& opts, const LmModelOptions& model,
                                              const std::string& alphabet, std::string* source) {
  source->clear();
  if (!opts.path.empty()) {
    *source = opts.path;
    return nn::load_tokenizer(opts.path);
  }
  if (!model.from.empty()) {
    for (const char* name : {kHfTokenizerFile, kCharTokenizerFile}) {
      const fs::path p = fs::path(model.from) / name;
      if (!fs::exists(p)) continue;
      *source = p.string();
      return nn::load_tokenizer(p.string());
    }
    throw core::UserError("model.from = " + model.from + " has no " + kHfTokenizerFile + " or " + kCharTokenizerFile +
                          "; name one with tokenizer.path");
  }
  nn::CharTokenizerSpec spec;
  spec.alphabet = alphabet;
  spec.special_tokens = {"<pad>", "<bos>", "<eos>"};
  spec.pad_token = "<pad>";
  spec.bos_token = "<bos>";
  spec.eos_token = "<eos>";
  return std::make_unique<nn::CharTokenizer>(spec);
}

std::string save_tokenizer(const nn::Tokenizer& tok, const std::string& source, const std::string& dir) {
  core::ensure_output_dir(dir);
  if (const auto* chars = dynamic_cast<const nn::CharTokenizer*>(&tok)) {
    const std::string path = (fs::path(dir) / kCharTokenizerFile).string();
    chars->save(path);
    return path;
  }
  core::require(!source.empty(), "save_tokenizer: a tokenizer without a source file cannot be copied");
  const std::string path = (fs::path(dir) / kHfTokenizerFile).string();
  if (fs::absolute(source) != fs::absolute(path)) core::atomic_write_file(path, core::read_file(source));
  return path;
}

nn::lm::TransformerLm make_model(const LmModelOptions& opts, const nn::Tokenizer& tok) {
  nn::lm::TransformerLm model = opts.from.empty() ? nn::lm::TransformerLm(opts.fresh_config(tok))
                                                  : nn::lm::load_pretrained(opts.from);
  core::require(tok.vocab_size() <= model->config().vocab_size,
                "the tokenizer has " + std::to_string(tok.vocab_size()) + " tokens but the model's vocab_size is " +
                    std::to_string(model->config().vocab_size));
  model->set_fast_path(opts.fast_path);
  return model;
}

}  // namespace rlpp::train::lm
