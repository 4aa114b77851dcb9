#include "nn/tokenizer/pre_tokenizer.h"

#include "rlpp/core/error.h"
#include "rlpp/nn/tokenizer/byte_level.h"

namespace rlpp::nn {

const char* const kGpt2SplitPattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

namespace {

// How matches of a Split pattern become pieces (Hugging Face SplitDelimiterBehavior).
enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// Cuts `text` at the matches of `regex` (or at the gaps between them when `invert`).
void split_one(const Regex& regex, Behavior behavior, bool invert, const std::string& text,
               std::vector<std::string>* out) {
  // spans covering text in order, each flagged as a "delimiter" (a match, or a gap when inverted)
  struct Span {
    size_t b, e;
    bool delim;
  };
  std::vector<Span> spans;
  size_t prev = 0;
  for (auto [b, e] : regex.find_all(text)) {
    if (b > prev) spans.push_back({prev, b, invert});
    spans.push_back({b, e, !invert});
    prev = e;
  }
  if (prev < text.size()) spans.push_back({prev, text.size(), invert});

  std::vector<std::pair<size_t, size_t>> pieces;
  switch (behavior) {
    case Behavior::kRemoved:
      for (const Span& s : spans)
        if (!s.delim) pieces.emplace_back(s.b, s.e);
      break;
    case Behavior::kIsolated:
      for (const Span& s : spans) pieces.emplace_back(s.b, s.e);
      break;
    case Behavior::kContiguous:
      for (size_t i = 0; i < spans.size(); ++i) {
        if (spans[i].delim && i > 0 && spans[i - 1].delim) {
          pieces.back().second = spans[i].e;
        } else {
          pieces.emplace_back(spans[i].b, spans[i].e);
        }
      }
      break;
    case Behavior::kMergedWithPrevious:
      for (size_t i = 0; i < spans.size(); ++i) {
        if (spans[i].delim && i > 0 && !spans[i - 1].delim) {
          pieces.back().second = spans[i].e;
        } else {
          pieces.emplace_back(spans[i].b, spans[i].e);
        }
      }
      break;
    case Behavior::kMergedWithNext:
      for (size_t i = 0; i < spans.size(); ++i) {
        if (!spans[i].delim && i > 0 && spans[i - 1].delim) {
          pieces.back().second = spans[i].e;
        } else {
          pieces.emplace_back(spans[i].b, spans[i].e);
        }
      }
      break;
  }
  for (auto [b, e] : pieces)
    if (e > b) out->push_back(text.substr(b, e - b));
}

class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(const std::string& pattern, Behavior behavior, bool invert,
                    const std::string& where)
      : regex_(pattern, where), behavior_(behavior), invert_(invert) {}
  void apply(std::vector<std::string>* pieces) const override {
    std::vector<std::string> out;
    for (const std::string& p : *pieces) split_one(regex_, behavior_, invert_, p, &out);
    *pieces = std::move(out);
  }

 private:
  Regex regex_;
  Behavior behavior_;
  bool invert_;
};

class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex, const std::string& where)
      : add_prefix_space_(add_prefix_space) {
    if (use_regex) regex_ = std::make_unique<Regex>(kGpt2SplitPattern, where);
  }
  void apply(std::vector<std::string>* pieces) const override {
    std::vector<std::string> split;
    for (std::string& p : *pieces) {
      if (add_prefix_space_ && (p.empty() || p[0] != ' ')) p.insert(p.begin(), ' ');
      if (regex_) {
        split_one(*regex_, Behavior::kIsolated, /*invert=*/false, p, &split);
      } else if (!p.empty()) {
        split.push_back(std::move(p));
      }
    }
    for (std::string& p : split) p = to_byte_level(p);
    *pieces = std::move(split);
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> regex_;
};

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps)
      : steps_(std::move(steps)) {}
  void apply(std::vector<std::string>* pieces) const override {
    for (const auto& s : steps_) s->apply(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

bool bool_field(const nlohmann::json& spec, const char* key, bool fallback, const std::string& where) {
  if (!spec.contains(key) || spec[key].is_null()) return fallback;
  core::require(spec[key].is_boolean(), where + "." + key + " must be true or false");
  return spec[key].get<bool>();
}

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& spec, const std::string& where) {
  if (spec.is_null()) return nullptr;
  core::require(spec.is_object() && spec.contains("type") && spec["type"].is_string(),
                where + " must be an object with a string \"type\"");
  const std::string type = spec["type"];
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevelPreTokenizer>(bool_field(spec, "add_prefix_space", true, where),
                                                   bool_field(spec, "use_regex", true, where), where);
  }
  if (type == "Split") {
    core::require(spec.contains("pattern") && spec["pattern"].is_object(),
                  where + ".pattern must be {\"Regex\": ...} or {\"String\": ...}");
    const auto& pat = spec["pattern"];
    std::string pattern;
    if (pat.contains("Regex") && pat["Regex"].is_string()) {
      pattern = pat["Regex"];
    } else if (pat.contains("String") && pat["String"].is_string()) {
      pattern = regex_escape(pat["String"].get<std::string>());
    } else {
      throw core::UserError(where + ".pattern must be {\"Regex\": ...} or {\"String\": ...}");
    }
    const std::string b = spec.value("behavior", std::string("Isolated"));
    Behavior behavior;
    if (b == "Removed") behavior = Behavior::kRemoved;
    else if (b == "Isolated") behavior = Behavior::kIsolated;
    else if (b == "MergedWithPrevious") behavior = Behavior::kMergedWithPrevious;
    else if (b == "MergedWithNext") behavior = Behavior::kMergedWithNext;
    else if (b == "Contiguous") behavior = Behavior::kContiguous;
    else
      throw core::UserError(where + ".behavior '" + b +
                            "' is not one of Removed, Isolated, MergedWithPrevious, "
                            "MergedWithNext, Contiguous");
    return std::make_unique<SplitPreTokenizer>(pattern, behavior,
                                               bool_field(spec, "invert", false, where), where);
  }
  if (type == "Sequence") {
    core::require(spec.contains("pretokenizers") && spec["pretokenizers"].is_array(),
                  where + ".pretokenizers must be a list");
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (size_t i = 0; i < spec["pretokenizers"].size(); ++i) {
      auto step = make_pre_tokenizer(spec["pretokenizers"][i],
                                     where + ".pretokenizers[" + std::to_string(i) + "]");
      if (step) steps.push_back(std::move(step));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  throw core::UserError(where + ": type '" + type +
                        "' is not supported (supported: ByteLevel, Split, Sequence)");
}

}  // namespace rlpp::nn
