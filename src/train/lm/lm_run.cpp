#include "train/lm/lm_run.h"

#include <algorithm>
#include <chrono>
#include <iostream>

#include "rlpp/core/error.h"
#include "rlpp/dist/comm.h"
#include "rlpp/nn/lm/pretrained.h"

namespace rlpp::train::lm {

LmRun::LmRun(const core::Recipe& recipe, const RunContext& ctx) : LoopTrainer(ctx) {
  run_ = core::read_options<RunOptions>(recipe, "run");
  model_opts_ = core::read_options<LmModelOptions>(recipe, "model");
  tok_opts_ = core::read_options<TokenizerOptions>(recipe, "tokenizer");
  data_opts_ = core::read_options<LmDataOptions>(recipe, "data");
  data_ = std::make_unique<LmData>(data_opts_, recipe, &resolved_);
  // A warning, not progress: --quiet does not hide it.
  if (!data_->skipped_report().empty()) std::cerr << "rlpp: " << data_->skipped_report() << "\n";
}

void LmRun::build_policy(const AdamWSettings& adamw) {
  torch::set_num_threads(run_.torch_threads);
  torch::manual_seed(static_cast<uint64_t>(run_.seed));
  rng_.reseed(static_cast<uint64_t>(run_.seed));
  tokenizer_ = make_tokenizer(tok_opts_, model_opts_, data_->alphabet(), &tokenizer_source_);
  model_ = make_model(model_opts_, *tokenizer_);
  optimizer_ = make_adamw(model_->parameters(), adamw);
}

void LmRun::finish_setup() {
  toml::table out;
  core::write_options(run_, &out, "run");
  write_own_options(&out);
  core::write_options(model_opts_, &out, "model");
  core::write_options(tok_opts_, &out, "tokenizer");
  core::write_options(data_opts_, &out, "data");
  for (const auto& [k, v] : resolved_) {
    if (const toml::table* t = v.as_table()) out.insert(k, *t);
    if (const toml::array* a = v.as_array()) out.insert(k, *a);  // [[selectors]]
  }
  LoopTrainer::finish_setup(core::to_toml_text(out));
}

void LmRun::on_start(core::MetricsLogger& metrics) {
  if (step_ != 0) return;
  core::MetricRow row;  // the starting point of every curve
  evaluate_into(row);
  if (!row.empty()) metrics.log(0, row);
}

core::MetricRow LmRun::step() {
  const auto t0 = std::chrono::steady_clock::now();
  const double busy0 = comm() ? comm()->busy_seconds() : 0.0;
  core::MetricRow row = train_step();
  if (comm()) {  // the share of the step spent inside collectives (data-parallel runs)
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    row.emplace_back("perf/comm_share", (comm()->busy_seconds() - busy0) / std::max(s, 1e-9));
  }
  ++step_;
  if ((eval_every() > 0 && step_ % eval_every() == 0) || step_ >= run_.total_steps) evaluate_into(row);
  return row;
}

void LmRun::save_state(CheckpointWriter& w) {
  w.put_int("step", step_);
  w.put_rng("rng", rng_);
  data_->save(w);
  model_->save(w.child("model"));
  optimizer_->save(w.child("optimizer"));
  save_extra(w);
}

void LmRun::load_state(CheckpointReader& r, bool full) {
  model_->load(r.child("model"));
  if (!full) return;
  optimizer_->load(r.child("optimizer"));
  step_ = r.get_int("step");
  r.get_rng("rng", &rng_);
  data_->load(r);
  load_extra(r);
}

std::string LmRun::replica_fingerprint() {
  int64_t bytes = 0;
  const uint32_t crc = tensors_crc32(model_->parameters(), 0, &bytes);
  return "crc32 " + std::to_string(crc) + " of " + std::to_string(bytes) + " weight bytes";
}

void LmRun::on_finish() {
  if (rank() != 0) return;  // one export, by the rank that writes the run directory
  const std::string dir = ctx_.run_dir + "/model";
  nn::lm::save_pretrained(dir, model_);
  save_tokenizer(*tokenizer_, tokenizer_source_, dir);
}

}  // namespace rlpp::train::lm
