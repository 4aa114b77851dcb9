// Generated text tasks with checkable answers: each draws unlimited fresh instances from a seeded
// generator, writes a worked solution for warm-starting a policy, and grades a response.
//
// Response format shared by every task: the final answer is the response's last non-empty line
// (leading/trailing spaces ignored); any earlier lines are working. A worked solution follows the
// same format, so a model trained on solutions answers in a gradable way.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rlpp/core/component.h"
#include "rlpp/core/config.h"
#include "rlpp/core/registry.h"
#include "rlpp/core/rng.h"

namespace rlpp::env::text {

struct TaskInstance {
  std::string prompt;    // e.g. "37+85="
  std::string answer;    // canonical final answer, e.g. "122"
  std::string solution;  // worked solution: working lines, then the answer on the last line
};

class TextTask {
 public:
  virtual ~TextTask() = default;
  virtual TaskInstance sample(core::Rng& rng) const = 0;
  // 1 when the response's final answer equals the instance's answer, else 0.
  virtual double grade(const TaskInstance& inst, std::string_view response) const;
  // Whether the response's final answer for `inst` is well-formed (parses, whatever its value): the
  // test of a format reward. Default: the final answer is not empty.
  virtual bool answer_parses(const TaskInstance& inst, std::string_view response) const;
  // Every character a prompt, solution or answer can contain (for character tokenizers).
  virtual std::string alphabet() const = 0;
};

// The last non-empty line of `response`, trimmed of spaces and tabs.
std::string final_answer(std::string_view response);

// Whether `s` is an integer written plainly: an optional '-' and 1 to 18 digits, no leading zero.
bool is_plain_integer(std::string_view s);

// `n` instances drawn from a generator seeded with `seed`: the same seed gives the same set (held-out
// test sets are fixed this way; training draws from a different stream).
std::vector<TaskInstance> make_split(const TextTask& task, int64_t n, uint64_t seed);

// A task's factory binds its options struct (core/component.h).
using TaskFactory = core::Factory<TextTask>;
core::Registry<TaskFactory>& task_registry();
// Builds task `name` with options from `section` of `recipe` (absent section: defaults; a `name`
// key there is the one that picked it). With `resolved`, every option is recorded there.
std::unique_ptr<TextTask> make_task(const std::string& name, const core::Recipe& recipe, const std::string& section,
                                    toml::table* resolved = nullptr);

}  // namespace rlpp::env::text
