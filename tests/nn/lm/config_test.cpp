// LmConfig against config.json files in the shapes transformers writes them (Llama 3.2 and Qwen2.5
// style), and every validation error with the field it names.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "rlpp/core/error.h"
#include "rlpp/nn/lm/config.h"

namespace rlpp::nn::lm {
namespace {

using nlohmann::json;

json llama_json() {
  return json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
    "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "head_dim": 64,
    "hidden_act": "silu", "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 8192,
    "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama",
    "num_attention_heads": 32, "num_hidden_layers": 16, "num_key_value_heads": 8,
    "pretraining_tp": 1, "rms_norm_eps": 1e-05,
    "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                     "original_max_position_embeddings": 8192, "rope_type": "llama3"},
    "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
    "transformers_version": "4.45.0.dev0", "use_cache": true, "vocab_size": 128256})");
}

json qwen2_json() {
  return json::parse(R"({
    "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
    "eos_token_id": 151645, "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02,
    "intermediate_size": 4864, "max_position_embeddings": 32768, "max_window_layers": 21,
    "model_type": "qwen2", "num_attention_heads": 14, "num_hidden_layers": 24,
    "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
    "sliding_window": 32768, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
    "use_cache": true, "use_sliding_window": false, "vocab_size": 151936, "rope_scaling": null,
    "pad_token_id": null})");
}

// Expects from_json(j) to throw a UserError whose message contains every one of `parts`.
void expect_error(const json& j, std::initializer_list<std::string> parts) {
  try {
    LmConfig::from_json(j, "test/config.json");
    FAIL() << "accepted: " << j.dump();
  } catch (const core::UserError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("test/config.json"), std::string::npos) << msg;
    for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

TEST(LmConfig, ParsesLlama32Config) {
  const LmConfig c = LmConfig::from_json(llama_json());
  EXPECT_EQ(c.model_type, "llama");
  EXPECT_EQ(c.vocab_size, 128256);
  EXPECT_EQ(c.hidden_size, 2048);
  EXPECT_EQ(c.intermediate_size, 8192);
  EXPECT_EQ(c.num_hidden_layers, 16);
  EXPECT_EQ(c.num_attention_heads, 32);
  EXPECT_EQ(c.num_key_value_heads, 8);
  EXPECT_EQ(c.resolved_head_dim(), 64);
  EXPECT_EQ(c.max_position_embeddings, 131072);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_DOUBLE_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.rope_scaling.kind, "llama3");
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 32.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.low_freq_factor, 1.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.high_freq_factor, 4.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.bos_token_id, 128000);
  EXPECT_EQ(c.eos_token_id, 128001);  // the first of the list
  EXPECT_EQ(c.pad_token_id, -1);
}

TEST(LmConfig, Qwen2HasQkvBiasesAndDefaults) {
  const LmConfig c = LmConfig::from_json(qwen2_json());
  EXPECT_EQ(c.model_type, "qwen2");
  EXPECT_TRUE(c.attention_bias);
  EXPECT_FALSE(c.mlp_bias);
  EXPECT_EQ(c.resolved_head_dim(), 64);  // 896 / 14
  EXPECT_EQ(c.rope_scaling.kind, "none");
  EXPECT_EQ(c.pad_token_id, -1);
  json j = qwen2_json();
  j.erase("num_key_value_heads");
  j.erase("max_position_embeddings");
  const LmConfig d = LmConfig::from_json(j);
  EXPECT_EQ(d.num_key_value_heads, 14);  // defaults to num_attention_heads
  EXPECT_EQ(d.max_position_embeddings, 32768);
}

TEST(LmConfig, RopeScalingKindsAndLegacyTypeKey) {
  json j = llama_json();
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  EXPECT_EQ(LmConfig::from_json(j).rope_scaling.kind, "linear");
  j["rope_scaling"] = {{"rope_type", "dynamic"}, {"factor", 2.0}};
  EXPECT_EQ(LmConfig::from_json(j).rope_scaling.kind, "dynamic");
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 32768},
                       {"beta_fast", 16}, {"attention_factor", 1.5}};
  const LmConfig y = LmConfig::from_json(j);
  EXPECT_EQ(y.rope_scaling.kind, "yarn");
  EXPECT_DOUBLE_EQ(y.rope_scaling.beta_fast, 16.0);
  EXPECT_DOUBLE_EQ(y.rope_scaling.beta_slow, 1.0);
  EXPECT_DOUBLE_EQ(y.rope_scaling.attention_factor, 1.5);
  j["rope_scaling"] = {{"rope_type", "default"}};
  EXPECT_EQ(LmConfig::from_json(j).rope_scaling.kind, "none");
}

TEST(LmConfig, ToJsonRoundTripsThroughHfFieldNames) {
  const LmConfig c = LmConfig::from_json(llama_json());
  const json j = c.to_json();
  EXPECT_EQ(j.at("model_type"), "llama");
  EXPECT_EQ(j.at("architectures")[0], "LlamaForCausalLM");
  EXPECT_EQ(j.at("num_key_value_heads"), 8);
  EXPECT_EQ(j.at("rope_scaling").at("rope_type"), "llama3");
  EXPECT_EQ(j.at("rope_scaling").at("original_max_position_embeddings"), 8192);
  EXPECT_EQ(j.at("eos_token_id"), 128001);
  EXPECT_TRUE(j.at("pad_token_id").is_null());
  const LmConfig back = LmConfig::from_json(j);
  EXPECT_EQ(back.to_json(), j);
  const json q = LmConfig::from_json(qwen2_json()).to_json();
  EXPECT_EQ(q.at("architectures")[0], "Qwen2ForCausalLM");
  EXPECT_FALSE(q.contains("attention_bias"));
}

TEST(LmConfig, SaveAndLoadFile) {
  const std::string dir = ::testing::TempDir() + "lm_config_test";
  std::filesystem::create_directories(dir);
  const LmConfig c = LmConfig::from_json(qwen2_json());
  c.save(dir + "/config.json");
  EXPECT_EQ(LmConfig::load(dir + "/config.json").to_json(), c.to_json());
  std::ofstream(dir + "/bad.json") << "{\"vocab_size\": 3,";
  try {
    LmConfig::load(dir + "/bad.json");
    FAIL();
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.json: invalid JSON"), std::string::npos) << e.what();
  }
  EXPECT_THROW(LmConfig::load(dir + "/missing.json"), core::UserError);
}

TEST(LmConfig, RejectsInconsistentShapes) {
  json j = llama_json();
  j.erase("head_dim");
  j["hidden_size"] = 2050;
  expect_error(j, {"hidden_size 2050", "not divisible by num_attention_heads 32"});
  j = llama_json();
  j["num_key_value_heads"] = 5;
  expect_error(j, {"num_attention_heads 32", "not divisible by num_key_value_heads 5"});
  for (const char* k : {"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads"}) {
    j = llama_json();
    j[k] = 0;
    expect_error(j, {std::string(k) + " must be positive"});
  }
  j = llama_json();
  j["head_dim"] = 7;
  expect_error(j, {"head_dim 7", "even"});
}

TEST(LmConfig, RejectsUnsupportedFeatures) {
  json j = llama_json();
  j["hidden_act"] = "gelu";
  expect_error(j, {"unsupported hidden_act 'gelu'"});
  j = llama_json();
  j["rope_scaling"] = {{"rope_type", "longrope"}, {"factor", 2.0}};
  expect_error(j, {"unsupported rope_scaling type 'longrope'"});
  j = llama_json();
  j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}};
  expect_error(j, {"llama3", "low_freq_factor"});
  j = llama_json();
  j["rope_scaling"] = {{"factor", 8.0}};
  expect_error(j, {"rope_type"});
  j = llama_json();
  j["model_type"] = "mistral";
  expect_error(j, {"unsupported model_type 'mistral'"});
  j = qwen2_json();
  j["use_sliding_window"] = true;
  expect_error(j, {"use_sliding_window"});
}

TEST(LmConfig, RejectsWrongJsonTypesAndMissingFields) {
  json j = llama_json();
  j["hidden_size"] = "2048";
  expect_error(j, {"'hidden_size' must be an integer", "\"2048\""});
  j = llama_json();
  j["num_hidden_layers"] = 16.5;
  expect_error(j, {"'num_hidden_layers' must be an integer"});
  j = llama_json();
  j["rms_norm_eps"] = "small";
  expect_error(j, {"'rms_norm_eps' must be a number"});
  j = llama_json();
  j["tie_word_embeddings"] = 1;
  expect_error(j, {"'tie_word_embeddings' must be true or false"});
  j = llama_json();
  j["rope_scaling"]["factor"] = "x";
  expect_error(j, {"'rope_scaling.factor' must be a number"});
  j = llama_json();
  j["rope_scaling"] = 3;
  expect_error(j, {"'rope_scaling' must be an object"});
  j = llama_json();
  j["eos_token_id"] = "</s>";
  expect_error(j, {"'eos_token_id' must be an integer or a list"});
  j = llama_json();
  j.erase("vocab_size");
  expect_error(j, {"missing required field 'vocab_size'"});
  expect_error(json::array(), {"must be a JSON object"});
}

}  // namespace
}  // namespace rlpp::nn::lm
