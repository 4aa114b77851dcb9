// BpeTokenizer on real model families' tokenizer.json files (Llama 3: 128k vocabulary, digit
// groups of three, ignore_merges; Qwen3 = Qwen2's BPE: NFC, single digits, list-form merges)
// against Hugging Face tokenizers' results (tests/fixtures/tokenizer/real_<name>.json, written by
// tests/reference/make_real_tokenizer_refs.py). The tokenizer.json files are fetched by
// scripts/setup-deps.sh into .venv/ref-tokenizers/; without them the tests skip, saying so.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "rlpp/nn/tokenizer/tokenizer.h"

namespace rlpp::nn {
namespace {

namespace fs = std::filesystem;

std::string show(const std::vector<int64_t>& ids) {
  std::ostringstream os;
  for (int64_t id : ids) os << id << ' ';
  return os.str();
}

class RealTokenizer : public ::testing::TestWithParam<std::string> {};

TEST_P(RealTokenizer, MatchesHuggingFaceTokenizers) {
  const std::string name = GetParam();
  const std::string path = std::string(RLPP_SOURCE_DIR) + "/.venv/ref-tokenizers/" + name + "/tokenizer.json";
  if (!fs::exists(path)) GTEST_SKIP() << "no " << path << ": run scripts/setup-deps.sh to fetch it";
  std::ifstream in(std::string(RLPP_SOURCE_DIR) + "/tests/fixtures/tokenizer/real_" + name + ".json");
  ASSERT_TRUE(in);
  const nlohmann::json ref = nlohmann::json::parse(in);
  // setup-deps.sh checked the SHA-256; the size guards against a file replaced since
  ASSERT_EQ(static_cast<int64_t>(fs::file_size(path)), ref.at("file_size").get<int64_t>())
      << path << " is not the file of " << ref.at("package").get<std::string>();

  auto tok = load_tokenizer(path);
  EXPECT_EQ(tok->vocab_size(), ref.at("vocab_size").get<int64_t>());
  EXPECT_EQ(tok->eos_id, ref.at("eos_id").get<int64_t>()) << ref.at("eos_token");
  const auto& inputs = ref.at("inputs");
  const auto& cases = ref.at("cases");
  ASSERT_EQ(inputs.size(), cases.size());
  int failures = 0;
  size_t n_ids = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string text = inputs[i];
    const auto want = cases[i].at("ids").get<std::vector<int64_t>>();
    const auto want_special = cases[i].at("ids_special").get<std::vector<int64_t>>();
    const auto got = tok->encode(text);
    EXPECT_EQ(show(got), show(want)) << "input " << i << ": " << text;
    EXPECT_EQ(show(tok->encode(text, /*add_special=*/true)), show(want_special)) << "input " << i << ": " << text;
    EXPECT_EQ(tok->decode(want_special), cases[i].at("decoded").get<std::string>()) << "input " << i;
    EXPECT_EQ(tok->decode(want_special, /*skip_special=*/true), cases[i].at("decoded_skip").get<std::string>())
        << "input " << i;
    failures += got != want;
    n_ids += want.size();
  }
  std::printf("%s: %zu inputs, %zu reference ids, %d inputs encoded differently\n", name.c_str(), inputs.size(),
              n_ids, failures);
  EXPECT_EQ(failures, 0);
}

INSTANTIATE_TEST_SUITE_P(Families, RealTokenizer, ::testing::Values("llama3", "qwen3"));

}  // namespace
}  // namespace rlpp::nn
