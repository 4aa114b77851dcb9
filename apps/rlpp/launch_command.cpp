// `rlpp launch`: the ranks of a data-parallel run on this machine (dist/launcher.h).
#include <unistd.h>

#include <iostream>
#include <memory>

#include "command.h"
#include "rlpp/core/error.h"
#include "rlpp/dist/launcher.h"

namespace {

std::string this_program() {
  std::string path(4096, '\0');
  const ssize_t n = ::readlink("/proc/self/exe", path.data(), path.size() - 1);
  if (n <= 0) throw rlpp::core::UserError("rlpp launch: cannot find this program (/proc/self/exe)");
  path.resize(static_cast<size_t>(n));
  return path;
}

const bool kRegistered = rlpp::cli::register_command(
    [](CLI::App& app, const std::atomic<bool>& stop) {
      auto req = std::make_shared<rlpp::dist::LaunchRequest>();
      auto* launch = app.add_subcommand("launch", "start and supervise the ranks of a data-parallel run on this machine");
      launch->add_option("--nproc-per-node", req->nproc_per_node, "ranks on this machine")
          ->check(CLI::Range(1, 1024));
      launch->add_option("--nnodes", req->nnodes, "machines in the run")->check(CLI::Range(1, 65536));
      launch->add_option("--node-rank", req->node_rank, "this machine's index, 0 … nnodes-1")->check(CLI::NonNegativeNumber);
      launch->add_option("--master-addr", req->master_addr, "host of rank 0 (its rendezvous store)");
      launch->add_option("--master-port", req->master_port, "port of rank 0's rendezvous store")
          ->check(CLI::Range(1, 65535));
      launch->add_option("--grace", req->grace_s, "seconds between asking the ranks to stop and killing them")
          ->check(CLI::NonNegativeNumber);
      launch->add_option("command", req->args, "after --: the rlpp command every rank runs, e.g. -- train R.toml");
      launch->footer("Examples:\n  rlpp launch --nproc-per-node 2 -- train configs/cartpole_ppo.toml --out runs/cp2\n"
                     "  rlpp launch --nnodes 2 --node-rank 0 --nproc-per-node 4 --master-addr 10.0.0.1 -- train R.toml");
      return rlpp::cli::Command{launch,
                                [req, &stop] {
                                  req->program = this_program();
                                  return rlpp::dist::launch(*req, stop, std::cerr);
                                },
                                true};
    },
    85);

}  // namespace
