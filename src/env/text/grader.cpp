#include "rlpp/env/text/grader.h"

#include <charconv>
#include <cmath>
#include <regex>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlpp/core/error.h"
#include "rlpp/env/text/task.h"

namespace rlpp::env::text {

void GraderOptions::bind(core::Binder& b) {
  b.choice("extract", extract, {"default", "final_line", "boxed", "answer_span", "whole"},
           "where the answer is taken from (default: the grader's own)");
  b.choice("compare", compare, {"default", "exact", "numeric", "auto"},
           "how the answer is compared with the reference (default: the grader's own)");
  b.num("rel_tol", rel_tol, "numeric: relative tolerance of |reference|", core::Bounds::non_negative());
  b.num("abs_tol", abs_tol, "numeric: absolute tolerance", core::Bounds::non_negative());
  b.integer("max_answer_chars", max_answer_chars, "longer extracted answers get 0", core::Bounds::closed(1, 1e6));
}

namespace {

constexpr std::string_view kUnicodeMinus = "\xE2\x88\x92";  // U+2212

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// A decimal number: sign? (digits with optional thousands commas)? ('.' digits*)? exponent?
// with at least one mantissa digit.
std::optional<double> parse_decimal(std::string_view s) {
  std::string ascii;  // the number without commas and with an ASCII sign, for from_chars
  if (starts_with(s, kUnicodeMinus)) {
    ascii += '-';
    s.remove_prefix(kUnicodeMinus.size());
  } else if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    if (s[0] == '-') ascii += '-';
    s.remove_prefix(1);
  }
  size_t i = 0;
  size_t mantissa_digits = 0;
  // integer part; commas must split it into a 1-3 digit head and 3-digit groups
  size_t group = 0;
  bool has_comma = false;
  while (i < s.size() && (is_digit(s[i]) || s[i] == ',')) {
    if (s[i] == ',') {
      if (group == 0 || (has_comma ? group != 3 : group > 3)) return std::nullopt;
      has_comma = true;
      group = 0;
    } else {
      ascii += s[i];
      ++group;
      ++mantissa_digits;
    }
    ++i;
  }
  if (has_comma && group != 3) return std::nullopt;
  if (i < s.size() && s[i] == '.') {
    ascii += '.';
    ++i;
    while (i < s.size() && is_digit(s[i])) {
      ascii += s[i++];
      ++mantissa_digits;
    }
  }
  if (mantissa_digits == 0) return std::nullopt;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ascii += 'e';
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ascii += s[i++];
    const size_t exp_begin = i;
    while (i < s.size() && is_digit(s[i])) ascii += s[i++];
    if (i == exp_begin) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  double v = 0.0;
  const auto [end, ec] = std::from_chars(ascii.data(), ascii.data() + ascii.size(), v);
  // out of range: 1e400 overflows (and 1e-400 underflows; refusing it costs nothing real)
  if (ec != std::errc() || end != ascii.data() + ascii.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<double> ratio(std::optional<double> num, std::optional<double> den) {
  if (!num || !den || *den == 0.0) return std::nullopt;
  const double v = *num / *den;
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

// "\frac{a}{b}" (and \dfrac, \tfrac), with `s` starting at the backslash.
std::optional<double> parse_latex_frac(std::string_view s) {
  for (std::string_view cmd : {"\\frac", "\\dfrac", "\\tfrac"}) {
    if (!starts_with(s, cmd)) continue;
    s.remove_prefix(cmd.size());
    std::optional<double> parts[2];
    for (auto& part : parts) {
      s = trim(s);
      if (s.empty() || s[0] != '{') return std::nullopt;
      const size_t close = s.find('}');
      if (close == std::string_view::npos) return std::nullopt;
      part = parse_decimal(trim(s.substr(1, close - 1)));
      s.remove_prefix(close + 1);
    }
    if (!trim(s).empty()) return std::nullopt;
    return ratio(parts[0], parts[1]);
  }
  return std::nullopt;
}

}  // namespace

std::optional<double> parse_number(std::string_view text) {
  std::string_view s = trim(text);
  if (s.size() >= 2 && s.front() == '$' && s.back() == '$') s = trim(s.substr(1, s.size() - 2));
  if (s.size() >= 2 && s.back() == '.') s = trim(s.substr(0, s.size() - 1));
  if (s.empty()) return std::nullopt;
  // a sign in front of \frac
  double sign = 1.0;
  std::string_view unsigned_part = s;
  if (starts_with(s, kUnicodeMinus)) {
    sign = -1.0;
    unsigned_part = trim(s.substr(kUnicodeMinus.size()));
  } else if (s[0] == '-' || s[0] == '+') {
    sign = s[0] == '-' ? -1.0 : 1.0;
    unsigned_part = trim(s.substr(1));
  }
  if (starts_with(unsigned_part, "\\")) {
    const auto v = parse_latex_frac(unsigned_part);
    if (!v) return std::nullopt;
    return sign * *v;
  }
  const size_t slash = s.find('/');
  if (slash != std::string_view::npos) {
    return ratio(parse_decimal(trim(s.substr(0, slash))), parse_decimal(trim(s.substr(slash + 1))));
  }
  return parse_decimal(s);
}

std::optional<std::string> extract_boxed(std::string_view text) {
  const size_t at = text.rfind("\\boxed");
  if (at == std::string_view::npos) return std::nullopt;
  size_t i = at + 6;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  if (i >= text.size() || text[i] != '{') return std::nullopt;
  const size_t begin = ++i;
  int depth = 1;
  for (; i < text.size(); ++i) {
    if (text[i] == '{') ++depth;
    if (text[i] == '}' && --depth == 0) {
      const std::string_view inner = trim(text.substr(begin, i - begin));
      if (inner.empty()) return std::nullopt;
      return std::string(inner);
    }
  }
  return std::nullopt;  // unbalanced: a truncated response has no answer
}

std::optional<std::string> extract_answer_span(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  const size_t colon = lower.rfind("answer:");
  const size_t is = lower.rfind("answer is");
  size_t begin;
  if (colon == std::string::npos && is == std::string::npos) return std::nullopt;
  if (is == std::string::npos || (colon != std::string::npos && colon > is)) {
    begin = colon + 7;
  } else {
    begin = is + 9;
    while (begin < text.size() && (text[begin] == ' ' || text[begin] == '\t')) ++begin;
    if (begin < text.size() && text[begin] == ':') ++begin;
  }
  const size_t end = std::min(text.find('\n', begin), text.size());
  std::string_view span = trim(text.substr(begin, end - begin));
  // markdown bold around the marker or the answer: "**Answer:** 42", "Answer: **42**"
  if (starts_with(span, "**")) span = trim(span.substr(2));
  if (span.size() >= 2 && span.substr(span.size() - 2) == "**") span = trim(span.substr(0, span.size() - 2));
  if (!span.empty() && span.back() == '.') span = trim(span.substr(0, span.size() - 1));
  if (span.empty()) return std::nullopt;
  return std::string(span);
}

namespace {

enum class Extract { kFinalLine, kBoxed, kAnswerSpan, kWhole };
enum class Compare { kExact, kNumeric, kAuto, kRegex };

struct Preset {
  Extract extract;
  Compare compare;
  bool any_of;  // the reference lists accepted answers
};

Extract parse_extract(const std::string& s, Extract fallback) {
  if (s == "final_line") return Extract::kFinalLine;
  if (s == "boxed") return Extract::kBoxed;
  if (s == "answer_span") return Extract::kAnswerSpan;
  if (s == "whole") return Extract::kWhole;
  core::require(s == "default", "grader option extract = '" + s + "' is not one of: default, final_line, boxed, "
                                "answer_span, whole");
  return fallback;
}

Compare parse_compare(const std::string& s, Compare fallback) {
  if (s == "exact") return Compare::kExact;
  if (s == "numeric") return Compare::kNumeric;
  if (s == "auto") return Compare::kAuto;
  core::require(s == "default", "grader option compare = '" + s + "' is not one of: default, exact, numeric, auto");
  return fallback;
}

// The accepted answers of a `set` reference: a JSON list of strings or numbers, else "a|b|c".
std::vector<std::string> alternatives(std::string_view reference) {
  std::vector<std::string> out;
  const std::string_view ref = trim(reference);
  if (!ref.empty() && ref.front() == '[') {
    const nlohmann::json j = nlohmann::json::parse(ref, nullptr, /*allow_exceptions=*/false);
    if (j.is_array()) {
      for (const auto& item : j) {
        if (item.is_string()) out.push_back(item.get<std::string>());
        else if (item.is_number()) out.push_back(item.dump());
      }
      return out;
    }
  }
  size_t begin = 0;
  while (true) {
    const size_t bar = ref.find('|', begin);
    out.emplace_back(trim(ref.substr(begin, bar == std::string_view::npos ? std::string_view::npos : bar - begin)));
    if (bar == std::string_view::npos) break;
    begin = bar + 1;
  }
  return out;
}

class AnswerGrader : public Grader {
 public:
  AnswerGrader(const std::string& name, Preset preset, const GraderOptions& opts)
      : extract_(parse_extract(opts.extract, preset.extract)),
        compare_(preset.compare),
        any_of_(preset.any_of),
        opts_(opts) {
    if (preset.compare == Compare::kRegex) {
      core::require(opts.compare == "default", "grader '" + name + "': option compare does not apply (the reference "
                                               "is a regex)");
    } else {
      compare_ = parse_compare(opts.compare, preset.compare);
    }
    core::require(opts.max_answer_chars >= 1, "grader '" + name + "': max_answer_chars must be >= 1, got " +
                                                  std::to_string(opts.max_answer_chars));
  }

  std::optional<std::string> extract(std::string_view response) const override {
    std::optional<std::string> answer;
    switch (extract_) {
      case Extract::kFinalLine: answer = final_answer(response); break;
      case Extract::kBoxed: answer = extract_boxed(response); break;
      case Extract::kAnswerSpan: answer = extract_answer_span(response); break;
      case Extract::kWhole: answer = std::string(trim(response)); break;
    }
    if (!answer || answer->empty() || static_cast<int64_t>(answer->size()) > opts_.max_answer_chars) return std::nullopt;
    if (compare_ == Compare::kNumeric && !parse_number(*answer)) return std::nullopt;
    return answer;
  }

  std::string render(std::string_view reference) const override {
    std::string answer(trim(reference));
    if (any_of_) {
      const auto alts = alternatives(reference);
      if (!alts.empty()) answer = alts.front();
    }
    switch (extract_) {
      case Extract::kBoxed: return "\\boxed{" + answer + "}";
      case Extract::kAnswerSpan: return "Answer: " + answer;
      default: return answer;
    }
  }

  double grade(std::string_view response, std::string_view reference) const override {
    try {
      const auto answer = extract(response);
      if (!answer) return 0.0;
      if (!any_of_) return matches(*answer, reference) ? 1.0 : 0.0;
      for (const auto& alt : alternatives(reference)) {
        if (matches(*answer, alt)) return 1.0;
      }
      return 0.0;
    } catch (const std::exception&) {  // a malformed regex reference, or out of memory on junk
      return 0.0;
    }
  }

 private:
  bool numeric_equal(double x, double ref) const {
    return std::fabs(x - ref) <= opts_.abs_tol + opts_.rel_tol * std::fabs(ref);
  }

  bool matches(const std::string& answer, std::string_view reference) const {
    const std::string_view ref = trim(reference);
    switch (compare_) {
      case Compare::kExact: return answer == ref;
      case Compare::kRegex: return std::regex_match(answer, std::regex(std::string(reference)));
      case Compare::kNumeric: {
        const auto x = parse_number(answer), r = parse_number(ref);
        return x && r && numeric_equal(*x, *r);
      }
      case Compare::kAuto: {
        const auto x = parse_number(answer), r = parse_number(ref);
        if (x && r) return numeric_equal(*x, *r);
        return answer == ref;
      }
    }
    return false;
  }

  Extract extract_;
  Compare compare_;
  bool any_of_;
  GraderOptions opts_;
};

const std::vector<std::pair<std::string, Preset>>& presets() {
  static const std::vector<std::pair<std::string, Preset>> p = {
      {"exact", {Extract::kFinalLine, Compare::kExact, false}},
      {"numeric", {Extract::kFinalLine, Compare::kNumeric, false}},
      {"boxed", {Extract::kBoxed, Compare::kAuto, false}},
      {"answer_span", {Extract::kAnswerSpan, Compare::kAuto, false}},
      {"regex", {Extract::kFinalLine, Compare::kRegex, false}},
      {"set", {Extract::kFinalLine, Compare::kAuto, true}},
  };
  return p;
}

}  // namespace

core::Registry<GraderFactory>& grader_registry() {
  static core::Registry<GraderFactory> reg = [] {
    const std::map<std::string, std::string> summaries = {
        {"exact", "final line equals the reference (trimmed)"},
        {"numeric", "final line and reference are equal numbers (tolerances rel_tol, abs_tol)"},
        {"boxed", "last \\boxed{...} equals the reference (numerically when both are numbers)"},
        {"answer_span", "text after the last 'Answer:' / 'answer is' equals the reference"},
        {"regex", "final line fully matches the reference regex"},
        {"set", "final line equals one of the references ('a|b' or a JSON list)"},
    };
    core::Registry<GraderFactory> r("grader");
    for (const auto& [name, preset] : presets()) {
      r.add(name,
            [name = name, preset = preset](core::Binder& b) -> std::unique_ptr<Grader> {
              GraderOptions opts;
              opts.bind(b);
              return std::make_unique<AnswerGrader>(name, preset, opts);
            },
            summaries.at(name));
    }
    return r;
  }();
  return reg;
}

std::unique_ptr<Grader> make_grader(const std::string& name, const core::Recipe& recipe, const std::string& section) {
  return core::build_component(grader_registry(), name, recipe, section, {"name"});
}

std::unique_ptr<Grader> make_grader(const std::string& name, const GraderOptions& opts) {
  grader_registry().get(name);  // a UserError listing the valid names when unknown
  for (const auto& [n, preset] : presets()) {
    if (n == name) return std::make_unique<AnswerGrader>(name, preset, opts);
  }
  return nullptr;
}

}  // namespace rlpp::env::text
