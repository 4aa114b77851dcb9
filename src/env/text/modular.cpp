#include "rlpp/env/text/modular.h"

#include "rlpp/core/error.h"

namespace rlpp::env::text {

void ModularOptions::bind(core::Binder& b) {
  b.integer("min_operands", min_operands, "fewest operands", core::Bounds::closed(2, 6));
  b.integer("max_operands", max_operands, "most operands", core::Bounds::closed(2, 6));
  b.integer("max_operand", max_operand, "operands are drawn from [0, max_operand]", core::Bounds::closed(1, 999999));
  b.integer("min_modulus", min_modulus, "smallest modulus", core::Bounds::closed(2, 999999));
  b.integer("max_modulus", max_modulus, "largest modulus", core::Bounds::closed(2, 999999));
  b.text("ops", ops, "operators drawn uniformly, any of \"+-*\"");
  b.flag("reduce_steps", reduce_steps, "the worked solution reduces after every operation");
}

ModularTask::ModularTask(const ModularOptions& opts) : opts_(opts) {
  core::require(opts.min_operands <= opts.max_operands, "modular: min_operands = " +
                                                            std::to_string(opts.min_operands) + " exceeds max_operands = " +
                                                            std::to_string(opts.max_operands));
  core::require(opts.min_modulus <= opts.max_modulus, "modular: min_modulus = " + std::to_string(opts.min_modulus) +
                                                          " exceeds max_modulus = " + std::to_string(opts.max_modulus));
  core::require(!opts.ops.empty() && opts.ops.find_first_not_of("+-*") == std::string::npos,
                "modular: ops must be a non-empty string of '+', '-', '*', got \"" + opts.ops + "\"");
  // Unreduced, the largest value is max_operand^max_operands (all '*'); it must fit in int64 with
  // room for the worked lines' arithmetic. Reduced, values stay below max(modulus, operand)^2.
  if (!opts.reduce_steps && opts.ops.find('*') != std::string::npos) {
    double biggest = 1.0;
    for (int64_t k = 0; k < opts.max_operands; ++k) biggest *= static_cast<double>(opts.max_operand);
    core::require(biggest <= 1e18, "modular: max_operand = " + std::to_string(opts.max_operand) + " to the power " +
                                       "max_operands = " + std::to_string(opts.max_operands) +
                                       " overflows 64-bit integers; lower them or set reduce_steps = true");
  }
}

namespace {

// Floor division: value = q*m + r with 0 <= r < m.
std::pair<int64_t, int64_t> floor_divmod(int64_t value, int64_t m) {
  int64_t q = value / m, r = value % m;
  if (r < 0) {
    r += m;
    --q;
  }
  return {q, r};
}

std::string reduction_line(int64_t value, int64_t m) {
  const auto [q, r] = floor_divmod(value, m);
  return std::to_string(value) + "=" + std::to_string(q) + "*" + std::to_string(m) + "+" + std::to_string(r) + "\n";
}

}  // namespace

TaskInstance ModularTask::sample(core::Rng& rng) const {
  const auto draw = [&rng](int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(rng.below(static_cast<uint64_t>(hi - lo + 1)));
  };
  const int64_t n = draw(opts_.min_operands, opts_.max_operands);
  const int64_t m = draw(opts_.min_modulus, opts_.max_modulus);
  int64_t value = draw(0, opts_.max_operand);
  std::string expr = std::to_string(value);
  bool has_additive = false;  // whether `expr` needs parentheses before a '*'
  std::string working;
  for (int64_t k = 1; k < n; ++k) {
    const char op = opts_.ops[rng.below(opts_.ops.size())];
    const int64_t x = draw(0, opts_.max_operand);
    if (op == '*' && has_additive) expr = "(" + expr + ")";
    expr += op + std::to_string(x);
    has_additive = op != '*';
    const int64_t next = op == '+' ? value + x : op == '-' ? value - x : value * x;
    working += std::to_string(value) + op + std::to_string(x) + "=" + std::to_string(next) + "\n";
    value = next;
    if (opts_.reduce_steps && k + 1 < n) {
      working += reduction_line(value, m);
      value = floor_divmod(value, m).second;
    }
  }
  working += reduction_line(value, m);
  TaskInstance t;
  t.prompt = "(" + expr + ") mod " + std::to_string(m) + "=";
  t.answer = std::to_string(floor_divmod(value, m).second);
  t.solution = working + t.answer;
  return t;
}

bool ModularTask::answer_parses(const TaskInstance& /*inst*/, std::string_view response) const {
  return is_plain_integer(final_answer(response));
}

std::string ModularTask::alphabet() const { return "0123456789+-*()= mod\n"; }

}  // namespace rlpp::env::text
