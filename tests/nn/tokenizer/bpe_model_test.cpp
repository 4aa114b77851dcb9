// BPE merges on a tiny hand-written tokenizer.json, with the expected ids worked out by hand.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "rlpp/nn/tokenizer/bpe_tokenizer.h"

namespace rlpp::nn {
namespace {

using Ids = std::vector<int64_t>;

// Vocab over the byte-level characters a b c d Ġ(space); ranks: "b c" 0, "a b" 1, "a bc" 2,
// "Ġ a" 3, "c d" 4. "abcd" is in the vocab but no merge makes it (only ignore_merges reaches it).
nlohmann::json tiny(bool ignore_merges, bool merges_as_lists) {
  nlohmann::json vocab = {{"a", 0}, {"b", 1}, {"c", 2}, {"d", 3}, {"Ġ", 4}, {"ab", 5}, {"bc", 6},
                          {"abc", 7}, {"Ġa", 8}, {"cd", 9}, {"abcd", 10}, {"<unk>", 11}, {"<0x65>", 12}};
  nlohmann::json merges = nlohmann::json::array();
  for (auto [l, r] : std::vector<std::pair<const char*, const char*>>{
           {"b", "c"}, {"a", "b"}, {"a", "bc"}, {"Ġ", "a"}, {"c", "d"}}) {
    if (merges_as_lists) merges.push_back({l, r});
    else merges.push_back(std::string(l) + " " + r);
  }
  return {{"version", "1.0"},
          {"added_tokens", nlohmann::json::array()},
          {"normalizer", nullptr},
          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
          {"post_processor", nullptr},
          {"decoder", {{"type", "ByteLevel"}}},
          {"model", {{"type", "BPE"}, {"unk_token", nullptr}, {"ignore_merges", ignore_merges},
                     {"vocab", vocab}, {"merges", merges}}}};
}

std::unique_ptr<BpeTokenizer> make(const nlohmann::json& doc) {
  return BpeTokenizer::from_string(doc.dump(), "tiny");
}

TEST(TokenizerBpeModel, LowestRankMergesFirst) {
  auto tok = make(tiny(false, false));
  // a b c d: "b c" (rank 0) first -> a bc d; then "a bc" (2) -> abc d; "abc d" is no merge
  EXPECT_EQ(tok->encode("abcd"), (Ids{7, 3}));
  // Ġ a b a b: "a b" (1) at positions 1 and 3 beats "Ġ a" (3), which is then gone -> Ġ ab ab
  EXPECT_EQ(tok->encode(" abab"), (Ids{4, 5, 5}));
  EXPECT_EQ(tok->encode(" a"), (Ids{8}));
  // "c d" (4) is the only pair of "cd"
  EXPECT_EQ(tok->encode("cd"), (Ids{9}));
  EXPECT_EQ(tok->encode("abcd abab"), (Ids{7, 3, 4, 5, 5}));
  EXPECT_EQ(tok->decode({7, 3, 4, 5, 5}), "abcd abab");
}

TEST(TokenizerBpeModel, MergeListFormEqualsStringForm) {
  auto a = make(tiny(false, false));
  auto b = make(tiny(false, true));
  for (const char* s : {"abcd", " abab", "dcba abcabc", "a b c d"}) EXPECT_EQ(a->encode(s), b->encode(s)) << s;
}

TEST(TokenizerBpeModel, IgnoreMergesEmitsVocabWordsWhole) {
  auto tok = make(tiny(true, false));
  EXPECT_EQ(tok->encode("abcd"), (Ids{10}));
  EXPECT_EQ(tok->encode("abcda"), (Ids{7, 3, 0}));  // not in the vocab: merged as usual
}

TEST(TokenizerBpeModel, UnknownCharactersAreDroppedOrMappedToUnk) {
  EXPECT_EQ(make(tiny(false, false))->encode("aee"), (Ids{0}));  // no unk_token: dropped
  auto doc = tiny(false, false);
  doc["model"]["unk_token"] = "<unk>";
  EXPECT_EQ(make(doc)->encode("aee"), (Ids{0, 11, 11}));
  doc["model"]["fuse_unk"] = true;
  EXPECT_EQ(make(doc)->encode("aeeb"), (Ids{0, 11, 1}));
  doc["model"]["byte_fallback"] = true;
  EXPECT_EQ(make(doc)->encode("ae"), (Ids{0, 12}));
}

TEST(TokenizerBpeModel, EmptyInputHasNoTokensEvenWithPrefixSpace) {
  auto doc = tiny(false, false);
  doc["pre_tokenizer"]["add_prefix_space"] = true;
  EXPECT_EQ(make(doc)->encode(""), Ids{});
  EXPECT_EQ(make(doc)->encode("a"), (Ids{8}));  // "Ġa"
}

TEST(TokenizerBpeModel, VocabSizeAndLookups) {
  auto tok = make(tiny(false, false));
  EXPECT_EQ(tok->vocab_size(), 13);
  EXPECT_EQ(tok->token_to_id("Ġa"), 8);
  EXPECT_FALSE(tok->token_to_id("zz").has_value());
  EXPECT_EQ(tok->id_to_token(7), "abc");
}

}  // namespace
}  // namespace rlpp::nn
