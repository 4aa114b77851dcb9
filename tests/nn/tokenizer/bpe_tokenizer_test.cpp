// BpeTokenizer against Hugging Face tokenizers' own results (tests/fixtures/tokenizer, written by
// tests/reference/make_tokenizer_fixtures.js), a hand-computed tiny tokenizer, and round trips.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <thread>

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

// Random byte strings, with invalid UTF-8, lone continuation bytes, NULs, and pieces of added tokens.
std::string random_bytes(std::mt19937& rng) {
  static const std::vector<std::string> pieces = {" ", "  ", "\n", "\t", "'s", "<|", "|>", "\xC3", "\xA9",
                                                   "\xF0\x9F", "\xED\xA0\x80", "\xC0\xAF", "<|eot_id|>"};
  std::string s;
  const int n = std::uniform_int_distribution<int>(0, 40)(rng);
  for (int i = 0; i < n; ++i) {
    if (rng() % 4 == 0) {
      s += pieces[rng() % pieces.size()];
    } else {
      s.push_back(static_cast<char>(rng() % 256));
    }
  }
  return s;
}

// Random valid UTF-8 from all planes (no surrogates), weighted towards ASCII and whitespace.
std::string random_unicode(std::mt19937& rng) {
  std::string s;
  const int n = std::uniform_int_distribution<int>(0, 30)(rng);
  for (int i = 0; i < n; ++i) {
    uint32_t cp;
    switch (rng() % 5) {
      case 0: cp = 0x20 + rng() % 0x5F; break;
      case 1: cp = std::vector<uint32_t>{0x20, 0x0A, 0x09, 0xA0, 0x3000, 0x85, 0x2028}[rng() % 7]; break;
      case 2: cp = 0x80 + rng() % 0x780; break;
      case 3: cp = 0x800 + rng() % 0xF800; break;
      default: cp = 0x10000 + rng() % 0x100000; break;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 'x';
    if (cp < 0x80) {
      s.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      s.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      s.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  return s;
}

std::string hex(const std::string& s) {
  std::ostringstream os;
  for (unsigned char c : s) os << std::hex << static_cast<int>(c) << ' ';
  return os.str();
}

TEST(BpeTokenizerRoundTrip, RandomBytesAndUnicodeDecodeToThemselves) {
  for (const char* name : {"gpt2_style.json", "llama3_style.json"}) {
    auto tok = load_tokenizer(kFixtures + name);
    std::mt19937 rng(7);
    for (int i = 0; i < 3000; ++i) {
      const std::string s = i % 2 ? random_bytes(rng) : random_unicode(rng);
      const auto ids = tok->encode(s);
      ASSERT_EQ(tok->decode(ids), s) << name << " case " << i << ": " << hex(s);
      for (int64_t id : ids) ASSERT_TRUE(id >= 0 && id < tok->vocab_size());
    }
  }
}

TEST(BpeTokenizerRoundTrip, NfcTokenizerKeepsBytesThatAreNotUtf8) {
  auto tok = load_tokenizer(kFixtures + "qwen2_style.json");
  // NFC-stable text (ASCII, CJK, emoji) with invalid bytes between: nothing changes
  const std::string s = "abc \xFF\xFE 你好\xC3 \xF0\x9F\x98\x80 <|im_end|>\x80x";
  EXPECT_EQ(tok->decode(tok->encode(s)), s);
  // decomposed e + U+0301 becomes U+00E9
  EXPECT_EQ(tok->decode(tok->encode("cafe\xCC\x81\xFF")), "caf\xC3\xA9\xFF");
}

TEST(BpeTokenizerRoundTrip, ConcurrentEncodesAgree) {
  auto tok = load_tokenizer(kFixtures + "qwen2_style.json");
  std::mt19937 rng(3);
  std::vector<std::string> texts;
  for (int i = 0; i < 400; ++i) texts.push_back(random_unicode(rng));
  std::vector<std::vector<int64_t>> want;
  for (const auto& t : texts) want.push_back(tok->encode(t));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 3; ++rep)
        for (size_t i = 0; i < texts.size(); ++i) mismatches[t] += tok->encode(texts[i]) != want[i];
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

TEST(BpeTokenizerRoundTrip, SpecialIdsFromNamesAndTemplate) {
  auto llama = load_tokenizer(kFixtures + "llama3_style.json");
  EXPECT_EQ(llama->bos_id, llama->token_to_id("<|begin_of_text|>").value());
  EXPECT_EQ(llama->eos_id, llama->token_to_id("<|end_of_text|>").value());
  auto qwen = load_tokenizer(kFixtures + "qwen2_style.json");
  EXPECT_EQ(qwen->bos_id, -1);
  EXPECT_EQ(qwen->eos_id, qwen->token_to_id("<|endoftext|>").value());
  EXPECT_EQ(qwen->id_to_token(qwen->eos_id), "<|endoftext|>");
}

TEST(BpeTokenizerRoundTrip, SpecialIdsFromTokenizerConfig) {
  const std::string dir = ::testing::TempDir() + "rlpp_tok_with_config/";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(kFixtures + "qwen2_style.json", dir + "tokenizer.json",
                             std::filesystem::copy_options::overwrite_existing);
  std::ofstream(dir + "tokenizer_config.json", std::ios::trunc)
      << R"({"bos_token": null, "eos_token": {"content": "<|im_end|>", "special": true},
            "pad_token": "<|endoftext|>"})";
  auto tok = load_tokenizer(dir + "tokenizer.json");
  EXPECT_EQ(tok->bos_id, -1);
  EXPECT_EQ(tok->eos_id, tok->token_to_id("<|im_end|>").value());
  EXPECT_EQ(tok->pad_id, tok->token_to_id("<|endoftext|>").value());
  std::ofstream(dir + "tokenizer_config.json", std::ios::trunc) << R"({"eos_token": "</s>"})";
  try {
    load_tokenizer(dir + "tokenizer.json");
    FAIL() << "loaded";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("eos_token '</s>' is not a token of"), std::string::npos) << e.what();
  }
}

// ---- malformed files ----------------------------------------------------------------------------

std::string valid_doc() {
  std::ifstream in(kFixtures + "gpt2_style.json");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The UserError message of building a tokenizer from `doc`, or "" when it loads.
std::string error_of(const std::string& text) {
  try {
    BpeTokenizer::from_string(text, "tokenizer file 'x.json'");
  } catch (const core::UserError& e) {
    return e.what();
  }
  return "";
}

std::string edited(const std::function<void(nlohmann::json&)>& edit) {
  auto doc = nlohmann::json::parse(valid_doc());
  edit(doc);
  return doc.dump();
}

TEST(BpeTokenizerMalformed, RejectedWithMessagesNamingTheProblem) {
  EXPECT_EQ(error_of(valid_doc()), "");
  EXPECT_NE(error_of("{\"model\": ").find("x.json': not valid JSON"), std::string::npos);
  EXPECT_NE(error_of("[1, 2]").find("must be a JSON object"), std::string::npos);
  EXPECT_NE(error_of(edited([](auto& d) { d.erase("model"); })).find("missing \"model\""),
            std::string::npos);
  EXPECT_NE(error_of(edited([](auto& d) { d["model"]["type"] = "WordPiece"; }))
                .find("model type 'WordPiece' is not supported"),
            std::string::npos);
  EXPECT_NE(error_of(edited([](auto& d) { d["model"]["merges"].push_back("Ġ zzz"); }))
                .find("('Ġ', 'zzz') needs 'zzz', which is not in the vocab"),
            std::string::npos);
  EXPECT_NE(error_of(edited([](auto& d) { d["model"]["merges"][0] = "onlyone"; }))
                .find("merges[0]: 'onlyone' is not two tokens"),
            std::string::npos);
  EXPECT_NE(error_of(edited([](auto& d) { d["model"]["vocab"]["dup"] = 5; })).find("vocab id 5 is used by both"),
            std::string::npos);
  EXPECT_NE(error_of(edited([](auto& d) { d["model"]["vocab"]["neg"] = -3; })).find("out of range"),
            std::string::npos);
  EXPECT_NE(error_of(edited([](auto& d) { d["model"]["vocab"]["str"] = "7"; })).find("id of 'str' must be an integer"),
            std::string::npos);
  EXPECT_NE(error_of(edited([](auto& d) { d["added_tokens"][1]["id"] = d["added_tokens"][0]["id"]; }))
                .find("is used by both '<|endoftext|>' and '<mask>'"),
            std::string::npos);
  EXPECT_NE(error_of(edited([](auto& d) { d["added_tokens"][0]["id"] = 0; })).find("id 0 of '<|endoftext|>' belongs to 'Ā' in the vocab"),
            std::string::npos);
  EXPECT_NE(error_of(edited([](auto& d) { d["model"]["unk_token"] = "<unk>"; }))
                .find("unk_token '<unk>' is not in the vocab"),
            std::string::npos);
  EXPECT_NE(error_of(edited([](auto& d) { d["normalizer"] = {{"type", "Lowercase"}}; }))
                .find("normalizer: type 'Lowercase' is not supported"),
            std::string::npos);
  EXPECT_NE(error_of(edited([](auto& d) { d["pre_tokenizer"] = {{"type", "Metaspace"}}; }))
                .find("pre_tokenizer: type 'Metaspace' is not supported"),
            std::string::npos);
  EXPECT_NE(error_of(edited([](auto& d) {
              d["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "[a-"}}}};
            })).find("does not compile"),
            std::string::npos);
  EXPECT_NE(error_of(edited([](auto& d) { d["decoder"] = {{"type", "WordPiece"}}; }))
                .find("decoder type 'WordPiece' is not supported"),
            std::string::npos);
  EXPECT_NE(error_of(edited([](auto& d) { d["model"]["dropout"] = 0.1; })).find("dropout is not supported"),
            std::string::npos);
  EXPECT_NE(error_of(edited([](auto& d) { d["added_tokens"][0]["special"] = "yes"; }))
                .find("special must be true or false"),
            std::string::npos);
  // a wrongly typed field that no specific check names is still a UserError naming the file
  EXPECT_NE(error_of(edited([](auto& d) {
              d["post_processor"] = {{"type", "TemplateProcessing"},
                                     {"single", {{{"SpecialToken", {{"id", 5}, {"type_id", 0}}}}}},
                                     {"special_tokens", nlohmann::json::object()}};
            })).find("tokenizer file 'x.json': malformed"),
            std::string::npos);
  EXPECT_NE(error_of(edited([](auto& d) {
              d["post_processor"] = {{"type", "TemplateProcessing"},
                                     {"single", {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}}},
                                     {"special_tokens", nlohmann::json::object()}};
            })).find("special token '<s>' has no entry"),
            std::string::npos);
}

TEST(BpeTokenizerMalformed, LoadTokenizerNamesTheFile) {
  const std::string path = ::testing::TempDir() + "rlpp_tok_not_a_tokenizer.json";
  std::ofstream(path) << "{\"hello\": 1}";
  try {
    load_tokenizer(path);
    FAIL() << "loaded";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("neither a Hugging Face tokenizer.json"), std::string::npos);
  }
  EXPECT_THROW(load_tokenizer(path + ".missing"), core::UserError);
  EXPECT_THROW(load_tokenizer(kFixtures + "gpt2_style.json")->decode({100000}), core::UserError);
}

}  // namespace
}  // namespace rlpp::nn
