// `rlpp simulate`: a game's learning dynamics, measured against its certificate (docs/games.md).
#include <iostream>
#include <memory>

#include "command.h"
#include "rlpp/certify/commands.h"

namespace {

struct SimulateArgs {
  rlpp::certify::SimulateRequest req;
  double step = 0.0, coupling = 0.0;  // applied only when given: the request's defaults are derived
  CLI::Option* step_opt = nullptr;
  CLI::Option* coupling_opt = nullptr;
};

int run_simulate_command(SimulateArgs a) {
  if (*a.step_opt) a.req.step = a.step;
  if (*a.coupling_opt) a.req.coupling = a.coupling;
  rlpp::certify::run_simulate(a.req, std::cout);
  return 0;
}

const bool kRegistered = rlpp::cli::register_command(
    [](CLI::App& app, const std::atomic<bool>&) {
      auto a = std::make_shared<SimulateArgs>();
      auto* simulate =
          app.add_subcommand("simulate", "run a game's learning dynamics and check the certificate empirically");
      simulate->add_option("game", a->req.game_path, "game file (see configs/games/)")->required();
      simulate->add_option("--method", a->req.method, "euler, rk4 or npg (default: npg for Markov games, else euler)");
      a->step_opt = simulate->add_option("--step", a->step, "step size h (default: the certified best Euler step)");
      simulate->add_option("--steps", a->req.steps, "number of steps")->check(CLI::Range(int64_t{1}, int64_t{10000000}));
      simulate->add_option("--scale", a->req.player_scale, "per-player step scales (one per player)");
      a->coupling_opt = simulate->add_option("--coupling", a->coupling, "multiply every coupling block A_ij");
      simulate->add_option("--seed", a->req.seed, "seed of the starting points");
      simulate->add_option("--trajectory", a->req.trajectory_out, "write the trajectory as CSV");
      simulate->add_option("--out", a->req.json_out, "write measured-vs-certified numbers as JSON");
      simulate->add_option("--plot", a->req.plot, "PNG phase portrait (players 0 and 1)");
      simulate->footer("Examples:\n  rlpp simulate configs/games/toy.toml --plot toy_phase.png\n"
                       "  rlpp simulate configs/games/markov_coordination.toml --method npg --steps 500");
      return rlpp::cli::Command{simulate, [a] { return run_simulate_command(*a); }, false};
    },
    80);

}  // namespace
