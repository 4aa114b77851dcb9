#include "rlpp/train/run_loop.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>

#include "rlpp/core/error.h"
#include "rlpp/core/fs.h"
#include "rlpp/core/progress.h"
#include "rlpp/core/zip_check.h"
#include "rlpp/dist/comm.h"

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

uint32_t LoopTrainer::tensors_crc32(const std::vector<torch::Tensor>& tensors, uint32_t crc, int64_t* bytes) {
  for (const torch::Tensor& t : tensors) {
    const torch::Tensor c = t.detach().contiguous();
    const size_t n = static_cast<size_t>(c.numel() * c.element_size());
    crc = core::crc32(std::string_view(static_cast<const char*>(c.data_ptr()), n), crc);
    *bytes += static_cast<int64_t>(n);
  }
  return crc;
}

dist::Comm* LoopTrainer::comm() const { return ctx_.comm && ctx_.comm->size() > 1 ? ctx_.comm.get() : nullptr; }
int LoopTrainer::rank() const { return comm() ? comm()->rank() : 0; }
int LoopTrainer::world_size() const { return comm() ? comm()->size() : 1; }

std::pair<std::string, std::string> LoopTrainer::read_newest() {
  remove_stale_temp_files(fs::path(ctx_.run_dir) / "checkpoints", ctx_.quiet);
  const std::vector<std::string> all = checkpoints_newest_first(ctx_.run_dir);
  for (const std::string& path : all) {
    const std::string damage = checkpoint_damage(path);
    if (damage.empty()) return {path, core::read_file(path)};
    if (!ctx_.skip_damaged) {
      throw core::UserError("checkpoint '" + path + "' is damaged (" + damage +
                            "); to continue from the newest intact checkpoint: rlpp resume " + ctx_.run_dir +
                            " --skip-damaged");
    }
    // Set aside (kept for inspection): the run continues from an older update, and the damaged
    // file must never again be taken for the newest checkpoint.
    std::error_code ec;
    fs::rename(path, path + ".damaged", ec);
    std::cerr << "rlpp: skipping damaged checkpoint '" << path << "' (" << damage << "), moved to '" << path
              << ".damaged'\n";
  }
  if (!all.empty()) {
    throw core::UserError("every checkpoint in " + ctx_.run_dir + "/checkpoints is damaged; nothing to resume from");
  }
  return {"", ""};
}

void LoopTrainer::restore_newest() {
  std::pair<std::string, std::string> file;  // path, bytes
  if (rank() == 0) file = read_newest();
  if (comm()) {
    comm()->broadcast_bytes(file.first, 0);
    comm()->broadcast_bytes(file.second, 0);
  }
  if (file.first.empty()) {
    // Stopped (or killed) before its first checkpoint: the same run from its beginning.
    if (!ctx_.quiet && rank() == 0) {
      std::cout << "rlpp: " << ctx_.run_dir << " has no checkpoint yet: starting the run from the beginning\n";
    }
    ctx_.resume = false;
    return;
  }
  CheckpointReader r(CheckpointReader::Bytes{file.second, file.first});
  r.require_version(checkpoint_version());
  const int64_t ranks = r.has("world_size") ? r.get_int("world_size") : 1;
  if (ranks != world_size()) {
    const std::string why = why_ranks_fixed(r);
    if (!why.empty()) {
      throw core::UserError("checkpoint '" + file.first + "' was written by a run of " + std::to_string(ranks) +
                            " rank(s); resume it with " + std::to_string(ranks) +
                            " (rlpp launch --nproc-per-node …), not " + std::to_string(world_size()) + ": " + why);
    }
  }
  load_state(r, /*full=*/true);
  const std::string key = "rank_state." + std::to_string(rank());
  if (ranks == world_size() && r.has(key)) {
    CheckpointReader part(CheckpointReader::Bytes{r.get_bytes(key), file.first + " [" + key + "]"});
    load_rank_state(part);
  }
}

void LoopTrainer::load_checkpoint(const std::string& path) {
  CheckpointReader r(path);
  r.require_version(checkpoint_version());
  load_state(r, /*full=*/false);
}

void LoopTrainer::save_checkpoint() {
  CheckpointWriter mine;
  save_rank_state(mine);
  const std::string part = mine.bytes();
  std::vector<std::string> parts = comm() ? comm()->gather_bytes(part, 0) : std::vector<std::string>{part};
  const std::string fingerprint = replica_fingerprint();
  std::vector<std::string> fingerprints =
      comm() ? comm()->gather_bytes(fingerprint, 0) : std::vector<std::string>{fingerprint};
  if (rank() != 0) return;
  std::string diverged;
  for (size_t r = 1; r < fingerprints.size(); ++r) {
    if (fingerprints[r] != fingerprints[0]) diverged += (diverged.empty() ? "" : ", ") + std::to_string(r);
  }
  core::require(diverged.empty(), "data-parallel run diverged: at update " + std::to_string(position().update) +
                                      " the weights of rank(s) " + diverged + " differ from rank 0's");
  CheckpointWriter w;
  w.put_int("version", checkpoint_version());
  w.put_int("world_size", world_size());
  save_state(w);
  for (size_t r = 0; r < parts.size(); ++r) {
    w.put_bytes("rank_state." + std::to_string(r), parts[r]);
    if (!fingerprints[r].empty()) w.put_bytes("replica." + std::to_string(r), fingerprints[r]);
  }
  w.commit(ctx_.run_dir, position().update, run_.keep_checkpoints);
}

// A stop request (Ctrl-C, SIGTERM) may reach the ranks at different updates: they stop together
// at the first update after any of them saw it.
bool LoopTrainer::agreed_stop(const std::atomic<bool>& stop) const {
  const bool mine = stop.load();
  return comm() ? comm()->any(mine) : mine;
}

bool LoopTrainer::run(const std::atomic<bool>& stop) {
  LoopPosition pos = position();
  const bool lead = rank() == 0;  // logs, shows progress and writes checkpoints
  if (!ctx_.resume && lead) remove_metric_files(ctx_.run_dir);
  const core::MetricsSinks sinks = lead ? core::MetricsSinks{} : core::MetricsSinks{false, false, false};
  core::MetricsLogger metrics(ctx_.run_dir, ctx_.resume, pos.step, sinks);
  const bool quiet = ctx_.quiet || !lead;
  std::ostream null_out(nullptr);  // a stream with no buffer discards what is written
  core::Progress progress(pos.total_steps, quiet ? std::optional<bool>(false) : std::nullopt,
                          quiet ? 1e30 : run_.log_interval_s, quiet ? null_out : std::cout);
  progress.set_rate_label(rate_label());
  on_start(metrics);
  const auto start = std::chrono::steady_clock::now();
  const int64_t start_step = pos.step;
  int64_t updates_this_call = 0;
  bool finished = pos.update >= pos.total_updates;
  while (!finished && !agreed_stop(stop)) {
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
