// Multi-process tests of data-parallel code: the test binary starts copies of itself as the ranks
// of a run on loopback (torchrun's variables, a free port). Each copy runs one "worker" test that
// skips unless its scenario variable is set, and logs to RLPP_RANK_LOG.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/temp_dir.h"

extern char** environ;

namespace rlpp::testing {

// A TCP port nobody listens on now (bound to 0, read back, closed).
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t n = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  ::close(fd);
  return ntohs(a.sin_port);
}

inline std::string this_executable() {
  std::string p(4096, '\0');
  p.resize(static_cast<size_t>(::readlink("/proc/self/exe", p.data(), p.size() - 1)));
  return p;
}

// Starts `size` ranks of this binary running only `worker_test` (e.g. "CommWorker.Scenario") with
// `scenario_var`=`scenario` set, rank r logging to dir/rank<r>.txt; waits and returns their exit
// codes (128 + signal when killed by one).
inline std::vector<int> run_ranks(const std::string& worker_test, const std::string& scenario_var,
                                  const std::string& scenario, int size, const TempDir& dir) {
  const int port = free_port();
  std::vector<pid_t> pids;
  for (int r = 0; r < size; ++r) {
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) env.emplace_back(*e);
    const std::vector<std::string> vars = {scenario_var + "=" + scenario,
                                           "RANK=" + std::to_string(r),
                                           "WORLD_SIZE=" + std::to_string(size),
                                           "MASTER_ADDR=127.0.0.1",
                                           "MASTER_PORT=" + std::to_string(port),
                                           "RLPP_RANK_LOG=" + dir.sub("rank" + std::to_string(r) + ".txt")};
    env.insert(env.end(), vars.begin(), vars.end());
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string exe = this_executable(), filter = "--gtest_filter=" + worker_test;
    char* argv[] = {exe.data(), filter.data(), nullptr};
    pid_t pid = -1;
    if (posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv, envp.data()) == 0) pids.push_back(pid);
  }
  std::vector<int> codes;
  for (pid_t p : pids) {
    int status = 0;
    ::waitpid(p, &status, 0);
    codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  }
  return codes;
}

}  // namespace rlpp::testing
