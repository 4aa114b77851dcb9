// The `rlpp` program: app setup, argument parsing, dispatch to the subcommand (each in its own
// apps/rlpp/<name>_command.cpp, registered through command.h) and the error-to-exit-code mapping.
#include <torch/torch.h>
#include <torch/version.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdint>
#include <ctime>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "command.h"
#include "rlpp/core/build_info.h"
#include "rlpp/core/error.h"
#include "rlpp/search/trainers/trainers.h"
#include "rlpp/version.h"

namespace {

std::atomic<bool> g_stop{false};
std::atomic<int64_t> g_first_stop_ns{0};  // CLOCK_MONOTONIC of the first stop signal; 0 = none yet

// A signal this soon after the first is the same request delivered twice: a SIGTERM to a process
// group (a terminal's Ctrl-C, `kill -- -PGID`, a batch scheduler signalling every process of a job)
// reaches each rank directly and again as the copy `rlpp launch` forwards.
constexpr int64_t kRepeatWindowNs = 2'000'000'000;

// First Ctrl-C or SIGTERM (what batch schedulers send): finish the current update, write a
// checkpoint and exit cleanly. Another one at least 2 s later: the default action (terminate at
// once). Only async-signal-safe calls (clock_gettime, lock-free atomics, signal, raise).
void on_stop_signal(int sig) {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const int64_t now = static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec + 1;
  const int64_t first = g_first_stop_ns.load();
  if (first == 0) {
    g_first_stop_ns.store(now);
    g_stop.store(true);
    return;
  }
  if (now - first < kRepeatWindowNs) return;
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

std::string version_text() {
  std::ostringstream s;
  s << "rlpp " << RLPP_VERSION << " (commit " << rlpp::core::build_commit() << ")\nLibTorch " << TORCH_VERSION << "\nCUDA available: "
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
