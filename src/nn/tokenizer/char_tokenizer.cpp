#include "rlpp/nn/tokenizer/char_tokenizer.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "nn/tokenizer/json_input.h"
#include "nn/tokenizer/added_tokens.h"
#include "nn/tokenizer/unicode.h"
#include "rlpp/core/error.h"

namespace rlpp::nn {

using nlohmann::json;

namespace {
std::string describe_char(char32_t cp, std::string_view utf8) {
  char hex[16];
  std::snprintf(hex, sizeof(hex), "U+%04X", static_cast<unsigned>(cp));
  // a control character is named by its code alone: a raw NUL would end the message's C string
  if (cp < 0x20 || cp == 0x7F) return hex;
  return "'" + std::string(utf8) + "' (" + hex + ")";
}
}  // namespace

void AlphabetBuilder::add(std::string_view text, const std::string& where) {
  for (size_t pos = 0; pos < text.size();) {
    char32_t cp = 0;
    const size_t len = utf8_length_at(text, pos, &cp);
    if (len == 0) throw core::UserError(where + ": not UTF-8 at byte " + std::to_string(pos));
    code_points_.insert(cp);
    pos += len;
  }
}

std::string AlphabetBuilder::alphabet() const {
  std::string out;
  for (char32_t cp : code_points_) append_utf8(cp, &out);
  return out;
}

CharTokenizer::CharTokenizer(CharTokenizerSpec spec) : spec_(std::move(spec)) {
  std::vector<AddedToken> specials;
  for (const std::string& s : spec_.special_tokens) {
    core::require(!s.empty(), "CharTokenizer: a special token is empty");
    core::require(ids_.emplace(s, static_cast<int64_t>(tokens_.size())).second,
                  "CharTokenizer: special token '" + s + "' is listed twice");
    AddedToken a;
    a.id = static_cast<int64_t>(tokens_.size());
    a.content = s;
    a.special = true;
    specials.push_back(a);
    tokens_.push_back(s);
  }
  core::require(!spec_.alphabet.empty(), "CharTokenizer: the alphabet is empty");
  for (size_t pos = 0; pos < spec_.alphabet.size();) {
    char32_t cp = 0;
    size_t len = utf8_length_at(spec_.alphabet, pos, &cp);
    if (len == 0) {
      char byte[8];
      std::snprintf(byte, sizeof(byte), "0x%02X", static_cast<unsigned char>(spec_.alphabet[pos]));
      throw core::UserError("CharTokenizer: the alphabet is not UTF-8 at byte " + std::to_string(pos) + " (" + byte +
                            "); it must list whole characters, not the bytes of multi-byte ones");
    }
    std::string ch = spec_.alphabet.substr(pos, len);
    core::require(ids_.emplace(ch, static_cast<int64_t>(tokens_.size())).second,
                  "CharTokenizer: character " + describe_char(cp, ch) +
                      " is in the alphabet twice (or is also a special token)");
    tokens_.push_back(ch);
    pos += len;
  }
  auto special_id = [&](const std::optional<std::string>& name, const char* what) -> int64_t {
    if (!name) return -1;
    for (size_t i = 0; i < spec_.special_tokens.size(); ++i)
      if (spec_.special_tokens[i] == *name) return static_cast<int64_t>(i);
    throw core::UserError(std::string("CharTokenizer: ") + what + " '" + *name +
                          "' is not one of the special tokens");
  };
  bos_id = special_id(spec_.bos_token, "bos_token");
  eos_id = special_id(spec_.eos_token, "eos_token");
  pad_id = special_id(spec_.pad_token, "pad_token");
  unk_id_ = special_id(spec_.unk_token, "unk_token");
  specials_ = std::make_unique<AddedTokenMatcher>(std::move(specials));
}

CharTokenizer::~CharTokenizer() = default;

std::unique_ptr<CharTokenizer> CharTokenizer::from_string(const std::string& json_text, const std::string& where) {
  return from_json(parse_json(json_text, where), where);
}

std::unique_ptr<CharTokenizer> CharTokenizer::from_json(const json& doc, const std::string& where) {
  return with_json_errors(where, [&] { return build(doc, where); });
}

std::unique_ptr<CharTokenizer> CharTokenizer::build(const json& doc, const std::string& where) {
  core::require(doc.is_object() && doc.value("format", std::string()) == kFormat,
                where + ": \"format\" must be \"" + kFormat + "\"");
  core::require(doc.contains("version") && doc["version"].is_number_integer() &&
                    doc["version"].get<int>() == kVersion,
                where + ": \"version\" must be " + std::to_string(kVersion));
  CharTokenizerSpec spec;
  core::require(doc.contains("alphabet") && doc["alphabet"].is_string(),
                where + ": \"alphabet\" must be a string");
  spec.alphabet = doc["alphabet"];
  if (doc.contains("special_tokens")) {
    core::require(doc["special_tokens"].is_array(), where + ": \"special_tokens\" must be a list");
    for (const json& s : doc["special_tokens"]) {
      core::require(s.is_string(), where + ": \"special_tokens\" must hold strings");
      spec.special_tokens.push_back(s);
    }
  }
  for (auto [key, slot] : {std::pair{"bos_token", &spec.bos_token}, {"eos_token", &spec.eos_token},
                           {"pad_token", &spec.pad_token}, {"unk_token", &spec.unk_token}}) {
    if (!doc.contains(key) || doc[key].is_null()) continue;
    core::require(doc[key].is_string(), where + ": \"" + key + "\" must be a string or null");
    *slot = doc[key].get<std::string>();
  }
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    static const char* known[] = {"format", "version", "alphabet", "special_tokens",
                                  "bos_token", "eos_token", "pad_token", "unk_token"};
    bool ok = false;
    for (const char* k : known) ok = ok || it.key() == k;
    core::require(ok, where + ": unknown key \"" + it.key() + "\"");
  }
  try {
    return std::make_unique<CharTokenizer>(std::move(spec));
  } catch (const core::UserError& e) {
    throw core::UserError(where + ": " + e.what());
  }
}

std::unique_ptr<CharTokenizer> CharTokenizer::from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  core::require(static_cast<bool>(in), "tokenizer file '" + path + "' cannot be opened");
  std::stringstream ss;
  ss << in.rdbuf();
  return from_string(ss.str(), "tokenizer file '" + path + "'");
}

std::string CharTokenizer::to_json() const {
  json doc = {{"format", kFormat}, {"version", kVersion}, {"alphabet", spec_.alphabet},
              {"special_tokens", spec_.special_tokens}};
  auto put = [&](const char* key, const std::optional<std::string>& v) {
    doc[key] = v ? json(*v) : json(nullptr);
  };
  put("bos_token", spec_.bos_token);
  put("eos_token", spec_.eos_token);
  put("pad_token", spec_.pad_token);
  put("unk_token", spec_.unk_token);
  return doc.dump(1) + "\n";
}

void CharTokenizer::save(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    core::require(static_cast<bool>(out), "cannot write tokenizer file '" + tmp + "'");
    out << to_json();
    core::require(static_cast<bool>(out.flush()), "cannot write tokenizer file '" + tmp + "'");
  }
  core::require(std::rename(tmp.c_str(), path.c_str()) == 0,
                "cannot rename '" + tmp + "' to '" + path + "'");
}

std::vector<int64_t> CharTokenizer::encode(std::string_view text, bool add_special) const {
  std::vector<int64_t> ids;
  if (add_special && bos_id >= 0) ids.push_back(bos_id);
  std::vector<Segment> segments;
  specials_->split(text, &segments);
  size_t offset = 0;  // byte offset of the segment in `text`, for messages
  for (const Segment& s : segments) {
    if (s.id >= 0) {
      ids.push_back(s.id);
      offset += tokens_[s.id].size();
      continue;
    }
    for (size_t pos = 0; pos < s.text.size();) {
      char32_t cp = 0;
      size_t len = utf8_length_at(s.text, pos, &cp);
      if (len == 0) {
        char hex[8];
        std::snprintf(hex, sizeof(hex), "0x%02X", static_cast<unsigned char>(s.text[pos]));
        throw core::UserError("CharTokenizer: byte " + std::string(hex) + " at byte " +
                              std::to_string(offset + pos) + " of the input is not UTF-8");
      }
      std::string ch = s.text.substr(pos, len);
      auto it = ids_.find(ch);
      if (it != ids_.end() && it->second >= static_cast<int64_t>(spec_.special_tokens.size())) {
        ids.push_back(it->second);
      } else if (unk_id_ >= 0) {
        ids.push_back(unk_id_);
      } else {
        throw core::UserError("CharTokenizer: character " + describe_char(cp, ch) + " at byte " +
                              std::to_string(offset + pos) + " of the input is not in the alphabet");
      }
      pos += len;
    }
    offset += s.text.size();
  }
  if (add_special && eos_id >= 0) ids.push_back(eos_id);
  return ids;
}

std::string CharTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special) const {
  std::string out;
  const auto n_special = static_cast<int64_t>(spec_.special_tokens.size());
  for (int64_t id : ids) {
    if (id < 0 || id >= vocab_size()) {
      throw core::UserError("CharTokenizer: decode: id " + std::to_string(id) +
                            " is not a token (vocab size " + std::to_string(vocab_size()) + ")");
    }
    if (skip_special && id < n_special) continue;
    out += tokens_[id];
  }
  return out;
}

std::optional<int64_t> CharTokenizer::token_to_id(std::string_view token) const {
  auto it = ids_.find(std::string(token));
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

std::string CharTokenizer::id_to_token(int64_t id) const {
  if (id < 0 || id >= vocab_size())
    throw core::UserError("CharTokenizer: id_to_token: id " + std::to_string(id) + " is not a token");
  return tokens_[id];
}

}  // namespace rlpp::nn
