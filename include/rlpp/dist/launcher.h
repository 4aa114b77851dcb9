// `rlpp launch`: starts the ranks of this machine as child processes with torchrun's variables
// (world.h) and supervises them. When one rank fails (a non-zero exit or a signal), the launcher
// names it, asks the others to stop (SIGTERM: they finish the update and checkpoint), kills those
// still running after the grace period, and returns a non-zero code. Ctrl-C / SIGTERM to the
// launcher is passed on to every rank.
#pragma once
#include <atomic>
#include <ostream>
#include <string>
#include <vector>

namespace rlpp::dist {

struct LaunchRequest {
  int nproc_per_node = 1;
  int nnodes = 1;
  int node_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  double grace_s = 30;                // after a failure: SIGTERM, then SIGKILL this much later
  std::string program;                // the executable every rank runs (rlpp itself)
  std::vector<std::string> args;      // its arguments, e.g. {"train", "configs/cartpole_ppo.toml"}
};

// Runs the ranks to the end: 0 when every rank exits 0, else the first failing rank's exit code
// (128 + signal for a signal; at least 1). Progress and failures are written to `log`.
int launch(const LaunchRequest& req, const std::atomic<bool>& stop, std::ostream& log);

}  // namespace rlpp::dist
