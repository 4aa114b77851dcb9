// A user dataset as a task: a JSONL file, one problem per line,
//   {"prompt": "...", "answer": "...", "solution": "...", "grader": "numeric"}
// "prompt" is a non-empty string; "answer" is a string, a number (its JSON text) or, for the set
// grader, a list of accepted answers; "solution" (worked solution, default: the line's grader's render() of the
// answer, e.g. "\boxed{12}") and
// "grader" (a name in grader_registry(), default: the task's grader) are optional; other keys are
// ignored. Blank lines are skipped silently.
//
// A malformed line is reported as "file:line: reason" and, with on_error = "skip", left out (the
// reports are kept in skipped()), or with on_error = "fail" rejects the file (UserError). A file
// with no valid line is always rejected.
//
// The held-out test part (round(test_fraction * n) problems) is fixed by split_seed; sample(rng)
// draws uniformly from the rest. Both parts keep the file's order.
#pragma once
#include <unordered_map>

#include "rlpp/env/text/grader.h"
#include "rlpp/env/text/task.h"

namespace rlpp::env::text {

struct JsonlOptions {
  std::string path;                 // the JSONL file (required)
  std::string grader = "exact";     // grader for lines without their own "grader"
  std::string on_error = "skip";    // skip | fail
  double test_fraction = 0.1;       // share of problems held out for evaluation
  int64_t split_seed = 0;           // fixes which problems are held out
  GraderOptions grading;            // options of the graders (extract/compare apply to `grader` only)

  void bind(core::Binder& b);
};

class JsonlTask : public TextTask {
 public:
  // Reads and validates opts.path (UserError naming the file, and the line, on failure).
  explicit JsonlTask(const JsonlOptions& opts);

  TaskInstance sample(core::Rng& rng) const override;
  // Grades with the instance's own grader (its line's "grader"), else the task's grader.
  double grade(const TaskInstance& inst, std::string_view response) const override;
  // Whether the instance's grader can extract an answer from the response.
  bool answer_parses(const TaskInstance& inst, std::string_view response) const override;
  // Every code point of the file's prompts, answers and solutions, plus '\n', in code point order.
  std::string alphabet() const override;

  const std::vector<TaskInstance>& train() const { return train_; }
  const std::vector<TaskInstance>& test() const { return test_; }
  // "file:line: reason" for every line left out (on_error = "skip").
  const std::vector<std::string>& skipped() const { return skipped_; }

 private:
  const Grader& grader_for(const TaskInstance& inst) const;

  JsonlOptions opts_;
  std::vector<TaskInstance> train_, test_;
  std::vector<std::string> skipped_;
  std::string alphabet_;
  std::unique_ptr<Grader> default_grader_;
  std::unordered_map<std::string, std::unique_ptr<Grader>> named_graders_;  // per-line graders by name
  // prompt + '\x1f' + answer -> the line's grader, for lines that name one (lines with equal
  // prompt and answer share the first such line's grader)
  std::unordered_map<std::string, const Grader*> line_graders_;
};

}  // namespace rlpp::env::text
