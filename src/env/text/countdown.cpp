#include "rlpp/env/text/countdown.h"

#include <algorithm>
#include <numeric>

#include "rlpp/core/error.h"

namespace rlpp::env::text {

void CountdownOptions::bind(core::Binder& b) {
  b.integer("min_numbers", min_numbers, "fewest numbers given", core::Bounds::closed(2, 8));
  b.integer("max_numbers", max_numbers, "most numbers given", core::Bounds::closed(2, 8));
  b.integer("max_number", max_number, "numbers are drawn from [1, max_number]", core::Bounds::closed(2, 1000));
  b.integer("max_target", max_target, "targets lie in [1, max_target]", core::Bounds::closed(10, 1000000));
  b.flag("use_all", use_all, "the target is built from every number (else from a random subset of >= 2)");
  b.text("ops", ops, "operators the target's construction may use, any of \"+-*/\"");
}

CountdownTask::CountdownTask(const CountdownOptions& opts) : opts_(opts) {
  core::require(opts.min_numbers <= opts.max_numbers, "countdown: min_numbers = " + std::to_string(opts.min_numbers) +
                                                          " exceeds max_numbers = " + std::to_string(opts.max_numbers));
  core::require(!opts.ops.empty() && opts.ops.find_first_not_of("+-*/") == std::string::npos,
                "countdown: ops must be a non-empty string of '+', '-', '*', '/', got \"" + opts.ops + "\"");
  core::require(opts.ops.find_first_of("+*") != std::string::npos,
                "countdown: ops = \"" + opts.ops + "\" needs '+' or '*' (targets are built upward)");
}

namespace {

constexpr int64_t kMaxValue = 1'000'000'000'000;  // |value| bound while evaluating an answer
constexpr int kMaxDepth = 32;
constexpr size_t kMaxChars = 256;

// Recursive-descent evaluator of the grammar in countdown.h over int64 with overflow checks.
class Evaluator {
 public:
  // `allowed` == nullptr: any number may appear (syntax check only).
  Evaluator(std::string_view text, const std::vector<int64_t>* allowed) : s_(text) {
    if (allowed) {
      remaining_ = *allowed;
      check_numbers_ = true;
    }
  }

  std::optional<int64_t> run() {
    if (s_.size() > kMaxChars) return std::nullopt;
    const auto v = expr(0);
    skip_spaces();
    if (!v || pos_ != s_.size()) return std::nullopt;
    return v;
  }

 private:
  void skip_spaces() {
    while (pos_ < s_.size() && s_[pos_] == ' ') ++pos_;
  }
  bool eat(char c) {
    skip_spaces();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  char peek() {
    skip_spaces();
    return pos_ < s_.size() ? s_[pos_] : '\0';
  }

  static std::optional<int64_t> apply(int64_t a, char op, int64_t b) {
    int64_t r = 0;
    switch (op) {
      case '+': if (__builtin_add_overflow(a, b, &r)) return std::nullopt; break;
      case '-': if (__builtin_sub_overflow(a, b, &r)) return std::nullopt; break;
      case '*': if (__builtin_mul_overflow(a, b, &r)) return std::nullopt; break;
      case '/':
        if (b == 0 || a % b != 0) return std::nullopt;
        r = a / b;  // |a| <= kMaxValue, so INT64_MIN / -1 cannot occur
        break;
      default: return std::nullopt;
    }
    if (r > kMaxValue || r < -kMaxValue) return std::nullopt;
    return r;
  }

  std::optional<int64_t> expr(int depth) {
    auto v = term(depth);
    while (v) {
      const char op = peek();
      if (op != '+' && op != '-') break;
      ++pos_;
      const auto rhs = term(depth);
      if (!rhs) return std::nullopt;
      v = apply(*v, op, *rhs);
    }
    return v;
  }

  std::optional<int64_t> term(int depth) {
    auto v = factor(depth);
    while (v) {
      const char op = peek();
      if (op != '*' && op != '/') break;
      ++pos_;
      const auto rhs = factor(depth);
      if (!rhs) return std::nullopt;
      v = apply(*v, op, *rhs);
    }
    return v;
  }

  std::optional<int64_t> factor(int depth) {
    if (eat('(')) {
      if (depth + 1 > kMaxDepth) return std::nullopt;
      const auto v = expr(depth + 1);
      if (!v || !eat(')')) return std::nullopt;
      return v;
    }
    return number();
  }

  std::optional<int64_t> number() {
    skip_spaces();
    const size_t begin = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    const size_t len = pos_ - begin;
    if (len == 0 || len > 12 || (len > 1 && s_[begin] == '0')) return std::nullopt;
    int64_t v = 0;
    for (size_t i = begin; i < pos_; ++i) v = v * 10 + (s_[i] - '0');
    if (check_numbers_) {
      const auto it = std::find(remaining_.begin(), remaining_.end(), v);
      if (it == remaining_.end()) return std::nullopt;  // not given, or given fewer times
      remaining_.erase(it);
    }
    return v;
  }

  std::string_view s_;
  size_t pos_ = 0;
  bool check_numbers_ = false;
  std::vector<int64_t> remaining_;
};

// "reach 97 with 25,4,3,7:" -> target and numbers; nullopt for any other text.
std::optional<std::pair<int64_t, std::vector<int64_t>>> parse_prompt(std::string_view prompt) {
  constexpr std::string_view kHead = "reach ", kWith = " with ";
  if (prompt.substr(0, kHead.size()) != kHead || prompt.empty() || prompt.back() != ':') return std::nullopt;
  const size_t with = prompt.find(kWith);
  if (with == std::string_view::npos) return std::nullopt;
  const auto to_int = [](std::string_view s) -> std::optional<int64_t> {
    if (s.empty() || s.size() > 12 || s.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    int64_t v = 0;
    for (char c : s) v = v * 10 + (c - '0');
    return v;
  };
  const auto target = to_int(prompt.substr(kHead.size(), with - kHead.size()));
  if (!target) return std::nullopt;
  std::vector<int64_t> numbers;
  std::string_view list = prompt.substr(with + kWith.size());
  list.remove_suffix(1);
  while (true) {
    const size_t comma = list.find(',');
    const auto n = to_int(list.substr(0, comma));
    if (!n) return std::nullopt;
    numbers.push_back(*n);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return std::make_pair(*target, numbers);
}

struct Node {
  int64_t value;
  std::string text;
  bool atom;
};

}  // namespace

std::optional<int64_t> evaluate_countdown(std::string_view expression, const std::vector<int64_t>& numbers) {
  return Evaluator(expression, &numbers).run();
}

TaskInstance CountdownTask::sample(core::Rng& rng) const {
  const auto draw = [&rng](int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(rng.below(static_cast<uint64_t>(hi - lo + 1)));
  };
  // Rejection sampling: most random constructions land in range within a few tries; the bound only
  // guards against option values no instance can satisfy.
  for (int attempt = 0; attempt < 100000; ++attempt) {
    const int64_t k = draw(opts_.min_numbers, opts_.max_numbers);
    std::vector<int64_t> numbers(static_cast<size_t>(k));
    for (auto& x : numbers) x = draw(1, opts_.max_number);
    std::vector<int64_t> order(numbers.size());
    std::iota(order.begin(), order.end(), 0);
    rng.shuffle(order.data(), k);
    const int64_t m = opts_.use_all ? k : draw(2, k);
    std::vector<Node> pool;
    for (int64_t i = 0; i < m; ++i) {
      const int64_t x = numbers[static_cast<size_t>(order[static_cast<size_t>(i)])];
      pool.push_back({x, std::to_string(x), true});
    }
    std::string working;
    bool ok = true;
    while (ok && pool.size() > 1) {
      const size_t i = rng.below(pool.size());
      size_t j = rng.below(pool.size() - 1);
      if (j >= i) ++j;
      Node a = pool[i], b = pool[j];
      const char op = opts_.ops[rng.below(opts_.ops.size())];
      // keep every step a positive integer, as the classic game does
      if ((op == '-' || op == '/') && a.value < b.value) std::swap(a, b);
      int64_t r = 0;
      if (op == '+') r = a.value + b.value;
      else if (op == '-') r = a.value - b.value;
      else if (op == '*') r = a.value * b.value;
      else r = a.value % b.value == 0 ? a.value / b.value : 0;
      if (r <= 0 || r > opts_.max_target * 1000) {
        ok = false;
        break;
      }
      working += std::to_string(a.value) + op + std::to_string(b.value) + "=" + std::to_string(r) + "\n";
      const auto wrap = [](const Node& n) { return n.atom ? n.text : "(" + n.text + ")"; };
      Node c{r, wrap(a) + op + wrap(b), false};
      pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(std::max(i, j)));
      pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(std::min(i, j)));
      pool.push_back(std::move(c));
    }
    if (!ok) continue;
    const int64_t target = pool[0].value;
    // a target equal to a given number would be solved by copying it
    if (target > opts_.max_target || std::count(numbers.begin(), numbers.end(), target) > 0) continue;
    TaskInstance t;
    t.prompt = "reach " + std::to_string(target) + " with ";
    for (size_t n = 0; n < numbers.size(); ++n) t.prompt += (n ? "," : "") + std::to_string(numbers[n]);
    t.prompt += ":";
    t.answer = pool[0].text;
    t.solution = working + t.answer;
    return t;
  }
  throw core::UserError("countdown: no instance found for max_number = " + std::to_string(opts_.max_number) +
                        ", max_target = " + std::to_string(opts_.max_target) + ", ops = \"" + opts_.ops +
                        "\"; widen the options");
}

double CountdownTask::grade(const TaskInstance& inst, std::string_view response) const {
  const auto problem = parse_prompt(inst.prompt);
  if (!problem) return 0.0;
  const auto v = evaluate_countdown(final_answer(response), problem->second);
  return v && *v == problem->first ? 1.0 : 0.0;
}

bool CountdownTask::answer_parses(const TaskInstance& /*inst*/, std::string_view response) const {
  return Evaluator(final_answer(response), nullptr).run().has_value();
}

std::string CountdownTask::alphabet() const { return "0123456789+-*/()=,: \nacehirtw"; }

}  // namespace rlpp::env::text
