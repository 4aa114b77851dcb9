#include "rlpp/nn/lm/pretrained.h"

#include <filesystem>
#include <set>

#include "rlpp/core/error.h"
#include "rlpp/core/fs.h"
#include "rlpp/nn/lm/safetensors.h"

namespace rlpp::nn::lm {

namespace {

std::string shape_text(torch::IntArrayRef s) {
  std::string t = "[";
  for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

}  // namespace

void load_weights(TransformerLm& model, const std::map<std::string, torch::Tensor>& tensors, const std::string& where) {
  const auto params = model->hf_named_parameters();
  std::set<std::string> expected;
  for (const auto& [name, p] : params) expected.insert(name);
  for (const auto& [name, t] : tensors) {
    if (expected.count(name)) continue;
    if (name == "lm_head.weight" && model->config().tie_word_embeddings) continue;
    throw core::UserError(where + ": unexpected tensor '" + name + "' (shape " + shape_text(t.sizes()) +
                          ") for a " + model->config().model_type + " model with this config");
  }
  for (const auto& [name, p] : params) {
    auto it = tensors.find(name);
    if (it == tensors.end()) throw core::UserError(where + ": missing tensor '" + name + "' (shape " + shape_text(p.sizes()) + ")");
    if (it->second.sizes() != p.sizes()) {
      throw core::UserError(where + ": tensor '" + name + "' has shape " + shape_text(it->second.sizes()) +
                            ", the model expects " + shape_text(p.sizes()));
    }
    if (!it->second.is_floating_point()) {
      throw core::UserError(where + ": tensor '" + name + "' has non-floating dtype " +
                            std::string(c10::toString(it->second.scalar_type())));
    }
  }
  torch::NoGradGuard no_grad;
  for (const auto& [name, p] : params) p.copy_(tensors.at(name));  // converts dtype and device
}

TransformerLm load_pretrained(const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string config_path = (fs::path(dir) / "config.json").string();
  if (!fs::exists(config_path)) throw core::UserError(dir + ": no config.json (not a model directory)");
  TransformerLm model(LmConfig::load(config_path));
  load_weights(model, read_safetensors_checkpoint(dir), dir);
  return model;
}

void save_pretrained(const std::string& dir, TransformerLm& model, int64_t max_shard_bytes, torch::ScalarType dtype) {
  core::require(dtype == torch::kFloat || dtype == torch::kBFloat16,
                "save_pretrained: dtype must be float32 or bfloat16, got " + std::string(c10::toString(dtype)));
  core::ensure_output_dir(dir);
  write_safetensors_checkpoint(dir, model->hf_named_parameters(), max_shard_bytes, dtype);
  nlohmann::json config = model->config().to_json();
  config["torch_dtype"] = dtype == torch::kBFloat16 ? "bfloat16" : "float32";
  // Written last: a directory whose config.json is present holds a complete checkpoint.
  core::atomic_write_file((std::filesystem::path(dir) / "config.json").string(), config.dump(2) + "\n");
}

}  // namespace rlpp::nn::lm
