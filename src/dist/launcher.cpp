#include "rlpp/dist/launcher.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "rlpp/core/error.h"

extern char** environ;

namespace rlpp::dist {

namespace {

struct Rank {
  int rank = 0;
  pid_t pid = -1;
  bool running = false;
};

// This process's environment with torchrun's variables for `rank` (replacing any inherited ones).
std::vector<std::string> rank_environment(const LaunchRequest& req, int local_rank) {
  const int world = req.nnodes * req.nproc_per_node;
  const std::vector<std::pair<std::string, std::string>> vars = {
      {"RANK", std::to_string(req.node_rank * req.nproc_per_node + local_rank)},
      {"WORLD_SIZE", std::to_string(world)},
      {"LOCAL_RANK", std::to_string(local_rank)},
      {"LOCAL_WORLD_SIZE", std::to_string(req.nproc_per_node)},
      {"GROUP_RANK", std::to_string(req.node_rank)},
      {"MASTER_ADDR", req.master_addr},
      {"MASTER_PORT", std::to_string(req.master_port)},
  };
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv(*e);
    bool replaced = false;
    for (const auto& [k, v] : vars) replaced = replaced || kv.rfind(k + "=", 0) == 0;
    if (!replaced) env.push_back(kv);
  }
  for (const auto& [k, v] : vars) env.push_back(k + "=" + v);
  return env;
}

pid_t spawn(const LaunchRequest& req, int local_rank) {
  std::vector<std::string> argv_s = {req.program};
  argv_s.insert(argv_s.end(), req.args.begin(), req.args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s = rank_environment(req, local_rank);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, req.program.c_str(), nullptr, nullptr, argv.data(), envp.data());
  core::require(rc == 0, "rlpp launch: cannot start " + req.program + ": " + std::strerror(rc));
  return pid;
}

// The exit code a waitpid status stands for (128 + signal for a signal, as shells report it).
int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

void signal_running(std::vector<Rank>& ranks, int sig) {
  for (auto& r : ranks) {
    if (r.running) ::kill(r.pid, sig);
  }
}

}  // namespace

int launch(const LaunchRequest& req, const std::atomic<bool>& stop, std::ostream& log) {
  core::require(req.nproc_per_node >= 1, "rlpp launch: --nproc-per-node must be >= 1");
  core::require(req.nnodes >= 1 && req.node_rank >= 0 && req.node_rank < req.nnodes,
                "rlpp launch: --node-rank must be in [0, --nnodes)");
  core::require(req.master_port >= 1 && req.master_port <= 65535, "rlpp launch: --master-port must be in [1, 65535]");
  core::require(!req.args.empty(), "rlpp launch: no command after -- (e.g. rlpp launch --nproc-per-node 2 -- train "
                                   "configs/cartpole_ppo.toml)");
  std::vector<Rank> ranks(static_cast<size_t>(req.nproc_per_node));
  for (int i = 0; i < req.nproc_per_node; ++i) {
    ranks[static_cast<size_t>(i)] = {req.node_rank * req.nproc_per_node + i, spawn(req, i), true};
  }
  log << "rlpp launch: started ranks " << ranks.front().rank << "-" << ranks.back().rank << " of "
      << req.nnodes * req.nproc_per_node << " (master " << req.master_addr << ":" << req.master_port << ")"
      << std::endl;
  using Clock = std::chrono::steady_clock;
  int result = 0;
  bool forwarded = false;
  Clock::time_point kill_at = Clock::time_point::max();
  for (size_t alive = ranks.size(); alive > 0;) {
    if (stop.load() && !forwarded) {  // Ctrl-C / SIGTERM to the launcher: every rank stops cleanly
      forwarded = true;
      signal_running(ranks, SIGTERM);
      kill_at = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(req.grace_s * 1000));
    }
    if (Clock::now() >= kill_at) {
      log << "rlpp launch: ranks still running " << req.grace_s << " s after the stop request: killed" << std::endl;
      signal_running(ranks, SIGKILL);
      kill_at = Clock::time_point::max();
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    for (auto& r : ranks) {
      if (r.pid != pid || !r.running) continue;
      r.running = false;
      --alive;
      const int code = exit_code(status);
      if (code != 0 && result == 0) {
        result = code;
        log << "rlpp launch: rank " << r.rank << " "
            << (WIFEXITED(status) ? "exited with code " + std::to_string(code)
                                  : "was killed by signal " + std::to_string(WTERMSIG(status)))
            << "; stopping the other ranks" << std::endl;
        signal_running(ranks, SIGTERM);
        kill_at = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(req.grace_s * 1000));
      }
    }
  }
  return result;
}

}  // namespace rlpp::dist
