// Every `rlpp` subcommand lives in its own file, apps/rlpp/<name>_command.cpp, and registers
// itself; main.cpp only parses and dispatches:
//
//   namespace {
//   const bool kRegistered = rlpp::cli::register_command([](CLI::App& app, const std::atomic<bool>& stop) {
//     auto opts = std::make_shared<MyRequest>();
//     auto* sub = app.add_subcommand("my-command", "one line of help");
//     sub->add_option("--out", opts->out, "...");
//     return rlpp::cli::Command{sub, [opts, &stop] { return run_my_command(*opts, stop); }};
//   }, /*help_rank=*/300);
//   }  // namespace
//
// run() returns the exit code; it throws core::UserError for bad input (main prints it, exit 2).
// `stop` turns true on the first Ctrl-C (SIGINT) or SIGTERM.
#pragma once
#include <CLI/CLI.hpp>
#include <atomic>
#include <functional>
#include <vector>

namespace rlpp::cli {

struct Command {
  CLI::App* sub = nullptr;
  std::function<int()> run;
  // run() watches `stop`: the first SIGINT / SIGTERM sets it (a clean stop, e.g. a checkpoint),
  // the second terminates. false: the signals keep their default action (terminate at once).
  bool watches_stop = true;
};

using CommandAdder = std::function<Command(CLI::App& app, const std::atomic<bool>& stop)>;

// Where a subcommand appears in `rlpp --help` (lower first; equal ranks in registration order, which
// is the link order). 10-80: train, resume, eval, list, plot, sweep, certify, simulate; 90-120: the
// search commands; 200-240: agent-bench, agent-cases, agent-sft, serve, serve-bench.
constexpr int kHelpRankLast = 1000;

// Returns true so that it can initialise a namespace-scope constant.
bool register_command(CommandAdder adder, int help_rank = kHelpRankLast);
// In help order.
std::vector<CommandAdder> registered_commands();

}  // namespace rlpp::cli
