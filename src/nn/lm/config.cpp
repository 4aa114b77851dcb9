#include "rlpp/nn/lm/config.h"

#include "rlpp/core/error.h"
#include "rlpp/core/fs.h"

namespace rlpp::nn::lm {

namespace {

using nlohmann::json;

// Hugging Face writes `null` for unset optional fields; null and absent mean the same here.
bool present(const json& j, const char* key) { return j.contains(key) && !j.at(key).is_null(); }

[[noreturn]] void type_error(const std::string& where, const std::string& key, const char* want, const json& got) {
  throw core::UserError(where + ": field '" + key + "' must be " + want + ", got " + got.dump());
}

int64_t get_int(const json& j, const char* key, const std::string& where, const std::string& prefix = "") {
  const json& v = j.at(key);
  if (!v.is_number_integer()) type_error(where, prefix + key, "an integer", v);
  return v.get<int64_t>();
}

double get_num(const json& j, const char* key, const std::string& where, const std::string& prefix = "") {
  const json& v = j.at(key);
  if (!v.is_number()) type_error(where, prefix + key, "a number", v);
  return v.get<double>();
}

bool get_bool(const json& j, const char* key, const std::string& where) {
  const json& v = j.at(key);
  if (!v.is_boolean()) type_error(where, key, "true or false", v);
  return v.get<bool>();
}

std::string get_str(const json& j, const char* key, const std::string& where, const std::string& prefix = "") {
  const json& v = j.at(key);
  if (!v.is_string()) type_error(where, prefix + key, "a string", v);
  return v.get<std::string>();
}

// Token ids: an integer, or (eos in recent checkpoints) a list of integers of which the first is
// kept (generation stops on any of them; the engine receives its stop set separately).
int64_t get_token_id(const json& j, const char* key, const std::string& where) {
  const json& v = j.at(key);
  if (v.is_array()) {
    if (v.empty()) return -1;
    if (!v.front().is_number_integer()) type_error(where, key, "an integer or a list of integers", v);
    return v.front().get<int64_t>();
  }
  if (!v.is_number_integer()) type_error(where, key, "an integer or a list of integers", v);
  return v.get<int64_t>();
}

RopeScaling parse_rope_scaling(const json& r, const std::string& where) {
  if (!r.is_object()) type_error(where, "rope_scaling", "an object or null", r);
  const std::string p = "rope_scaling.";
  RopeScaling s;
  // Recent transformers write "rope_type"; older checkpoints write "type".
  if (present(r, "rope_type")) {
    s.kind = get_str(r, "rope_type", where, p);
  } else if (present(r, "type")) {
    s.kind = get_str(r, "type", where, p);
  } else {
    throw core::UserError(where + ": field 'rope_scaling' needs 'rope_type' (or 'type')");
  }
  if (s.kind == "default") s.kind = "none";
  if (present(r, "factor")) s.factor = get_num(r, "factor", where, p);
  if (present(r, "low_freq_factor")) s.low_freq_factor = get_num(r, "low_freq_factor", where, p);
  if (present(r, "high_freq_factor")) s.high_freq_factor = get_num(r, "high_freq_factor", where, p);
  if (present(r, "original_max_position_embeddings")) {
    s.original_max_position_embeddings = get_int(r, "original_max_position_embeddings", where, p);
  }
  if (present(r, "beta_fast")) s.beta_fast = get_num(r, "beta_fast", where, p);
  if (present(r, "beta_slow")) s.beta_slow = get_num(r, "beta_slow", where, p);
  if (present(r, "attention_factor")) s.attention_factor = get_num(r, "attention_factor", where, p);
  if (present(r, "mscale")) s.mscale = get_num(r, "mscale", where, p);
  if (present(r, "mscale_all_dim")) s.mscale_all_dim = get_num(r, "mscale_all_dim", where, p);
  if (s.kind == "llama3") {
    // transformers requires all four llama3 keys; a silent default would change the model.
    for (const char* k : {"factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"}) {
      if (!present(r, k)) throw core::UserError(where + ": rope_scaling of type llama3 needs '" + k + "'");
    }
  } else if (s.kind != "none" && !present(r, "factor")) {
    throw core::UserError(where + ": rope_scaling of type " + s.kind + " needs 'factor'");
  }
  return s;
}

}  // namespace

LmConfig LmConfig::from_json(const json& j, const std::string& where) {
  if (!j.is_object()) throw core::UserError(where + ": a model config must be a JSON object");
  LmConfig c;
  if (present(j, "model_type")) c.model_type = get_str(j, "model_type", where);
  if (c.model_type != "llama" && c.model_type != "qwen2") {
    throw core::UserError(where + ": unsupported model_type '" + c.model_type + "' (supported: llama, qwen2)");
  }
  for (const char* k : {"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads"}) {
    if (!present(j, k)) throw core::UserError(where + ": missing required field '" + std::string(k) + "'");
  }
  c.vocab_size = get_int(j, "vocab_size", where);
  c.hidden_size = get_int(j, "hidden_size", where);
  c.intermediate_size = get_int(j, "intermediate_size", where);
  c.num_hidden_layers = get_int(j, "num_hidden_layers", where);
  c.num_attention_heads = get_int(j, "num_attention_heads", where);
  c.num_key_value_heads = present(j, "num_key_value_heads") ? get_int(j, "num_key_value_heads", where)
                                                            : c.num_attention_heads;
  if (present(j, "head_dim")) c.head_dim = get_int(j, "head_dim", where);
  c.max_position_embeddings = c.model_type == "qwen2" ? 32768 : 2048;  // the HF class defaults
  if (present(j, "max_position_embeddings")) c.max_position_embeddings = get_int(j, "max_position_embeddings", where);
  if (present(j, "rms_norm_eps")) c.rms_norm_eps = get_num(j, "rms_norm_eps", where);
  if (present(j, "rope_theta")) c.rope_theta = get_num(j, "rope_theta", where);
  if (present(j, "rope_scaling")) c.rope_scaling = parse_rope_scaling(j.at("rope_scaling"), where);
  if (present(j, "attention_bias")) c.attention_bias = get_bool(j, "attention_bias", where);
  if (present(j, "mlp_bias")) c.mlp_bias = get_bool(j, "mlp_bias", where);
  if (present(j, "tie_word_embeddings")) c.tie_word_embeddings = get_bool(j, "tie_word_embeddings", where);
  if (present(j, "hidden_act")) c.hidden_act = get_str(j, "hidden_act", where);
  if (present(j, "bos_token_id")) c.bos_token_id = get_token_id(j, "bos_token_id", where);
  if (present(j, "eos_token_id")) c.eos_token_id = get_token_id(j, "eos_token_id", where);
  if (present(j, "pad_token_id")) c.pad_token_id = get_token_id(j, "pad_token_id", where);
  if (present(j, "initializer_range")) c.initializer_range = get_num(j, "initializer_range", where);
  if (c.model_type == "qwen2") {
    // Qwen2Attention: q/k/v always carry biases, o_proj never; Qwen2MLP has no biases.
    c.attention_bias = true;
    c.mlp_bias = false;
    if (present(j, "use_sliding_window") && get_bool(j, "use_sliding_window", where)) {
      throw core::UserError(where + ": use_sliding_window = true is not supported");
    }
  }
  c.validate(where);
  return c;
}

LmConfig LmConfig::load(const std::string& path) {
  const std::string text = core::read_file(path);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    throw core::UserError(path + ": invalid JSON: " + e.what());
  }
  return from_json(j, path);
}

void LmConfig::validate(const std::string& where) const {
  auto positive = [&](int64_t v, const char* name) {
    if (v <= 0) throw core::UserError(where + ": " + name + " must be positive, got " + std::to_string(v));
  };
  positive(vocab_size, "vocab_size");
  positive(hidden_size, "hidden_size");
  positive(intermediate_size, "intermediate_size");
  positive(num_hidden_layers, "num_hidden_layers");
  positive(num_attention_heads, "num_attention_heads");
  positive(num_key_value_heads, "num_key_value_heads");
  positive(max_position_embeddings, "max_position_embeddings");
  if (head_dim < 0) throw core::UserError(where + ": head_dim must be positive, got " + std::to_string(head_dim));
  if (head_dim == 0 && hidden_size % num_attention_heads != 0) {
    throw core::UserError(where + ": hidden_size " + std::to_string(hidden_size) +
                          " is not divisible by num_attention_heads " + std::to_string(num_attention_heads));
  }
  if (num_attention_heads % num_key_value_heads != 0) {
    throw core::UserError(where + ": num_attention_heads " + std::to_string(num_attention_heads) +
                          " is not divisible by num_key_value_heads " + std::to_string(num_key_value_heads));
  }
  if (resolved_head_dim() % 2 != 0) {
    throw core::UserError(where + ": head_dim " + std::to_string(resolved_head_dim()) + " must be even (RoPE)");
  }
  if (!(rms_norm_eps > 0)) throw core::UserError(where + ": rms_norm_eps must be positive");
  if (!(rope_theta > 0)) throw core::UserError(where + ": rope_theta must be positive");
  if (hidden_act != "silu" && hidden_act != "swish") {
    throw core::UserError(where + ": unsupported hidden_act '" + hidden_act + "' (supported: silu)");
  }
  const RopeScaling& r = rope_scaling;
  if (r.kind != "none" && r.kind != "linear" && r.kind != "dynamic" && r.kind != "llama3" && r.kind != "yarn") {
    throw core::UserError(where + ": unsupported rope_scaling type '" + r.kind +
                          "' (supported: linear, dynamic, llama3, yarn)");
  }
  if (r.kind != "none" && !(r.factor > 0)) {
    throw core::UserError(where + ": rope_scaling.factor must be positive, got " + std::to_string(r.factor));
  }
  if (r.kind == "llama3") {
    if (!(r.high_freq_factor > r.low_freq_factor)) {
      throw core::UserError(where + ": rope_scaling.high_freq_factor must exceed low_freq_factor");
    }
    if (r.original_max_position_embeddings <= 0 || !(r.low_freq_factor > 0)) {
      throw core::UserError(where + ": rope_scaling.original_max_position_embeddings and low_freq_factor must be positive");
    }
  }
  if (r.original_max_position_embeddings < 0) {
    throw core::UserError(where + ": rope_scaling.original_max_position_embeddings must be positive");
  }
  if (model_type == "qwen2" && mlp_bias) throw core::UserError(where + ": qwen2 has no MLP biases (mlp_bias = true)");
}

nlohmann::json LmConfig::to_json() const {
  json j;
  j["model_type"] = model_type;
  j["architectures"] = {model_type == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM"};
  j["vocab_size"] = vocab_size;
  j["hidden_size"] = hidden_size;
  j["intermediate_size"] = intermediate_size;
  j["num_hidden_layers"] = num_hidden_layers;
  j["num_attention_heads"] = num_attention_heads;
  j["num_key_value_heads"] = num_key_value_heads;
  j["head_dim"] = resolved_head_dim();
  j["max_position_embeddings"] = max_position_embeddings;
  j["rms_norm_eps"] = rms_norm_eps;
  j["rope_theta"] = rope_theta;
  if (rope_scaling.kind == "none") {
    j["rope_scaling"] = nullptr;
  } else {
    const RopeScaling& r = rope_scaling;
    json s = {{"rope_type", r.kind}, {"factor", r.factor}};
    if (r.original_max_position_embeddings > 0) s["original_max_position_embeddings"] = r.original_max_position_embeddings;
    if (r.kind == "llama3") {
      s["low_freq_factor"] = r.low_freq_factor;
      s["high_freq_factor"] = r.high_freq_factor;
    } else if (r.kind == "yarn") {
      s["beta_fast"] = r.beta_fast;
      s["beta_slow"] = r.beta_slow;
      if (r.attention_factor > 0) s["attention_factor"] = r.attention_factor;
      if (r.mscale > 0) s["mscale"] = r.mscale;
      if (r.mscale_all_dim > 0) s["mscale_all_dim"] = r.mscale_all_dim;
    }
    j["rope_scaling"] = s;
  }
  if (model_type == "llama") {
    j["attention_bias"] = attention_bias;
    j["mlp_bias"] = mlp_bias;
  } else {
    j["use_sliding_window"] = false;
  }
  j["tie_word_embeddings"] = tie_word_embeddings;
  j["hidden_act"] = hidden_act;
  j["initializer_range"] = initializer_range;
  auto id = [](int64_t v) { return v >= 0 ? json(v) : json(nullptr); };
  j["bos_token_id"] = id(bos_token_id);
  j["eos_token_id"] = id(eos_token_id);
  j["pad_token_id"] = id(pad_token_id);
  j["torch_dtype"] = "float32";
  return j;
}

void LmConfig::save(const std::string& path) const { core::atomic_write_file(path, to_json().dump(2) + "\n"); }

}  // namespace rlpp::nn::lm
