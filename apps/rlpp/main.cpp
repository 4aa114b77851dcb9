// The `rlpp` program: app setup, argument parsing, dispatch to the subcommand (each in its own
// apps/rlpp/<name>_command.cpp, registered through command.h) and the error-to-exit-code mapping.
#include <torch/torch.h>
#include <torch/version.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "command.h"
#include "rlpp/core/error.h"
#include "rlpp/search/trainers/trainers.h"
#include "rlpp/version.h"

namespace {

std::atomic<bool> g_stop{false};

// First Ctrl-C or SIGTERM (what batch schedulers send): finish the current update, write a
// checkpoint and exit cleanly. A second one: the default action (terminate at once).
void on_stop_signal(int) {
  g_stop.store(true);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

std::string version_text() {
  std::ostringstream s;
  s << "rlpp " << RLPP_VERSION << "\nLibTorch " << TORCH_VERSION << "\nCUDA available: "
    << (torch::cuda::is_available() ? "yes" : "no");
  if (torch::cuda::is_available()) s << " (" << torch::cuda::device_count() << " device(s))";
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  rlpp::search::register_trainers();  // mcts_dpo, mcts_value, search_pg as `rlpp train` algorithms
  CLI::App app{"rlpp: reinforcement-learning policy optimization engine"};
  app.require_subcommand(0, 1);
  bool show_version = false;
  app.add_flag("--version", show_version, "print rlpp's version, the LibTorch version and CUDA availability");

  std::vector<rlpp::cli::Command> commands;
  for (const auto& add : rlpp::cli::registered_commands()) commands.push_back(add(app, g_stop));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return rlpp::core::kExitUserError;
  }

  try {
    if (show_version) {
      std::cout << version_text() << std::endl;
      return 0;
    }
    for (const auto& c : commands) {
      if (!c.sub->parsed()) continue;
      // Commands that watch g_stop stop cleanly on a signal; the others keep the default action.
      if (c.watches_stop) {
        std::signal(SIGINT, on_stop_signal);
        std::signal(SIGTERM, on_stop_signal);
      }
      return c.run();
    }
    std::cout << app.help() << std::endl;
  } catch (const rlpp::core::UserError& e) {
    std::cerr << "rlpp: error: " << e.what() << std::endl;
    return rlpp::core::kExitUserError;
  } catch (const c10::Error& e) {
    std::cerr << "rlpp: error: " << e.what_without_backtrace() << std::endl;
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "rlpp: internal error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
