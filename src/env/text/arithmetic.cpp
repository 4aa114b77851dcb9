#include "rlpp/env/text/arithmetic.h"

#include <algorithm>

#include "rlpp/core/error.h"

namespace rlpp::env::text {

void ArithmeticOptions::bind(core::Binder& b) {
  b.integer("min_digits", min_digits, "fewest digits of an operand", core::Bounds::closed(1, 9));
  b.integer("max_digits", max_digits, "most digits of an operand", core::Bounds::closed(1, 9));
  b.text("ops", ops, "operators drawn uniformly, any of \"+-*\"");
  b.flag("allow_negative", allow_negative, "a - b with a < b has a negative answer (else operands swap)");
}

ArithmeticTask::ArithmeticTask(const ArithmeticOptions& opts) : opts_(opts) {
  core::require(opts.min_digits <= opts.max_digits, "arithmetic: min_digits = " + std::to_string(opts.min_digits) +
                                                        " exceeds max_digits = " + std::to_string(opts.max_digits));
  core::require(!opts.ops.empty() && opts.ops.find_first_not_of("+-*") == std::string::npos,
                "arithmetic: ops must be a non-empty string of '+', '-', '*', got \"" + opts.ops + "\"");
}

namespace {

int64_t draw_operand(core::Rng& rng, int64_t min_digits, int64_t max_digits) {
  const int64_t digits = min_digits + static_cast<int64_t>(rng.below(static_cast<uint64_t>(max_digits - min_digits + 1)));
  int64_t lo = 1;
  for (int64_t i = 1; i < digits; ++i) lo *= 10;
  const int64_t hi = lo * 10 - 1;
  if (digits == 1) lo = 0;
  return lo + static_cast<int64_t>(rng.below(static_cast<uint64_t>(hi - lo + 1)));
}

int64_t digit(int64_t x, int i) {
  for (int k = 0; k < i; ++k) x /= 10;
  return x % 10;
}

int num_digits(int64_t x) {
  int n = 1;
  while (x >= 10) { x /= 10; ++n; }
  return n;
}

// Column addition, least significant digit first: "d_a+d_b+carry=s" per column.
std::string add_working(int64_t a, int64_t b) {
  std::string out;
  int64_t carry = 0;
  const int n = std::max(num_digits(a), num_digits(b));
  for (int i = 0; i < n; ++i) {
    const int64_t s = digit(a, i) + digit(b, i) + carry;
    out += std::to_string(digit(a, i)) + "+" + std::to_string(digit(b, i)) + "+" + std::to_string(carry) + "=" +
           std::to_string(s) + "\n";
    carry = s / 10;
  }
  return out;
}

// Column subtraction of a >= b: "x-d_b-borrow=d" with x = d_a, or d_a + 10 when the column borrows.
std::string sub_working(int64_t a, int64_t b) {
  std::string out;
  int64_t borrow = 0;
  for (int i = 0; i < num_digits(a); ++i) {
    int64_t x = digit(a, i);
    const int64_t need = digit(b, i) + borrow;
    const int64_t next_borrow = x < need ? 1 : 0;
    x += 10 * next_borrow;
    out += std::to_string(x) + "-" + std::to_string(digit(b, i)) + "-" + std::to_string(borrow) + "=" +
           std::to_string(x - need) + "\n";
    borrow = next_borrow;
  }
  return out;
}

// Long multiplication: one partial product per digit of b, then their running sum.
std::string mul_working(int64_t a, int64_t b) {
  std::string out;
  int64_t place = 1, sum = 0;
  for (int i = 0; i < num_digits(b); ++i, place *= 10) {
    const int64_t part = a * digit(b, i) * place;
    out += std::to_string(a) + "*" + std::to_string(digit(b, i) * place) + "=" + std::to_string(part) + "\n";
    if (i > 0) out += std::to_string(sum) + "+" + std::to_string(part) + "=" + std::to_string(sum + part) + "\n";
    sum += part;
  }
  return out;
}

}  // namespace

TaskInstance ArithmeticTask::sample(core::Rng& rng) const {
  const char op = opts_.ops[rng.below(opts_.ops.size())];
  int64_t a = draw_operand(rng, opts_.min_digits, opts_.max_digits);
  int64_t b = draw_operand(rng, opts_.min_digits, opts_.max_digits);
  TaskInstance t;
  std::string working;
  int64_t result = 0;
  if (op == '+') {
    result = a + b;
    working = add_working(a, b);
  } else if (op == '-') {
    if (a < b && !opts_.allow_negative) std::swap(a, b);
    result = a - b;
    working = a >= b ? sub_working(a, b) : sub_working(b, a);
  } else {
    result = a * b;
    working = mul_working(a, b);
  }
  t.prompt = std::to_string(a) + op + std::to_string(b) + "=";
  t.answer = std::to_string(result);
  t.solution = working + t.answer;
  return t;
}

bool ArithmeticTask::answer_parses(const TaskInstance& /*inst*/, std::string_view response) const {
  return is_plain_integer(final_answer(response));
}

std::string ArithmeticTask::alphabet() const { return "0123456789+-*=\n"; }

}  // namespace rlpp::env::text
