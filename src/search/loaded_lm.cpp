#include "rlpp/search/loaded_lm.h"

#include <filesystem>

#include "rlpp/core/config.h"
#include "rlpp/core/error.h"
#include "rlpp/train/lm/model_section.h"

namespace rlpp::search {

namespace fs = std::filesystem;

LmRunRecipes read_lm_run_recipes(const std::string& run_dir, const std::string& task_run_dir) {
  std::error_code ec;
  const fs::path run(run_dir);
  const fs::path task_run(task_run_dir.empty() ? run_dir : task_run_dir);
  for (const fs::path& r : {run, task_run})
    core::require(fs::exists(r / "recipe.toml", ec), "'" + r.string() + "' has no recipe.toml (not a run directory)");
  core::require(fs::is_directory(run / "model", ec), "'" + run_dir + "' has no model/ (train the run to the end)");
  LmRunRecipes out{core::Recipe::load((run / "recipe.toml").string()), core::Recipe::load((task_run / "recipe.toml").string())};
  core::require(out.task.get_string("data", "source", "task") == "task",
                "the data of '" + task_run.string() + "' is not a task (data.source = \"task\"); name a task run");
  return out;
}

LoadedLm load_lm(const std::string& run_dir, const std::string& task_run_dir) {
  const fs::path run(run_dir);
  const LmRunRecipes recipes = read_lm_run_recipes(run_dir, task_run_dir);
  const core::Recipe& recipe = recipes.run;
  const core::Recipe& task_recipe = recipes.task;

  LoadedLm out;
  train::lm::LmDataOptions data_opts;
  core::Binder db = core::Binder::reader(task_recipe, "data");
  data_opts.bind(db);
  out.data = std::make_unique<train::lm::LmData>(data_opts, task_recipe);
  train::lm::LmModelOptions model_opts;
  train::lm::TokenizerOptions tok_opts;
  core::Binder mb = core::Binder::reader(recipe, "model");
  model_opts.bind(mb);
  core::Binder tb = core::Binder::reader(recipe, "tokenizer");
  tok_opts.bind(tb);
  model_opts.from = (run / "model").string();
  out.tokenizer = train::lm::make_tokenizer(tok_opts, model_opts, out.data->alphabet(), &out.tokenizer_source);
  out.model = train::lm::make_model(model_opts, *out.tokenizer);
  out.model->eval();
  return out;
}

}  // namespace rlpp::search
