// Checkpoint directories: the committed Hugging Face fixtures (tests/fixtures/lm: checkpoints
// written by transformers' save_pretrained and the logits transformers computes for them, made by
// tests/reference/make_lm_fixtures.py) load and reproduce the reference logits; save_pretrained output loads back; a checkpoint that
// does not fit the config is rejected naming the tensor.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "rlpp/core/error.h"
#include "rlpp/core/fs.h"
#include "rlpp/nn/lm/pretrained.h"
#include "rlpp/nn/lm/safetensors.h"

namespace rlpp::nn::lm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string fixture(const std::string& name) { return std::string(RLPP_SOURCE_DIR) + "/tests/fixtures/lm/" + name; }

std::string test_dir(const std::string& name) {
  const std::string d = ::testing::TempDir() + "lm_pretrained_" + name;
  fs::remove_all(d);
  return d;
}

// Every sequence alone, and all of them as one left-padded batch, against the reference logits:
// max |error| / max |reference logit| <= 1e-4 in fp32.
void check_fixture(const std::string& name) {
  const json ref = json::parse(core::read_file(fixture(name) + "/reference.json"));
  SCOPED_TRACE(name + " (" + ref.at("backend").get<std::string>() + ")");
  TransformerLm model = load_pretrained(fixture(name));
  torch::NoGradGuard g;
  const auto seqs = ref.at("sequences").get<std::vector<std::vector<int64_t>>>();
  int64_t longest = 0;
  for (const auto& s : seqs) longest = std::max<int64_t>(longest, s.size());
  torch::Tensor tokens = torch::zeros({static_cast<int64_t>(seqs.size()), longest}, torch::kLong);
  torch::Tensor attention = torch::zeros_like(tokens, torch::kBool);
  for (size_t b = 0; b < seqs.size(); ++b) {
    tokens[b].slice(0, longest - seqs[b].size()).copy_(torch::tensor(seqs[b], torch::kLong));
    attention[b].slice(0, longest - seqs[b].size()).fill_(true);
  }
  const torch::Tensor batched = model->forward(tokens, attention);  // (B, T, V)
  for (size_t b = 0; b < seqs.size(); ++b) {
    const auto rows = ref.at("logits")[b].get<std::vector<std::vector<double>>>();
    torch::Tensor expected = torch::empty({static_cast<int64_t>(rows.size()), model->config().vocab_size}, torch::kDouble);
    for (size_t t = 0; t < rows.size(); ++t) expected[t].copy_(torch::tensor(rows[t], torch::kDouble));
    const double scale = expected.abs().max().item<double>();
    const torch::Tensor alone = model->forward(torch::tensor(seqs[b], torch::kLong).unsqueeze(0))[0].to(torch::kDouble);
    const double err_alone = (alone - expected).abs().max().item<double>() / scale;
    const double err_batch =
        (batched[b].slice(0, longest - seqs[b].size()).to(torch::kDouble) - expected).abs().max().item<double>() / scale;
    std::printf("%s sequence %zu: max rel. error %.3g alone, %.3g in the padded batch\n", name.c_str(), b,
                err_alone, err_batch);
    EXPECT_LE(err_alone, 1e-4) << "sequence " << b;
    EXPECT_LE(err_batch, 1e-4) << "sequence " << b << " in the padded batch";
  }
}

TEST(LmPretrained, Llama3GqaFixtureMatchesReference) { check_fixture("llama3_gqa"); }
TEST(LmPretrained, Qwen2TiedShardedBf16FixtureMatchesReference) { check_fixture("qwen2_tied_sharded"); }

LmConfig small_config(bool tied) {
  LmConfig c;
  c.model_type = "qwen2";
  c.attention_bias = true;
  c.vocab_size = 40;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.tie_word_embeddings = tied;
  c.eos_token_id = 3;
  return c;
}

TEST(LmPretrained, SaveLoadRoundTripSingleAndSharded) {
  torch::manual_seed(2);
  TransformerLm model(small_config(false));
  const torch::Tensor tokens = torch::randint(0, 40, {2, 6}, torch::kLong);
  torch::NoGradGuard g;
  const torch::Tensor logits = model->forward(tokens);
  for (int64_t shard : {int64_t{0}, int64_t{8000}}) {
    const std::string dir = test_dir("roundtrip_" + std::to_string(shard));
    save_pretrained(dir, model, shard);
    EXPECT_EQ(fs::exists(dir + "/model.safetensors.index.json"), shard > 0);
    const json cfg = json::parse(core::read_file(dir + "/config.json"));
    EXPECT_EQ(cfg.at("model_type"), "qwen2");
    EXPECT_EQ(cfg.at("torch_dtype"), "float32");
    TransformerLm back = load_pretrained(dir);
    EXPECT_TRUE(back->forward(tokens).equal(logits)) << "shard " << shard;  // fp32 is stored exactly
  }
  // bf16: weights rounded once, so the reloaded model equals one with rounded weights.
  const std::string dir = test_dir("bf16");
  save_pretrained(dir, model, 0, torch::kBFloat16);
  EXPECT_EQ(json::parse(core::read_file(dir + "/config.json")).at("torch_dtype"), "bfloat16");
  EXPECT_EQ(read_safetensors(dir + "/model.safetensors").tensors.at("lm_head.weight").scalar_type(), torch::kBFloat16);
  TransformerLm back = load_pretrained(dir);
  const auto orig = model->named_parameters();
  for (const auto& p : back->named_parameters()) {
    EXPECT_TRUE(p.value().equal(orig[p.key()].to(torch::kBFloat16).to(torch::kFloat))) << p.key();
  }
}

TEST(LmPretrained, TiedModelOmitsAndIgnoresLmHead) {
  torch::manual_seed(3);
  TransformerLm model(small_config(true));
  const std::string dir = test_dir("tied");
  save_pretrained(dir, model);
  auto tensors = read_safetensors(dir + "/model.safetensors").tensors;
  EXPECT_FALSE(tensors.count("lm_head.weight"));
  // A tied checkpoint that carries lm_head.weight anyway (some exporters write it) loads; the
  // embedding is the head, as in transformers.
  tensors["lm_head.weight"] = torch::zeros({40, 16});
  TransformerLm other(small_config(true));
  load_weights(other, tensors, "test");
  EXPECT_TRUE(other->lm_head_weight().equal(model->named_parameters()["model.embed_tokens.weight"]));
}

TEST(LmPretrained, MismatchedCheckpointsAreRejectedNamingTheTensor) {
  torch::manual_seed(4);
  TransformerLm model(small_config(false));
  std::map<std::string, torch::Tensor> good;
  for (const auto& [n, t] : model->hf_named_parameters()) good[n] = t.detach().clone();
  auto expect_error = [&](std::map<std::string, torch::Tensor> tensors, std::initializer_list<std::string> parts) {
    TransformerLm target(small_config(false));
    try {
      load_weights(target, tensors, "ckpt-dir");
      FAIL();
    } catch (const core::UserError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("ckpt-dir"), std::string::npos) << msg;
      for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
    }
  };
  auto t = good;
  t.erase("model.layers.1.mlp.up_proj.weight");
  expect_error(t, {"missing tensor 'model.layers.1.mlp.up_proj.weight'", "[24, 16]"});
  t = good;
  t.erase("lm_head.weight");
  expect_error(t, {"missing tensor 'lm_head.weight'"});
  t = good;
  t["model.layers.0.self_attn.k_proj.weight"] = torch::zeros({16, 16});
  expect_error(t, {"'model.layers.0.self_attn.k_proj.weight' has shape [16, 16]", "expects [8, 16]"});
  t = good;
  t["model.layers.0.self_attn.o_proj.bias"] = torch::zeros({16});
  expect_error(t, {"unexpected tensor 'model.layers.0.self_attn.o_proj.bias'"});
  t = good;
  t["model.norm.weight"] = torch::ones({16}, torch::kLong);
  expect_error(t, {"'model.norm.weight'", "non-floating"});

  const std::string dir = test_dir("noconfig");
  fs::create_directories(dir);
  try {
    load_pretrained(dir);
    FAIL();
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("no config.json"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rlpp::nn::lm
