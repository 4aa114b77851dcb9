// Subcommands that live in their own file (apps/rlpp/<area>_commands.cpp) register themselves, so
// main.cpp stays a list of the built-in ones:
//
//   namespace {
//   const bool kRegistered = rlpp::cli::register_command([](CLI::App& app, const std::atomic<bool>& stop) {
//     auto opts = std::make_shared<MyRequest>();
//     auto* sub = app.add_subcommand("my-command", "one line of help");
//     sub->add_option("--out", opts->out, "...");
//     return rlpp::cli::Command{sub, [opts, &stop] { return run_my_command(*opts, stop); }};
//   });
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
};

using CommandAdder = std::function<Command(CLI::App& app, const std::atomic<bool>& stop)>;

// Returns true so that it can initialise a namespace-scope constant.
bool register_command(CommandAdder adder);
const std::vector<CommandAdder>& registered_commands();

}  // namespace rlpp::cli
