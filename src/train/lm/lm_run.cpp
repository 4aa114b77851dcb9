#include "train/lm/lm_run.h"

#include <iostream>

#include "rlpp/core/error.h"
#include "rlpp/core/progress.h"
#include "rlpp/nn/lm/pretrained.h"

namespace rlpp::train::lm {

LmRun::LmRun(const core::Recipe& recipe, const RunContext& ctx) : ctx_(ctx) {
  run_ = core::read_options<RunOptions>(recipe, "run");
  model_opts_ = core::read_options<LmModelOptions>(recipe, "model");
  tok_opts_ = core::read_options<TokenizerOptions>(recipe, "tokenizer");
  data_opts_ = core::read_options<LmDataOptions>(recipe, "data");
  data_ = std::make_unique<LmData>(data_opts_, recipe);
  if (!data_->skipped_report().empty() && !ctx_.quiet) std::cerr << "rlpp: " << data_->skipped_report() << "\n";
}

void LmRun::build_policy(const AdamWSettings& adamw) {
  torch::set_num_threads(run_.torch_threads);
  torch::manual_seed(static_cast<uint64_t>(run_.seed));
  rng_.reseed(static_cast<uint64_t>(run_.seed));
  tokenizer_ = make_tokenizer(tok_opts_, model_opts_, data_->alphabet(), &tokenizer_source_);
  model_ = make_model(model_opts_, *tokenizer_);
  optimizer_ = make_adamw(model_->parameters(), adamw);
}

void LmRun::finish_setup(const core::Recipe& recipe, const std::vector<std::string>& verbatim) {
  for (const auto& s : verbatim) {
    if (const toml::table* t = recipe.table()[s].as_table()) verbatim_[s] = *t;
  }
  toml::table out;
  core::write_options(run_, &out, "run");
  write_own_options(&out);
  core::write_options(model_opts_, &out, "model");
  core::write_options(tok_opts_, &out, "tokenizer");
  core::write_options(data_opts_, &out, "data");
  for (const auto& [name, table] : verbatim_) out.insert(name, table);
  resolved_ = core::to_toml_text(out);
  if (ctx_.resume) {
    const std::string path = latest_checkpoint(ctx_.run_dir);
    core::require(!path.empty(), "cannot resume: no checkpoint in " + ctx_.run_dir + "/checkpoints");
    load_state(path, /*full=*/true);
  }
}

bool LmRun::run(const std::atomic<bool>& stop) {
  core::MetricsLogger metrics(ctx_.run_dir, ctx_.resume, step_);
  std::ostream null_out(nullptr);
  core::Progress progress(run_.total_steps, ctx_.quiet ? std::optional<bool>(false) : std::nullopt,
                          ctx_.quiet ? 1e30 : run_.log_interval_s, ctx_.quiet ? null_out : std::cout);
  if (step_ == 0) {
    core::MetricRow row;
    evaluate_into(row);
    if (!row.empty()) metrics.log(0, row);
  }
  int64_t steps_this_call = 0;
  bool finished = step_ >= run_.total_steps;
  while (!finished && !stop.load()) {
    const auto t0 = std::chrono::steady_clock::now();
    core::MetricRow row = train_step();
    ++step_;
    finished = step_ >= run_.total_steps;
    if ((eval_every() > 0 && step_ % eval_every() == 0) || finished) evaluate_into(row);
    metrics.log(step_, row);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    progress.update(step_, 1.0 / std::max(secs, 1e-9), progress_value());
    ++steps_this_call;
    const bool periodic = run_.checkpoint_every > 0 && step_ % run_.checkpoint_every == 0;
    const bool split = ctx_.stop_after_updates > 0 && steps_this_call >= ctx_.stop_after_updates;
    if (periodic && !finished && !split) save_checkpoint();
    if (split) break;
  }
  save_checkpoint();
  if (finished) export_model();
  progress.finish();
  return finished;
}

void LmRun::save_checkpoint() const {
  CheckpointWriter w;
  w.put_int("step", step_);
  w.put_rng("rng", rng_);
  data_->save(w);
  model_->save(w.child("model"));
  optimizer_->save(w.child("optimizer"));
  save_extra(w);
  w.commit(ctx_.run_dir, step_, run_.keep_checkpoints);
}

void LmRun::load_state(const std::string& path, bool full) {
  CheckpointReader r(path);
  model_->load(r.child("model"));
  if (!full) return;
  optimizer_->load(r.child("optimizer"));
  step_ = r.get_int("step");
  r.get_rng("rng", &rng_);
  data_->load(r);
  load_extra(r);
}

void LmRun::export_model() {
  const std::string dir = ctx_.run_dir + "/model";
  nn::lm::save_pretrained(dir, model_);
  save_tokenizer(*tokenizer_, tokenizer_source_, dir);
}

}  // namespace rlpp::train::lm
