// BpeTokenizer against Hugging Face tokenizers' own results (tests/fixtures/tokenizer, written by
// tests/reference/make_tokenizer_fixtures.js), a hand-computed tiny tokenizer, and round trips.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "rlpp/core/error.h"
#include "rlpp/nn/tokenizer/bpe_tokenizer.h"

namespace rlpp::nn {
namespace {

const std::string kFixtures = std::string(RLPP_SOURCE_DIR) + "/tests/fixtures/tokenizer/";

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  return nlohmann::json::parse(in);
}

std::string show(const std::vector<int64_t>& ids) {
  std::ostringstream os;
  for (int64_t id : ids) os << id << ' ';
  return os.str();
}

class BpeTokenizerReference : public ::testing::TestWithParam<std::string> {};

TEST_P(BpeTokenizerReference, MatchesHuggingFaceIdsAndDecodedText) {
  const nlohmann::json ref = read_json(kFixtures + "reference.json");
  const nlohmann::json& entry = ref["tokenizers"][GetParam()];
  auto tok = load_tokenizer(kFixtures + entry["file"].get<std::string>());
  EXPECT_EQ(tok->vocab_size(), entry["vocab_size"].get<int64_t>());
  const auto& inputs = ref["inputs"];
  const auto& cases = entry["cases"];
  ASSERT_EQ(inputs.size(), cases.size());
  int failures = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string text = inputs[i];
    const auto want = cases[i]["ids"].get<std::vector<int64_t>>();
    const auto want_special = cases[i]["ids_special"].get<std::vector<int64_t>>();
    const auto got = tok->encode(text);
    const auto got_special = tok->encode(text, /*add_special=*/true);
    EXPECT_EQ(show(got), show(want)) << "input " << i << ": " << text;
    EXPECT_EQ(show(got_special), show(want_special)) << "input " << i << ": " << text;
    EXPECT_EQ(tok->decode(want_special), cases[i]["decoded"].get<std::string>()) << "input " << i;
    EXPECT_EQ(tok->decode(want_special, /*skip_special=*/true),
              cases[i]["decoded_skip"].get<std::string>())
        << "input " << i;
    failures += got != want;
  }
  EXPECT_EQ(failures, 0);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, BpeTokenizerReference,
                         ::testing::Values("gpt2_style", "gpt2_prefix_space", "qwen2_style",
                                           "llama3_style"));

}  // namespace
}  // namespace rlpp::nn
