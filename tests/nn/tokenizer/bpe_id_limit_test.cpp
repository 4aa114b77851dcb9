// Token ids size the tokenizer's dense per-id tables, so a tokenizer.json with a huge id must be
// refused as a malformed file before those tables are allocated. Both inputs crashed
// fuzz/tokenizer_json.cpp under the sanitizers (a 64 GiB allocation; a signed overflow computing
// the vocab size).
#include <gtest/gtest.h>

#include "core/test_util.h"
#include "rlpp/nn/tokenizer/bpe_model.h"
#include "rlpp/nn/tokenizer/bpe_tokenizer.h"

namespace rlpp::nn {
namespace {

using test::expect_user_error;

TEST(BpeTokenizerIdLimit, VocabIdBeyondTheLimitIsRefused) {
  // 2^31 - 1 passed the old check and made a table of 2^31 strings.
  expect_user_error([] { BpeTokenizer::from_string(R"({"model": {"vocab": {"a": 2147483647}, "merges": []}})", "t.json"); },
                    {"t.json", "vocab id 2147483647", "out of range [0, 4194303]"});
  expect_user_error([] { BpeTokenizer::from_string(R"({"model": {"vocab": {"a": 4194304}, "merges": []}})", "t.json"); },
                    {"vocab id 4194304", "out of range"});
}

TEST(BpeTokenizerIdLimit, AddedTokenIdBeyondTheLimitIsRefused) {
  // INT64_MAX + 1 was the vocab size (signed overflow), then a vector of that many entries.
  expect_user_error(
      [] {
        BpeTokenizer::from_string(R"({"model": {"vocab": {"a": 0}, "merges": []},
                                      "added_tokens": [{"id": 9223372036854775807, "content": "x"}]})",
                                  "t.json");
      },
      {"t.json", "added_tokens[0]", "id 9223372036854775807 is out of range"});
}

TEST(BpeTokenizerIdLimit, SparseIdsBelowTheLimitStillLoad) {
  // ids need not be dense: the vocab size is the largest id + 1
  auto tok = BpeTokenizer::from_string(R"({"model": {"vocab": {"a": 0, "b": 100000}, "merges": []},
                                           "added_tokens": [{"id": 300000, "content": "<x>"}]})",
                                       "t.json");
  EXPECT_EQ(tok->vocab_size(), 300001);
  EXPECT_EQ(tok->encode("ab<x>"), (std::vector<int64_t>{0, 100000, 300000}));
}

}  // namespace
}  // namespace rlpp::nn
