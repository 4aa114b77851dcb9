#include "rlpp/train/run.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <functional>
#include <iostream>

#include "rlpp/core/error.h"
#include "rlpp/core/fs.h"
#include "rlpp/core/strings.h"
#include "rlpp/dist/comm.h"
#include "rlpp/dist/world.h"
#include "rlpp/train/provenance.h"
#include "rlpp/train/run_loop.h"

namespace rlpp::train {

namespace fs = std::filesystem;

static std::string default_run_dir(const core::Recipe& recipe, const std::string& recipe_path) {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", std::localtime(&now));
  const toml::node* seed = recipe.table().at_path("run.seed").node();
  const int64_t s = seed && seed->is_integer() ? seed->value<int64_t>().value() : 1;
  return (fs::path("runs") / (fs::path(recipe_path).stem().string() + "-s" + std::to_string(s) + "-" + stamp)).string();
}

static void write_recipe(const std::string& run_dir, const Trainer& trainer) {
  core::ensure_output_dir(run_dir);
  core::atomic_write_file((fs::path(run_dir) / "recipe.toml").string(), trainer.resolved_recipe());
}

// The process group when torchrun's variables name more than one rank; {} otherwise.
static std::shared_ptr<dist::Comm> join_if_distributed(double timeout_s) {
  const dist::World world = dist::read_world();
  if (!world.distributed()) return {};
  dist::CommOptions opts;
  opts.timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  return dist::Comm::connect(world, opts);
}

// Checks that rank 0 runs (the others would only wait on it): its UserError, sent to every rank
// and thrown there too, so no rank is left waiting on a collective.
static void on_rank0(dist::Comm* comm, const std::function<void()>& check) {
  std::string error;
  if (!comm || comm->rank() == 0) {
    try {
      check();
    } catch (const core::UserError& e) {
      if (!comm) throw;
      error = e.what();
    }
  }
  if (comm) comm->broadcast_bytes(error, 0);
  if (!error.empty()) throw core::UserError(error);
}

static bool is_lead(const RunContext& ctx) { return !ctx.comm || ctx.comm->rank() == 0; }
static int ranks(const RunContext& ctx) { return ctx.comm ? ctx.comm->size() : 1; }

// Before the first update: the ranks run the same recipe, of an algorithm that trains data-parallel.
static void check_ranks(const RunContext& ctx, const core::Recipe& recipe, const Trainer& trainer) {
  if (!ctx.comm) return;
  const toml::node* alg = recipe.table().at_path("run.algorithm").node();
  core::require(trainer.data_parallel(),
                "run.algorithm = \"" + (alg ? alg->value_or(std::string("?")) : std::string("?")) +
                    "\" does not train data-parallel yet: run it as one process, without rlpp launch "
                    "(docs/distributed.md lists the algorithms that do)");
  ctx.comm->check_same("recipe", trainer.resolved_recipe());
}

static RunOutcome run_trainer(Trainer& trainer, const RunContext& ctx, const std::atomic<bool>& stop) {
  if (!ctx.quiet && is_lead(ctx)) {
    std::cout << "rlpp: run directory " << ctx.run_dir;
    if (ctx.comm) std::cout << " (" << ctx.comm->size() << " ranks, " << ctx.comm->backend() << ")";
    std::cout << std::endl;
  }
  RunOutcome out;
  out.run_dir = ctx.run_dir;
  out.finished = trainer.run(stop);
  if (!ctx.quiet && !out.finished && is_lead(ctx)) {
    std::cout << "rlpp: stopped early; checkpoint written. Continue with: rlpp resume " << ctx.run_dir << std::endl;
  }
  return out;
}

RunOutcome start_run(const StartRequest& req, const std::atomic<bool>& stop) {
  core::Recipe recipe = core::Recipe::load(req.recipe_path);
  for (const auto& o : req.overrides) recipe.set(o);
  RunContext ctx;
  ctx.run_dir = req.out_dir.empty() ? default_run_dir(recipe, req.recipe_path) : req.out_dir;
  ctx.stop_after_updates = req.stop_after_updates;
  ctx.quiet = req.quiet;
  ctx.comm = join_if_distributed(req.dist_timeout_s);
  if (ctx.comm) ctx.comm->broadcast_bytes(ctx.run_dir, 0);  // rank 0's (its default has its clock)
  on_rank0(ctx.comm.get(), [&] {
    std::error_code ec;
    // A directory whose run never reached a checkpoint (stopped or killed early) may be started
    // again in place; one with a checkpoint is continued with `rlpp resume`.
    if (fs::exists(fs::path(ctx.run_dir) / "recipe.toml", ec) && !latest_checkpoint(ctx.run_dir).empty()) {
      throw core::UserError("output directory '" + ctx.run_dir +
                            "' already holds a run; continue it with 'rlpp resume " + ctx.run_dir +
                            "' or choose another --out");
    }
    if (fs::exists(ctx.run_dir, ec) && !fs::is_directory(ctx.run_dir, ec)) {
      throw core::UserError("output path '" + ctx.run_dir + "' exists and is not a directory");
    }
  });
  std::unique_ptr<Trainer> trainer = make_trainer(recipe, ctx);  // validates everything first
  check_ranks(ctx, recipe, *trainer);
  if (is_lead(ctx)) {
    write_recipe(ctx.run_dir, *trainer);
    record_provenance(ctx.run_dir, "train", ranks(ctx));
  }
  return run_trainer(*trainer, ctx, stop);
}

const std::vector<std::string> kResumableKeys = {"run.total_steps", "run.checkpoint_every", "run.keep_checkpoints",
                                                "run.torch_threads", "run.log_interval_s",
                                                "rl.rollout_worker"};  // the same rows either way

RunOutcome resume_run(const ResumeRequest& req, const std::atomic<bool>& stop) {
  const std::string& run_dir = req.run_dir;
  const std::string recipe_path = (fs::path(run_dir) / "recipe.toml").string();
  std::error_code ec;
  core::require(fs::is_directory(run_dir, ec), "run directory '" + run_dir + "' does not exist or is not a directory");
  core::require(fs::is_regular_file(recipe_path, ec), "'" + run_dir + "' is not an rlpp run directory (no recipe.toml)");
  core::Recipe recipe = core::Recipe::load(recipe_path);
  for (const auto& o : req.overrides) {
    std::string key = o.substr(0, o.find('='));
    key.erase(std::remove_if(key.begin(), key.end(), [](unsigned char c) { return std::isspace(c); }), key.end());
    if (std::find(kResumableKeys.begin(), kResumableKeys.end(), key) == kResumableKeys.end()) {
      throw core::UserError("--set " + key + ": cannot change on resume (it changes what the checkpoint holds or "
                            "the math of the run); a resumed run may change only " + core::join(kResumableKeys, ", ") +
                            ". Start a new run with 'rlpp train' to change it");
    }
    recipe.set(o);
  }
  RunContext ctx;
  ctx.run_dir = run_dir;
  ctx.resume = true;
  ctx.stop_after_updates = req.stop_after_updates;
  ctx.quiet = req.quiet;
  ctx.skip_damaged = req.skip_damaged;
  ctx.comm = join_if_distributed(req.dist_timeout_s);
  std::unique_ptr<Trainer> trainer = make_trainer(recipe, ctx);
  check_ranks(ctx, recipe, *trainer);
  if (is_lead(ctx)) {
    if (!req.overrides.empty()) write_recipe(run_dir, *trainer);
    record_provenance(run_dir, "resume", ranks(ctx));
  }
  return run_trainer(*trainer, ctx, stop);
}

RunOutcome resume_run(const std::string& run_dir, const std::vector<std::string>& overrides,
                      int64_t stop_after_updates, bool quiet, const std::atomic<bool>& stop) {
  ResumeRequest req;
  req.run_dir = run_dir;
  req.overrides = overrides;
  req.stop_after_updates = stop_after_updates;
  req.quiet = quiet;
  return resume_run(req, stop);
}

EvalResult evaluate_run(const std::string& target, const EvalRequest& req) {
  std::error_code ec;
  if (!req.samples_path.empty()) {  // before the evaluation, not after it
    const fs::path parent = fs::path(req.samples_path).parent_path();
    core::require(parent.empty() || fs::is_directory(parent, ec),
                  "--samples-out: directory '" + parent.string() + "' does not exist");
    core::require(!fs::is_directory(req.samples_path, ec), "--samples-out: '" + req.samples_path + "' is a directory");
  }
  std::string run_dir, checkpoint;
  if (fs::is_directory(target, ec)) {
    run_dir = target;
    checkpoint = latest_checkpoint(run_dir);
    core::require(!checkpoint.empty(), "run directory '" + target + "' has no checkpoint yet");
  } else {
    core::require(fs::is_regular_file(target, ec), "'" + target + "' is neither a run directory nor a checkpoint file");
    checkpoint = target;
    run_dir = fs::path(target).parent_path().parent_path().string();  // RUN_DIR/checkpoints/x.pt
    if (run_dir.empty()) run_dir = ".";
  }
  const std::string recipe_path = (fs::path(run_dir) / "recipe.toml").string();
  core::require(fs::exists(recipe_path, ec), "cannot find the recipe of checkpoint '" + checkpoint + "' (expected " +
                                                 recipe_path + ")");
  const core::Recipe recipe = core::Recipe::load(recipe_path);
  RunContext ctx;
  ctx.run_dir = run_dir;
  ctx.quiet = true;
  std::unique_ptr<Trainer> trainer = make_trainer(recipe, ctx);
  trainer->load_checkpoint(checkpoint);
  return trainer->evaluate(req);
}

}  // namespace rlpp::train
