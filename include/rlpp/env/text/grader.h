// Graders for user datasets: compare a model's response with a reference answer and give 1 or 0.
//
// A grader is two steps:
//   extract  the answer text from the response:
//              final_line   the last non-empty trimmed line (final_answer() in task.h)
//              boxed        the content of the last \boxed{...}, braces balanced
//              answer_span  the rest of the line after the last "Answer:" or "answer is"
//              whole        the whole response, trimmed
//   compare  it with the reference:
//              exact        byte-equal after trimming spaces
//              numeric      both parse as numbers (parse_number) and |x - ref| <= abs_tol + rel_tol*|ref|
//              auto         numeric when both sides parse as numbers, else exact
//              regex        the reference is an ECMAScript regex the answer must match in full
//              set          the reference lists accepted answers ("a|b|c" or a JSON list ["a", "b"]);
//                           each is compared with `compare` (auto by default)
//
// Named graders fix both steps (the options may override them):
//   exact = final_line+exact, numeric = final_line+numeric, boxed = boxed+auto,
//   answer_span = answer_span+auto, regex = final_line+regex, set = final_line+set(auto).
//
// Grading never throws and never trusts the response: an answer that cannot be extracted, is longer
// than max_answer_chars, or does not parse gets 0. (The length cap also bounds std::regex, whose
// backtracking matcher recurses once per character; a reference regex is user data and trusted to
// be free of catastrophic backtracking.)
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "rlpp/core/component.h"
#include "rlpp/core/config.h"
#include "rlpp/core/registry.h"

namespace rlpp::env::text {

struct GraderOptions {
  std::string extract = "default";  // the named grader's own, or final_line | boxed | answer_span | whole
  std::string compare = "default";  // the named grader's own, or exact | numeric | auto (set: per item)
  double rel_tol = 1e-6;         // numeric: relative tolerance (of |reference|)
  double abs_tol = 1e-9;         // numeric: absolute tolerance
  int64_t max_answer_chars = 1000;  // longer extracted answers get 0

  void bind(core::Binder& b);
};

class Grader {
 public:
  virtual ~Grader() = default;
  // 1 when the answer extracted from `response` matches `reference`, else 0. Never throws.
  virtual double grade(std::string_view response, std::string_view reference) const = 0;
  // The extracted answer when the response has one in this grader's format and (for numeric
  // comparison) it parses as a number: the "well-formed answer" test of a format reward.
  virtual std::optional<std::string> extract(std::string_view response) const = 0;
  // A response this grader accepts for `reference` (the first alternative of a set, wrapped in
  // \boxed{} or after "Answer: " as the extraction needs): the worked solution of a dataset line
  // that has none. For regex, the reference itself (accepted when the pattern is a literal).
  virtual std::string render(std::string_view reference) const = 0;
};

// A number written as text, as math answers write them: optional sign ('-', '+' or U+2212 minus),
// digits with optional thousands commas ("1,234,567"; groups of exactly three), optional decimal
// part (".5", "2."), optional exponent ("1e-3", "2.5E+10"), or a fraction of two such numbers
// ("3/4", "-1.5/2") or \frac{a}{b} (also \dfrac, \tfrac). Surrounding spaces, a pair of '$' and one
// trailing '.' are ignored. nullopt for anything else, for non-finite values (1e400, "inf", "nan")
// and for a zero denominator.
std::optional<double> parse_number(std::string_view text);

// The content of the last "\boxed{...}" in `text` (trimmed), braces balanced; nullopt when there is
// none or its braces do not close.
std::optional<std::string> extract_boxed(std::string_view text);

// The rest of the line after the last "Answer:" or "answer is" (case-insensitive; a ':' after
// "answer is" is skipped), trimmed, without one trailing '.' and without a pair of "**"; nullopt
// when neither marker occurs or the span is empty.
std::optional<std::string> extract_answer_span(std::string_view text);

// Builds grader `name` with options from `section` of `recipe` (absent section: defaults).
using GraderFactory = core::Factory<Grader>;
core::Registry<GraderFactory>& grader_registry();
std::unique_ptr<Grader> make_grader(const std::string& name, const core::Recipe& recipe, const std::string& section);
// Builds grader `name` with `opts` (UserError for an unknown name or invalid options).
std::unique_ptr<Grader> make_grader(const std::string& name, const GraderOptions& opts = {});

}  // namespace rlpp::env::text
