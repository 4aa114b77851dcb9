#include "rlpp/train/run_loop.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>

#include "rlpp/core/error.h"
#include "rlpp/core/progress.h"

namespace rlpp::train {

namespace fs = std::filesystem;

namespace {

bool is_checkpoint_name(const std::string& f) {
  return f.rfind("update_", 0) == 0 && f.size() > 3 && f.compare(f.size() - 3, 3, ".pt") == 0;
}

// Temp files of a writer killed between write and rename ("update_N.pt.tmp.<pid>.<n>").
void remove_stale_temp_files(const fs::path& dir, bool quiet) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string f = e.path().filename().string();
    if (f.find(".pt.tmp.") == std::string::npos) continue;
    fs::remove(e.path(), ec);
    if (!quiet && !ec) std::cerr << "rlpp: removed " << e.path().string() << " (left by an interrupted writer)\n";
  }
}

// A run started again from the beginning must not keep the rows of the attempt that never
// reached a checkpoint.
void remove_metric_files(const std::string& run_dir) {
  std::error_code ec;
  if (!fs::is_directory(run_dir, ec)) return;
  for (const auto& e : fs::directory_iterator(run_dir, ec)) {
    const std::string f = e.path().filename().string();
    if (f == core::kMetricsJsonlFile || f == core::kMetricsCsvFile || f.rfind("events.out.tfevents.", 0) == 0) {
      fs::remove(e.path(), ec);
    }
  }
}

}  // namespace

std::vector<std::string> checkpoints_newest_first(const std::string& run_dir) {
  const fs::path dir = fs::path(run_dir) / "checkpoints";
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (is_checkpoint_name(e.path().filename().string()) && e.is_regular_file(ec)) out.push_back(e.path().string());
  }
  std::sort(out.rbegin(), out.rend());  // update numbers are zero-padded: names sort by update
  return out;
}

std::string latest_checkpoint(const std::string& run_dir) {
  const auto all = checkpoints_newest_first(run_dir);
  return all.empty() ? "" : all.front();
}

void LoopTrainer::finish_setup(std::string resolved_recipe) {
  resolved_ = std::move(resolved_recipe);
  if (ctx_.resume) restore_newest();
}

void LoopTrainer::restore_newest() {
  remove_stale_temp_files(fs::path(ctx_.run_dir) / "checkpoints", ctx_.quiet);
  const std::vector<std::string> all = checkpoints_newest_first(ctx_.run_dir);
  if (all.empty()) {
    // Stopped (or killed) before its first checkpoint: the same run from its beginning.
    if (!ctx_.quiet) std::cout << "rlpp: " << ctx_.run_dir << " has no checkpoint yet: starting the run from the beginning\n";
    ctx_.resume = false;
    return;
  }
  for (const std::string& path : all) {
    const std::string damage = checkpoint_damage(path);
    if (damage.empty()) {
      CheckpointReader r(path);
      r.require_version(checkpoint_version());
      load_state(r, /*full=*/true);
      return;
    }
    if (!ctx_.skip_damaged) {
      throw core::UserError("checkpoint '" + path + "' is damaged (" + damage +
                            "); to continue from the newest intact checkpoint: rlpp resume " + ctx_.run_dir +
                            " --skip-damaged");
    }
    std::cerr << "rlpp: skipping damaged checkpoint '" << path << "' (" << damage << ")\n";
  }
  throw core::UserError("every checkpoint in " + ctx_.run_dir + "/checkpoints is damaged; nothing to resume from");
}

void LoopTrainer::load_checkpoint(const std::string& path) {
  CheckpointReader r(path);
  r.require_version(checkpoint_version());
  load_state(r, /*full=*/false);
}

void LoopTrainer::save_checkpoint() {
  CheckpointWriter w;
  w.put_int("version", checkpoint_version());
  save_state(w);
  w.commit(ctx_.run_dir, position().update, run_.keep_checkpoints);
}

bool LoopTrainer::run(const std::atomic<bool>& stop) {
  LoopPosition pos = position();
  if (!ctx_.resume) remove_metric_files(ctx_.run_dir);
  core::MetricsLogger metrics(ctx_.run_dir, ctx_.resume, pos.step);
  std::ostream null_out(nullptr);  // a stream with no buffer discards what is written
  core::Progress progress(pos.total_steps, ctx_.quiet ? std::optional<bool>(false) : std::nullopt,
                          ctx_.quiet ? 1e30 : run_.log_interval_s, ctx_.quiet ? null_out : std::cout);
  progress.set_rate_label(rate_label());
  on_start(metrics);
  const auto start = std::chrono::steady_clock::now();
  const int64_t start_step = pos.step;
  int64_t updates_this_call = 0;
  bool finished = pos.update >= pos.total_updates;
  while (!finished && !stop.load()) {
    const core::MetricRow row = step();
    pos = position();
    metrics.log(pos.step, row);
    // The rate over the whole call, not the last update: a stable ETA.
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    progress.update(pos.step, static_cast<double>(pos.step - start_step) / std::max(elapsed, 1e-9), progress_value());
    ++updates_this_call;
    finished = pos.update >= pos.total_updates;
    const bool periodic = run_.checkpoint_every > 0 && pos.update % run_.checkpoint_every == 0;
    const bool split = ctx_.stop_after_updates > 0 && updates_this_call >= ctx_.stop_after_updates;
    if (periodic && !finished && !split) save_checkpoint();
    if (split) break;
  }
  save_checkpoint();
  if (finished) on_finish();
  progress.finish();
  return finished;
}

}  // namespace rlpp::train
