#include "rlpp/nn/tokenizer/bpe_tokenizer.h"

#include <fstream>
#include <iterator>
#include <sstream>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "nn/tokenizer/json_input.h"
#include "nn/tokenizer/added_tokens.h"
#include "nn/tokenizer/pre_tokenizer.h"
#include "nn/tokenizer/unicode.h"
#include "rlpp/core/error.h"
#include "rlpp/nn/tokenizer/bpe_model.h"
#include "rlpp/nn/tokenizer/byte_level.h"

namespace rlpp::nn {

using nlohmann::json;

struct BpeTokenizer::Impl {
  std::unique_ptr<BpeModel> model;
  bool nfc = false;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::vector<AddedToken> added;
  std::unordered_map<std::string, int64_t> added_by_content;
  std::unordered_map<int64_t, const AddedToken*> added_by_id;
  std::unique_ptr<AddedTokenMatcher> raw_matcher;         // tokens with normalized == false
  std::unique_ptr<AddedTokenMatcher> normalized_matcher;  // tokens with normalized == true
  bool byte_level_decoder = false;
  std::vector<int64_t> prefix_ids, suffix_ids;  // what the post-processor adds around one sequence
  int64_t size = 0;
  // per id, what decode emits: the ByteLevel decoder maps a token's characters back to bytes, and
  // a token outside the byte-level alphabet (e.g. an added "<|im_end|>" with a space) stays as is
  std::vector<std::string> decoded;
  std::vector<bool> has_token, special;

  const std::string* token_of(int64_t id) const {
    auto it = added_by_id.find(id);
    if (it != added_by_id.end()) return &it->second->content;
    return model->id_to_token(id);
  }
};

namespace {

const json& field(const json& obj, const char* key, const std::string& where) {
  core::require(obj.is_object() && obj.contains(key), where + ": missing \"" + key + "\"");
  return obj[key];
}

bool flag(const json& obj, const char* key, bool fallback, const std::string& where) {
  if (!obj.contains(key) || obj[key].is_null()) return fallback;
  core::require(obj[key].is_boolean(), where + "." + key + " must be true or false");
  return obj[key].get<bool>();
}

// normalizer: null, NFC, or a Sequence of those.
bool parse_normalizer(const json& spec, const std::string& where) {
  if (spec.is_null()) return false;
  const std::string type = field(spec, "type", where).is_string() ? spec["type"].get<std::string>() : "";
  if (type == "NFC") return true;
  if (type == "Sequence") {
    const json& list = field(spec, "normalizers", where);
    core::require(list.is_array(), where + ".normalizers must be a list");
    bool any = false;
    for (size_t i = 0; i < list.size(); ++i)
      any = parse_normalizer(list[i], where + ".normalizers[" + std::to_string(i) + "]") || any;
    return any;
  }
  throw core::UserError(where + ": type '" + type + "' is not supported (supported: null, NFC)");
}

// What a post-processor adds around one sequence.
struct Wrapping {
  std::vector<int64_t> prefix_ids, suffix_ids;
};

void parse_post_processor(const json& spec, const std::string& where, Wrapping* impl) {
  if (spec.is_null()) return;
  const std::string type = field(spec, "type", where).is_string() ? spec["type"].get<std::string>() : "";
  if (type == "ByteLevel") return;  // only adjusts offsets
  if (type == "Sequence") {
    const json& list = field(spec, "processors", where);
    core::require(list.is_array(), where + ".processors must be a list");
    for (size_t i = 0; i < list.size(); ++i)
      parse_post_processor(list[i], where + ".processors[" + std::to_string(i) + "]", impl);
    return;
  }
  if (type == "TemplateProcessing") {
    const json& single = field(spec, "single", where);
    const json& specials = field(spec, "special_tokens", where);
    core::require(single.is_array(), where + ".single must be a list");
    bool seen_sequence = false;
    for (const json& item : single) {
      if (item.contains("Sequence")) {
        seen_sequence = true;
        continue;
      }
      core::require(item.contains("SpecialToken") && item["SpecialToken"].contains("id"),
                    where + ".single: items must be {\"SpecialToken\": ...} or {\"Sequence\": ...}");
      const std::string name = item["SpecialToken"]["id"];
      core::require(specials.contains(name) && specials[name].contains("ids") &&
                        specials[name]["ids"].is_array(),
                    where + ": special token '" + name + "' has no entry with ids in special_tokens");
      for (const json& id : specials[name]["ids"]) {
        core::require(id.is_number_integer(), where + ": ids of '" + name + "' must be integers");
        (seen_sequence ? impl->suffix_ids : impl->prefix_ids).push_back(id.get<int64_t>());
      }
    }
    return;
  }
  if (type == "RobertaProcessing" || type == "BertProcessing") {  // cls $A sep
    for (const char* key : {"cls", "sep"}) {
      const json& pair = field(spec, key, where);
      core::require(pair.is_array() && pair.size() == 2 && pair[1].is_number_integer(),
                    where + "." + key + " must be [token, id]");
      (std::string(key) == "cls" ? impl->prefix_ids : impl->suffix_ids).push_back(pair[1].get<int64_t>());
    }
    return;
  }
  throw core::UserError(where + ": type '" + type +
                        "' is not supported (supported: null, ByteLevel, TemplateProcessing, "
                        "RobertaProcessing, BertProcessing, Sequence)");
}

std::unique_ptr<BpeModel> parse_model(const json& spec, const std::string& where) {
  core::require(spec.is_object(), where + " must be an object");
  if (spec.contains("type")) {
    core::require(spec["type"].is_string(), where + ".type must be a string");
    const std::string type = spec["type"];
    core::require(type == "BPE", where + ": model type '" + type +
                                     "' is not supported (only BPE)");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    core::require(!spec.contains(key) || spec[key].is_null() ||
                      (spec[key].is_string() && spec[key].get<std::string>().empty()),
                  where + "." + key + " is not supported (byte-level BPE has none)");
  }
  core::require(!spec.contains("dropout") || spec["dropout"].is_null() ||
                    (spec["dropout"].is_number() && spec["dropout"].get<double>() == 0.0),
                where + ".dropout is not supported (tokenisation must be deterministic)");
  const json& vocab_json = field(spec, "vocab", where);
  core::require(vocab_json.is_object(), where + ".vocab must be an object {token: id}");
  std::unordered_map<std::string, int64_t> vocab;
  vocab.reserve(vocab_json.size());
  for (auto it = vocab_json.begin(); it != vocab_json.end(); ++it) {
    if (!it.value().is_number_integer())
      throw core::UserError(where + ".vocab: id of '" + it.key() + "' must be an integer");
    vocab.emplace(it.key(), it.value().get<int64_t>());
  }
  std::vector<std::pair<std::string, std::string>> merges;
  const json& merges_json = field(spec, "merges", where);
  core::require(merges_json.is_array(), where + ".merges must be a list");
  merges.reserve(merges_json.size());
  for (size_t i = 0; i < merges_json.size(); ++i) {
    const json& m = merges_json[i];
    auto at = [&] { return where + ".merges[" + std::to_string(i) + "]"; };
    if (m.is_string()) {  // "a b"
      const std::string s = m;
      size_t space = s.find(' ');
      if (space == std::string::npos || space == 0 || space + 1 >= s.size() ||
          s.find(' ', space + 1) != std::string::npos)
        throw core::UserError(at() + ": '" + s + "' is not two tokens separated by one space");
      merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else {  // ["a", "b"]
      if (!(m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()))
        throw core::UserError(at() + " must be \"a b\" or [\"a\", \"b\"]");
      merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    }
  }
  BpeOptions options;
  if (spec.contains("unk_token") && !spec["unk_token"].is_null()) {
    core::require(spec["unk_token"].is_string(), where + ".unk_token must be a string or null");
    options.unk_token = spec["unk_token"].get<std::string>();
  }
  options.fuse_unk = flag(spec, "fuse_unk", false, where);
  options.byte_fallback = flag(spec, "byte_fallback", false, where);
  options.ignore_merges = flag(spec, "ignore_merges", false, where);
  return std::make_unique<BpeModel>(std::move(vocab), merges, std::move(options), where);
}

// bos/eos/pad from tokenizer_config.json: "<s>" or {"content": "<s>", ...}
std::optional<std::string> config_token(const json& config, const char* key) {
  if (!config.contains(key)) return std::nullopt;
  const json& v = config[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string())
    return v["content"].get<std::string>();
  return std::nullopt;
}

}  // namespace

BpeTokenizer::BpeTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BpeTokenizer::~BpeTokenizer() = default;

std::unique_ptr<BpeTokenizer> BpeTokenizer::from_string(const std::string& json_text, const std::string& where) {
  return from_json(parse_json(json_text, where), where);
}

std::unique_ptr<BpeTokenizer> BpeTokenizer::from_json(const json& doc, const std::string& where) {
  return with_json_errors(where, [&] { return build(doc, where); });
}

std::unique_ptr<BpeTokenizer> BpeTokenizer::build(const json& doc, const std::string& where) {
  core::require(doc.is_object(), where + ": a tokenizer.json must be a JSON object");
  auto impl = std::make_unique<Impl>();
  impl->model = parse_model(field(doc, "model", where), where + ": model");

  if (doc.contains("added_tokens") && !doc["added_tokens"].is_null()) {
    const json& list = doc["added_tokens"];
    core::require(list.is_array(), where + ": added_tokens must be a list");
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string at = where + ": added_tokens[" + std::to_string(i) + "]";
      const json& t = list[i];
      core::require(t.is_object() && t.contains("id") && t["id"].is_number_integer() &&
                        t.contains("content") && t["content"].is_string(),
                    at + " must have an integer \"id\" and a string \"content\"");
      AddedToken a;
      a.id = t["id"];
      a.content = t["content"];
      core::require(a.id >= 0, at + ": id must be >= 0");
      core::require(a.id <= kMaxTokenId, at + ": id " + std::to_string(a.id) + " is out of range [0, " +
                                             std::to_string(kMaxTokenId) + "]");
      core::require(!a.content.empty(), at + ": content must not be empty");
      a.special = flag(t, "special", false, at);
      a.single_word = flag(t, "single_word", false, at);
      a.lstrip = flag(t, "lstrip", false, at);
      a.rstrip = flag(t, "rstrip", false, at);
      a.normalized = flag(t, "normalized", !a.special, at);
      const std::string* in_vocab = impl->model->id_to_token(a.id);
      core::require(in_vocab == nullptr || *in_vocab == a.content,
                    at + ": id " + std::to_string(a.id) + " of '" + a.content +
                        "' belongs to '" + (in_vocab ? *in_vocab : "") + "' in the vocab");
      for (const AddedToken& b : impl->added) {
        core::require(b.id != a.id, at + ": id " + std::to_string(a.id) + " is used by both '" +
                                        b.content + "' and '" + a.content + "'");
        core::require(b.content != a.content, at + ": '" + a.content + "' is added twice");
      }
      impl->added.push_back(std::move(a));
    }
  }
  std::vector<AddedToken> raw, normalized;
  for (const AddedToken& a : impl->added) {
    impl->added_by_content.emplace(a.content, a.id);
    (a.normalized ? normalized : raw).push_back(a);
  }
  for (const AddedToken& a : impl->added) impl->added_by_id.emplace(a.id, &a);
  impl->raw_matcher = std::make_unique<AddedTokenMatcher>(std::move(raw));
  impl->normalized_matcher = std::make_unique<AddedTokenMatcher>(std::move(normalized));

  impl->nfc = parse_normalizer(doc.value("normalizer", json()), where + ": normalizer");
  impl->pre_tokenizer = make_pre_tokenizer(doc.value("pre_tokenizer", json()), where + ": pre_tokenizer");
  Wrapping wrapping;
  parse_post_processor(doc.value("post_processor", json()), where + ": post_processor", &wrapping);
  impl->prefix_ids = std::move(wrapping.prefix_ids);
  impl->suffix_ids = std::move(wrapping.suffix_ids);
  const json decoder = doc.value("decoder", json());
  if (!decoder.is_null()) {
    const std::string type = decoder.value("type", std::string());
    core::require(type == "ByteLevel", where + ": decoder type '" + type +
                                           "' is not supported (supported: null, ByteLevel)");
    impl->byte_level_decoder = true;
  }

  int64_t max_id = impl->model->max_id();
  for (const AddedToken& a : impl->added) max_id = std::max(max_id, a.id);
  impl->size = max_id + 1;
  for (int64_t id : impl->prefix_ids)
    core::require(id >= 0 && id < impl->size, where + ": post_processor adds id " +
                                                  std::to_string(id) + ", which no token has");
  for (int64_t id : impl->suffix_ids)
    core::require(id >= 0 && id < impl->size, where + ": post_processor adds id " +
                                                  std::to_string(id) + ", which no token has");

  impl->decoded.assign(impl->size, std::string());
  impl->has_token.assign(impl->size, false);
  impl->special.assign(impl->size, false);
  for (int64_t id = 0; id < impl->size; ++id) {
    const std::string* token = impl->token_of(id);
    if (token == nullptr) continue;
    impl->has_token[id] = true;
    if (!impl->byte_level_decoder || !from_byte_level(*token, &impl->decoded[id]))
      impl->decoded[id] = *token;
  }
  for (const AddedToken& a : impl->added) impl->special[a.id] = a.special;

  auto tok = std::unique_ptr<BpeTokenizer>(new BpeTokenizer(std::move(impl)));
  // Without a tokenizer_config.json: BOS is what the post-processor puts first; EOS and PAD are
  // recognised by their conventional names.
  const Impl& im = *tok->impl_;
  if (!im.prefix_ids.empty()) tok->bos_id = im.prefix_ids.front();
  for (const char* name : {"<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>"}) {
    auto it = im.added_by_content.find(name);
    if (it != im.added_by_content.end()) {
      tok->eos_id = it->second;
      break;
    }
  }
  for (const char* name : {"<pad>", "[PAD]", "<|pad|>", "<|finetune_right_pad_id|>"}) {
    auto it = im.added_by_content.find(name);
    if (it != im.added_by_content.end()) {
      tok->pad_id = it->second;
      break;
    }
  }
  return tok;
}

std::unique_ptr<BpeTokenizer> BpeTokenizer::from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  core::require(static_cast<bool>(in), "tokenizer file '" + path + "' cannot be opened");
  std::stringstream ss;
  ss << in.rdbuf();
  auto tok = from_string(ss.str(), "tokenizer file '" + path + "'");
  tok->read_config_next_to(path);
  return tok;
}

void BpeTokenizer::read_config_next_to(const std::string& tokenizer_path) {
  const size_t slash = tokenizer_path.find_last_of('/');
  const std::string config_path =
      (slash == std::string::npos ? std::string() : tokenizer_path.substr(0, slash + 1)) +
      "tokenizer_config.json";
  std::ifstream in(config_path, std::ios::binary);
  if (!in) return;
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const json config = parse_json(text, "tokenizer config '" + config_path + "'");
  auto set = [&](const char* key, int64_t* id) {
    if (auto name = config_token(config, key)) {
      auto found = token_to_id(*name);
      core::require(found.has_value(), "tokenizer config '" + config_path + "': " + key + " '" +
                                            *name + "' is not a token of " + tokenizer_path);
      *id = *found;
    }
  };
  set("bos_token", &bos_id);
  set("eos_token", &eos_id);
  set("pad_token", &pad_id);
}

std::vector<int64_t> BpeTokenizer::encode(std::string_view text, bool add_special) const {
  const Impl& im = *impl_;
  std::vector<int64_t> ids;
  if (add_special) ids = im.prefix_ids;
  std::vector<Segment> raw_segments;
  if (im.raw_matcher->empty()) {
    raw_segments.push_back(Segment{-1, std::string(text)});
  } else {
    im.raw_matcher->split(text, &raw_segments);
  }
  std::vector<Segment> segments;
  for (Segment& s : raw_segments) {
    if (s.id >= 0) {
      segments.push_back(std::move(s));
      continue;
    }
    std::string normalized = im.nfc ? nfc(s.text) : std::move(s.text);
    if (im.normalized_matcher->empty()) {
      segments.push_back(Segment{-1, std::move(normalized)});
    } else {
      im.normalized_matcher->split(normalized, &segments);
    }
  }
  std::vector<std::string> pieces;
  for (Segment& s : segments) {
    if (s.id >= 0) {
      ids.push_back(s.id);
      continue;
    }
    if (s.text.empty()) continue;  // nothing to tokenise (no prefix space for it either)
    pieces.clear();
    pieces.push_back(std::move(s.text));
    if (im.pre_tokenizer) im.pre_tokenizer->apply(&pieces);
    for (const std::string& p : pieces) im.model->tokenize(p, &ids);
  }
  if (add_special) ids.insert(ids.end(), im.suffix_ids.begin(), im.suffix_ids.end());
  return ids;
}

std::string BpeTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special) const {
  const Impl& im = *impl_;
  std::string out;
  bool first = true;
  for (int64_t id : ids) {
    if (id < 0 || id >= im.size || !im.has_token[id]) {
      throw core::UserError("decode: id " + std::to_string(id) + " is not a token (vocab size " +
                            std::to_string(im.size) + ")");
    }
    if (skip_special && im.special[id]) continue;
    if (!im.byte_level_decoder && !first) out += ' ';  // no decoder: joined by spaces, as in HF
    out += im.decoded[id];
    first = false;
  }
  return out;
}

int64_t BpeTokenizer::vocab_size() const { return impl_->size; }

std::optional<int64_t> BpeTokenizer::token_to_id(std::string_view token) const {
  auto it = impl_->added_by_content.find(std::string(token));
  if (it != impl_->added_by_content.end()) return it->second;
  return impl_->model->token_to_id(token);
}

std::string BpeTokenizer::id_to_token(int64_t id) const {
  const std::string* token = impl_->token_of(id);
  if (token == nullptr) throw core::UserError("id_to_token: id " + std::to_string(id) + " is not a token");
  return *token;
}

bool BpeTokenizer::is_special(int64_t id) const {
  return id >= 0 && id < impl_->size && impl_->special[id];
}

}  // namespace rlpp::nn
