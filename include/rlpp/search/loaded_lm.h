// A finished language-model run loaded for search: its recipe's task data, the tokenizer and the
// final model (RUN_DIR/model), in eval mode. (A run being trained is train::lm::LmRun, the LM
// trainers' base; this is what such a run leaves behind, read back.)
#pragma once
#include <memory>
#include <string>

#include "rlpp/core/config.h"
#include "rlpp/nn/lm/transformer.h"
#include "rlpp/nn/tokenizer/tokenizer.h"
#include "rlpp/train/lm/lm_data.h"

namespace rlpp::search {

struct LoadedLm {
  std::unique_ptr<train::lm::LmData> data;  // of task_run_dir's recipe: data.task() is set
  std::unique_ptr<nn::Tokenizer> tokenizer;
  std::string tokenizer_source;  // the file it was read from ("" = built from the task's alphabet)
  nn::lm::TransformerLm model{nullptr};
};

// task_run_dir: the run whose [data]/[task] sections define the task ("" = run_dir itself; a run
// trained on JSONL data takes its task from the run that produced the data). UserError when a
// directory lacks recipe.toml or model/, or the data is not a task.
LoadedLm load_lm(const std::string& run_dir, const std::string& task_run_dir = "");

// The recipes load_lm reads, checked the same way (recipe.toml in both, model/ in run_dir,
// data.source = "task" in the task run), without loading anything.
struct LmRunRecipes {
  core::Recipe run;   // RUN_DIR/recipe.toml: [model], [tokenizer]
  core::Recipe task;  // TASK_RUN_DIR/recipe.toml: [data], [task]
};
LmRunRecipes read_lm_run_recipes(const std::string& run_dir, const std::string& task_run_dir = "");

}  // namespace rlpp::search
