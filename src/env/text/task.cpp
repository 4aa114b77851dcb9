#include "rlpp/env/agent/agent_task.h"
#include "rlpp/env/text/task.h"

#include "rlpp/env/text/arithmetic.h"
#include "rlpp/env/text/countdown.h"
#include "rlpp/env/text/jsonl_task.h"
#include "rlpp/env/text/list_ops.h"
#include "rlpp/env/text/modular.h"
#include "rlpp/env/text/word_problems.h"

namespace rlpp::env::text {

std::string final_answer(std::string_view response) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  size_t end = response.size();
  while (end > 0) {
    const size_t nl = response.rfind('\n', end - 1);
    const size_t begin = nl == std::string_view::npos ? 0 : nl + 1;
    size_t a = begin, b = end;
    while (a < b && is_space(response[a])) ++a;
    while (b > a && is_space(response[b - 1])) --b;
    if (a < b) return std::string(response.substr(a, b - a));
    if (nl == std::string_view::npos) break;
    end = nl;
  }
  return "";
}

double TextTask::grade(const TaskInstance& inst, std::string_view response) const {
  return final_answer(response) == inst.answer ? 1.0 : 0.0;
}

bool is_plain_integer(std::string_view s) {
  if (!s.empty() && s[0] == '-') s.remove_prefix(1);
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string_view::npos) return false;
  return s.size() == 1 || s[0] != '0';
}

bool TextTask::answer_parses(const TaskInstance& /*inst*/, std::string_view response) const {
  return !final_answer(response).empty();
}

std::vector<TaskInstance> make_split(const TextTask& task, int64_t n, uint64_t seed) {
  core::Rng rng(seed);
  std::vector<TaskInstance> out;
  out.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out.push_back(task.sample(rng));
  return out;
}

namespace {
template <class Task, class Options>
TaskFactory factory() {
  return core::factory_of<TextTask, Task, Options>();
}
}  // namespace

core::Registry<TaskFactory>& task_registry() {
  static core::Registry<TaskFactory> reg = [] {
    core::Registry<TaskFactory> r("task");
    r.add("arithmetic", factory<ArithmeticTask, ArithmeticOptions>(),
          "multi-digit + - * with column-by-column worked solutions");
    r.add("countdown", factory<CountdownTask, CountdownOptions>(),
          "reach a target with given numbers and + - * / (answer: an expression)");
    r.add("jsonl", factory<JsonlTask, JsonlOptions>(),
          "user dataset: JSONL lines of prompt/answer[/solution/grader], graded by a named grader");
    r.add("list_ops", factory<ListOpsTask, ListOpsOptions>(), "sort / reverse / dedupe short integer lists");
    r.add("modular", factory<ModularTask, ModularOptions>(), "(a*b+c) mod m with quotient-remainder working");
    r.add("word_problems", factory<WordProblemsTask, WordProblemsOptions>(),
          "2-4 step shopping, age, rate and sharing word problems");
    r.add("agent_tools", factory<agent::AgentTask, agent::AgentTaskOptions>(),
          "multi-turn tool use in the tool world (dialogues; rolled out turn by turn)");
    return r;
  }();
  return reg;
}

std::unique_ptr<TextTask> make_task(const std::string& name, const core::Recipe& recipe, const std::string& section,
                                    toml::table* resolved) {
  return core::build_component(task_registry(), name, recipe, section, {"name"}, resolved);
}

}  // namespace rlpp::env::text
