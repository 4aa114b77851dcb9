#include "rlpp/env/text/word_problems.h"

#include <algorithm>

#include "rlpp/core/error.h"
#include "rlpp/core/strings.h"

namespace rlpp::env::text {

void WordProblemsOptions::bind(core::Binder& b) {
  b.text("templates", templates, "comma-separated subset of shopping,ages,rates,sharing");
  b.integer("min_steps", min_steps, "fewest arithmetic steps", core::Bounds::closed(2, 4));
  b.integer("max_steps", max_steps, "most arithmetic steps", core::Bounds::closed(2, 4));
  b.integer("max_value", max_value, "base quantities are drawn from [2, max_value]", core::Bounds::closed(2, 1000));
}

namespace {

const std::vector<std::string> kTemplates = {"shopping", "ages", "rates", "sharing"};
const std::vector<std::string> kNames = {"Ann", "Ben", "Cara", "Dan", "Eva", "Finn", "Gus", "Hana"};
const std::vector<std::string> kItems = {"pens", "books", "cups", "toys", "cards", "plates"};
const std::vector<std::string> kProducts = {"toys", "bottles", "boxes", "shirts"};
const std::vector<std::string> kSweets = {"candies", "apples", "cookies", "marbles"};

// One problem under construction: the text, and the worked steps recorded as they are computed.
class Problem {
 public:
  explicit Problem(core::Rng& rng, int64_t max_value) : rng_(rng), max_value_(max_value) {}

  int64_t value() { return draw(2, max_value_); }
  int64_t draw(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(rng_.below(static_cast<uint64_t>(hi - lo + 1))); }
  const std::string& pick(const std::vector<std::string>& from) { return from[rng_.below(from.size())]; }
  // Two different entries of `from`.
  std::pair<std::string, std::string> pick_two(const std::vector<std::string>& from) {
    const size_t i = rng_.below(from.size());
    size_t j = rng_.below(from.size() - 1);
    if (j >= i) ++j;
    return {from[i], from[j]};
  }

  int64_t step(int64_t a, char op, int64_t b) {
    const int64_t r = op == '+' ? a + b : op == '-' ? a - b : op == '*' ? a * b : a / b;
    working_ += std::to_string(a) + op + std::to_string(b) + "=" + std::to_string(r) + "\n";
    return r;
  }

  TaskInstance finish(const std::string& text, int64_t answer) const {
    return {text, std::to_string(answer), working_ + std::to_string(answer)};
  }

 private:
  core::Rng& rng_;
  int64_t max_value_;
  std::string working_;
};

std::string num(int64_t x) { return std::to_string(x); }

TaskInstance shopping(Problem& p, int64_t steps) {
  const std::string name = p.pick(kNames);
  const auto [item1, item2] = p.pick_two(kItems);
  const int64_t q1 = p.value(), c1 = p.value();
  std::string text = name + " buys " + num(q1) + " " + item1 + " at " + num(c1) + " dollars each";
  const int64_t cost1 = p.step(q1, '*', c1);
  if (steps == 2) {
    const int64_t pay = (cost1 / 10 + 1 + p.draw(0, 2)) * 10;
    text += " and pays with " + num(pay) + " dollars. How much change does " + name + " get?";
    return p.finish(text, p.step(pay, '-', cost1));
  }
  const int64_t q2 = p.value(), c2 = p.value();
  text += " and " + num(q2) + " " + item2 + " at " + num(c2) + " dollars each";
  const int64_t cost2 = p.step(q2, '*', c2);
  const int64_t total = p.step(cost1, '+', cost2);
  if (steps == 3) return p.finish(text + ". How many dollars does " + name + " spend?", total);
  const int64_t pay = (total / 10 + 1 + p.draw(0, 2)) * 10;
  text += ", and pays with " + num(pay) + " dollars. How much change does " + name + " get?";
  return p.finish(text, p.step(pay, '-', total));
}

TaskInstance ages(Problem& p, int64_t steps) {
  const auto [a, b] = p.pick_two(kNames);
  const int64_t age_a = p.value();
  if (steps == 2) {
    const int64_t k = p.draw(2, 4), years = p.value();
    const int64_t age_b = p.step(age_a, '*', k);
    const std::string text = a + " is " + num(age_a) + " years old. " + b + " is " + num(k) + " times as old as " + a +
                             ". How old will " + b + " be in " + num(years) + " years?";
    return p.finish(text, p.step(age_b, '+', years));
  }
  std::string c = p.pick(kNames);
  while (c == a || c == b) c = p.pick(kNames);
  const int64_t d = p.value(), k = p.draw(2, 4);
  std::string text = a + " is " + num(age_a) + " years old. " + b + " is " + num(d) + " years older than " + a + ". " +
                     c + " is " + num(k) + " times as old as " + b + ".";
  const int64_t age_b = p.step(age_a, '+', d);
  const int64_t age_c = p.step(age_b, '*', k);
  if (steps == 3) {
    const int64_t years = p.value();
    text += " How old will " + c + " be in " + num(years) + " years?";
    return p.finish(text, p.step(age_c, '+', years));
  }
  text += " What is the sum of the ages of " + a + ", " + b + " and " + c + "?";
  const int64_t ab = p.step(age_a, '+', age_b);
  return p.finish(text, p.step(ab, '+', age_c));
}

TaskInstance rates(Problem& p, int64_t steps) {
  if (steps == 2) {
    const std::string product = p.pick(kProducts);
    const int64_t per_hour = p.value(), hours = p.value(), days = p.value();
    const std::string text = "A machine makes " + num(per_hour) + " " + product + " per hour. It runs " + num(hours) +
                             " hours a day. How many " + product + " does it make in " + num(days) + " days?";
    const int64_t per_day = p.step(per_hour, '*', hours);
    return p.finish(text, p.step(per_day, '*', days));
  }
  const int64_t v1 = p.value() * 10, t1 = p.value(), v2 = p.value() * 10, t2 = p.value();
  std::string text = "A car drives " + num(v1) + " km per hour for " + num(t1) + " hours, then " + num(v2) +
                     " km per hour for " + num(t2) + " hours.";
  const int64_t d1 = p.step(v1, '*', t1);
  const int64_t d2 = p.step(v2, '*', t2);
  const int64_t total = p.step(d1, '+', d2);
  if (steps == 3) return p.finish(text + " How many km does it drive in total?", total);
  const int64_t trip = total + p.value() * 10;
  text += " The trip is " + num(trip) + " km long. How many km are left?";
  return p.finish(text, p.step(trip, '-', total));
}

TaskInstance sharing(Problem& p, int64_t steps) {
  const std::string name = p.pick(kNames);
  const std::string sweet = p.pick(kSweets);
  const int64_t friends = p.value(), each = p.value();
  if (steps == 2) {
    // bags * per_bag must split evenly: per_bag = friends * k gives each friend bags * k
    const int64_t bags = p.value(), k = p.draw(1, 3);
    const int64_t per_bag = friends * k;
    const std::string text = name + " has " + num(bags) + " bags with " + num(per_bag) + " " + sweet + " each and " +
                             "shares them equally among " + num(friends) + " friends. How many " + sweet +
                             " does each friend get?";
    const int64_t total = p.step(bags, '*', per_bag);
    return p.finish(text, p.step(total, '/', friends));
  }
  const int64_t eaten = p.value();
  const int64_t sum = friends * each + eaten;
  const int64_t have = p.draw(1, sum - 1);
  const int64_t bought = sum - have;
  std::string text = name + " has " + num(have) + " " + sweet + " and buys " + num(bought) + " more. " + name +
                     " eats " + num(eaten) + " and shares the rest equally among " + num(friends) + " friends.";
  const int64_t total = p.step(have, '+', bought);
  const int64_t rest = p.step(total, '-', eaten);
  const int64_t share = p.step(rest, '/', friends);
  if (steps == 3) return p.finish(text + " How many " + sweet + " does each friend get?", share);
  const int64_t some = p.draw(2, friends);
  text += " How many " + sweet + " do " + num(some) + " of the friends get together?";
  return p.finish(text, p.step(share, '*', some));
}

}  // namespace

WordProblemsTask::WordProblemsTask(const WordProblemsOptions& opts)
    : opts_(opts), templates_(core::split(opts.templates, ',')) {
  core::require(opts.min_steps <= opts.max_steps, "word_problems: min_steps = " + std::to_string(opts.min_steps) +
                                                      " exceeds max_steps = " + std::to_string(opts.max_steps));
  core::require(!templates_.empty(), "word_problems: templates is empty");
  for (const auto& t : templates_) {
    core::require(std::find(kTemplates.begin(), kTemplates.end(), t) != kTemplates.end(),
                  "word_problems: unknown template '" + t + "' (valid: " + core::join(kTemplates, ", ") + ")");
  }
}

TaskInstance WordProblemsTask::sample(core::Rng& rng) const {
  Problem p(rng, opts_.max_value);
  const std::string& kind = p.pick(templates_);
  const int64_t steps = p.draw(opts_.min_steps, opts_.max_steps);
  if (kind == "shopping") return shopping(p, steps);
  if (kind == "ages") return ages(p, steps);
  if (kind == "rates") return rates(p, steps);
  return sharing(p, steps);
}

bool WordProblemsTask::answer_parses(const TaskInstance& /*inst*/, std::string_view response) const {
  return is_plain_integer(final_answer(response));
}

std::string WordProblemsTask::alphabet() const {
  return "0123456789+-*/=\n .,?'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
}

}  // namespace rlpp::env::text
