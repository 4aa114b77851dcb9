// CharTokenizer: ids by hand, round trips, its file format, and its errors.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>

#include "rlpp/core/error.h"
#include "rlpp/nn/tokenizer/char_tokenizer.h"

namespace rlpp::nn {
namespace {

using Ids = std::vector<int64_t>;

CharTokenizerSpec arithmetic() {
  CharTokenizerSpec spec;
  spec.alphabet = "0123456789+=é";
  spec.special_tokens = {"<pad>", "<bos>", "<eos>", "<|user|>", "<|assistant|>"};
  spec.bos_token = "<bos>";
  spec.eos_token = "<eos>";
  spec.pad_token = "<pad>";
  return spec;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const core::UserError& e) {
    return e.what();
  }
  return "";
}

TEST(CharTokenizer, IdsAreSpecialsThenAlphabet) {
  CharTokenizer tok(arithmetic());
  EXPECT_EQ(tok.vocab_size(), 5 + 13);
  EXPECT_EQ(tok.pad_id, 0);
  EXPECT_EQ(tok.bos_id, 1);
  EXPECT_EQ(tok.eos_id, 2);
  EXPECT_EQ(tok.encode("12+3="), (Ids{6, 7, 15, 8, 16}));
  EXPECT_EQ(tok.encode("1", /*add_special=*/true), (Ids{1, 6, 2}));
  EXPECT_EQ(tok.encode("<|user|>1+1=<|assistant|>2"), (Ids{3, 6, 15, 6, 16, 4, 7}));
  EXPECT_EQ(tok.encode("é"), (Ids{17}));
  EXPECT_EQ(tok.token_to_id("<|assistant|>"), 4);
  EXPECT_EQ(tok.id_to_token(17), "é");
  EXPECT_FALSE(tok.token_to_id("x").has_value());
}

TEST(CharTokenizer, RoundTripAndSkipSpecial) {
  CharTokenizer tok(arithmetic());
  const std::string s = "<|user|>12+34=<|assistant|>46<eos>";
  EXPECT_EQ(tok.decode(tok.encode(s)), s);
  EXPECT_EQ(tok.decode(tok.encode(s), /*skip_special=*/true), "12+34=46");
  EXPECT_EQ(tok.decode(tok.encode("")), "");
}

TEST(CharTokenizer, UnknownCharactersThrowOrMapToUnk) {
  CharTokenizer tok(arithmetic());
  EXPECT_EQ(error_of([&] { tok.encode("12x"); }),
            "CharTokenizer: character 'x' (U+0078) at byte 2 of the input is not in the alphabet");
  EXPECT_EQ(error_of([&] { tok.encode("<bos>1\xFF"); }),
            "CharTokenizer: byte 0xFF at byte 6 of the input is not UTF-8");
  auto spec = arithmetic();
  spec.special_tokens.push_back("<unk>");
  spec.unk_token = "<unk>";
  CharTokenizer with_unk(spec);
  EXPECT_EQ(with_unk.encode("1x€"), (Ids{7, 5, 5}));
}

TEST(CharTokenizer, InvalidSpecsAreRejected) {
  auto spec = arithmetic();
  spec.alphabet = "abca";
  EXPECT_NE(error_of([&] { CharTokenizer t(spec); }).find("'a' (U+0061) is in the alphabet twice"),
            std::string::npos);
  spec = arithmetic();
  spec.eos_token = "</s>";
  EXPECT_EQ(error_of([&] { CharTokenizer t(spec); }),
            "CharTokenizer: eos_token '</s>' is not one of the special tokens");
  spec = arithmetic();
  spec.special_tokens.push_back("<bos>");
  EXPECT_NE(error_of([&] { CharTokenizer t(spec); }).find("'<bos>' is listed twice"), std::string::npos);
  spec = arithmetic();
  spec.alphabet = "";
  EXPECT_NE(error_of([&] { CharTokenizer t(spec); }).find("alphabet is empty"), std::string::npos);
}

TEST(CharTokenizer, FileRoundTripThroughLoadTokenizer) {
  const std::string path = ::testing::TempDir() + "rlpp_char_tokenizer.json";
  CharTokenizer(arithmetic()).save(path);
  auto tok = load_tokenizer(path);
  EXPECT_EQ(tok->vocab_size(), 18);
  EXPECT_EQ(tok->encode("<|user|>9=", true), (Ids{1, 3, 14, 16, 2}));
  EXPECT_EQ(tok->pad_id, 0);
  auto* as_char = dynamic_cast<CharTokenizer*>(tok.get());
  ASSERT_NE(as_char, nullptr);
  EXPECT_EQ(as_char->to_json(), CharTokenizer(arithmetic()).to_json());
}

TEST(CharTokenizer, MalformedFilesNameTheProblem) {
  const std::string path = ::testing::TempDir() + "rlpp_char_bad.json";
  auto write_and_load = [&](const std::string& text) {
    std::ofstream(path, std::ios::trunc) << text;
    return error_of([&] { load_tokenizer(path); });
  };
  EXPECT_NE(write_and_load(R"({"format": "rlpp-char-tokenizer", "version": 2, "alphabet": "ab"})")
                .find("\"version\" must be 1"),
            std::string::npos);
  EXPECT_NE(write_and_load(R"({"format": "other", "version": 1, "alphabet": "ab"})")
                .find("\"format\" must be \"rlpp-char-tokenizer\""),
            std::string::npos);
  EXPECT_NE(write_and_load(R"({"format": 7, "version": 1, "alphabet": "ab"})").find(path + "': malformed"),
            std::string::npos);
  EXPECT_NE(write_and_load(R"({"format": "rlpp-char-tokenizer", "version": 1, "alphabet": 3})")
                .find("\"alphabet\" must be a string"),
            std::string::npos);
  const std::string e = write_and_load(
      R"({"format": "rlpp-char-tokenizer", "version": 1, "alphabet": "ab", "alpabet": "c"})");
  EXPECT_NE(e.find("unknown key \"alpabet\""), std::string::npos) << e;
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_NE(write_and_load(
                R"({"format": "rlpp-char-tokenizer", "version": 1, "alphabet": "ab", "bos_token": "<s>"})")
                .find("bos_token '<s>' is not one of the special tokens"),
            std::string::npos);
}

// Non-ASCII text: whole characters in code point order (a set of bytes sorted as signed chars put
// 0xA9 before 'a' and split "é" = C3 A9, which the tokenizer then refused as "not UTF-8 at byte 0").
TEST(CharTokenizer, AlphabetBuilderKeepsMultiByteCharactersWhole) {
  AlphabetBuilder b;
  b.add("caf\xC3\xA9", "data.jsonl:1");
  b.add("\xE2\x9C\x93 ab", "data.jsonl:2");
  EXPECT_EQ(b.size(), 7u);  // ' ' a b c f é ✓
  EXPECT_EQ(b.alphabet(), " abcf\xC3\xA9\xE2\x9C\x93");
  CharTokenizerSpec spec;
  spec.alphabet = b.alphabet();
  const CharTokenizer tok(spec);
  EXPECT_EQ(tok.encode("caf\xC3\xA9"), (Ids{3, 1, 4, 5}));
  try {
    b.add("ok\xC3", "data.jsonl:3");
    ADD_FAILURE() << "no UserError";
  } catch (const core::UserError& e) {
    EXPECT_EQ(std::string(e.what()), "data.jsonl:3: not UTF-8 at byte 2");
  }
}

}  // namespace
}  // namespace rlpp::nn
