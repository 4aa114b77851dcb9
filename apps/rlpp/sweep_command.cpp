// `rlpp sweep`: variants x seeds of a recipe, each run a child `rlpp train` process, then a summary
// table and plots (train/sweep.h).
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "command.h"
#include "rlpp/core/error.h"
#include "rlpp/train/sweep.h"

namespace {

struct SweepArgs {
  std::string file, base;
  rlpp::train::SweepRequest req;
};

int run_sweep_command(SweepArgs a) {
  auto spec = rlpp::train::read_sweep(a.file);
  if (!a.base.empty()) {
    rlpp::core::require(std::filesystem::exists(a.base), "--base: no such recipe: " + a.base);
    spec.base = a.base;
  }
  if (a.req.out_dir.empty()) a.req.out_dir = "runs/sweep-" + std::filesystem::path(a.file).stem().string();
  a.req.exe = std::filesystem::read_symlink("/proc/self/exe").string();
  const auto s = rlpp::train::run_sweep(spec, a.req);
  for (const auto& f : s.files) std::cout << "rlpp: wrote " << f << std::endl;
  if (!s.failed.empty()) {
    std::cerr << "rlpp: " << s.failed.size() << " run(s) failed: " << s.failed.front() << " ..." << std::endl;
    return 1;
  }
  return 0;
}

const bool kRegistered = rlpp::cli::register_command(
    [](CLI::App& app, const std::atomic<bool>&) {
      auto a = std::make_shared<SweepArgs>();
      auto* sweep =
          app.add_subcommand("sweep", "train variants x seeds of a recipe and summarise them (table + PNG plots)");
      sweep->add_option("sweep_file", a->file, "sweep file (TOML: [sweep] base, seeds, set, metrics; [[variant]] name, set)")
          ->required();
      sweep->add_option("--out", a->req.out_dir, "sweep directory (default: runs/sweep-<file name>)");
      sweep->add_option("--base", a->base, "base recipe replacing the file's sweep.base (the same variants on another task)");
      sweep->add_option("--jobs", a->req.jobs, "runs trained at once")->check(CLI::Range(1, 256));
      sweep->add_flag("--summary-only", a->req.summary_only, "train nothing: summarise the runs the directory holds");
      sweep->add_flag("--quiet", a->req.quiet, "no progress lines");
      sweep->footer("Example:\n  rlpp sweep configs/sweeps/objectives.toml --jobs 2\n"
                    "Writes DIR/<variant>/seed_<s>/ (runs), DIR/summary.md, DIR/summary.json, DIR/<metric>.png; finished\n"
                    "runs are kept when the sweep is run again.");
      return rlpp::cli::Command{sweep, [a] { return run_sweep_command(*a); }, false};
    },
    60);

}  // namespace
