// Where LM training examples come from ([data] section of an `lm` recipe):
//   source = "task"   fresh instances of the generated task of [task] name = "…" (env/text; its
//                     options beside the name; default arithmetic), prompt -> worked solution
//                     (or the bare answer); held-out set fixed by eval_seed
//   source = "jsonl"  one JSON object per line: {"prompt": .., "response": ..} (or "completion"),
//                     or {"text": ..} for plain pre-training text; malformed lines are reported with
//                     their line numbers and skipped, or rejected when on_error = "fail"
//   source = "text"   a plain text file; documents are separated by blank lines
// File sources hold out their last eval_fraction of examples; training visits the rest in a fresh
// shuffled order every epoch.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/core/rng.h"
#include "rlpp/env/text/task.h"
#include "rlpp/nn/tokenizer/tokenizer.h"
#include "rlpp/train/checkpoint.h"
#include "rlpp/train/lm/lm_batch.h"

namespace rlpp::train::lm {

struct LmDataOptions {
  std::string source = "task";
  std::string path;                  // jsonl / text
  std::string target = "solution";   // task: "solution" (worked) or "answer"
  std::string on_error = "skip";     // jsonl: "skip" malformed lines (reported) or "fail"
  double eval_fraction = 0.05;       // jsonl / text
  int64_t eval_examples = 256;       // task: size of the held-out set
  int64_t eval_seed = 1000003;       // task: seed of the held-out set
  bool add_bos = true;               // prepend the tokenizer's BOS token when it has one
  bool add_eos = true;               // end each sequence with the tokenizer's EOS token when it has one

  void bind(core::Binder& b);
};

// A raw example before tokenization (plus the task instance, for grading).
struct TextExample {
  std::string prompt;
  std::string response;
  env::text::TaskInstance instance;  // source = "task" only
};

class LmData {
 public:
  // Reads/validates the source; a file error names the file (and line). The task's section, with
  // every option, is written to `resolved`.
  LmData(const LmDataOptions& opts, const core::Recipe& recipe, toml::table* resolved = nullptr);

  // The next training example (advances the data state).
  TextExample next(core::Rng& rng);
  const std::vector<TextExample>& eval_set() const { return eval_; }
  const env::text::TextTask* task() const { return task_.get(); }
  // Every character of the data, for building a character tokenizer (task: the task's alphabet).
  std::string alphabet() const;
  // Lines skipped as malformed (jsonl), with their line numbers in `skipped_report`.
  int64_t skipped_lines() const { return skipped_; }
  const std::string& skipped_report() const { return skipped_report_; }

  LmExample tokenize(const TextExample& ex, const nn::Tokenizer& tok) const;

  void save(CheckpointWriter& w) const;
  void load(CheckpointReader& r);

 private:
  LmDataOptions opts_;
  std::unique_ptr<env::text::TextTask> task_;
  std::vector<TextExample> train_, eval_;
  std::vector<int64_t> order_;  // file sources: this epoch's visiting order
  int64_t cursor_ = 0;
  int64_t skipped_ = 0;
  std::string skipped_report_;
};

}  // namespace rlpp::train::lm
