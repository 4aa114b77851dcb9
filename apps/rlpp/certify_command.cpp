// `rlpp certify`: the Small-Gain Nash certificate of a differentiable game file (docs/games.md).
#include <iostream>
#include <memory>

#include "command.h"
#include "rlpp/certify/commands.h"

namespace {

struct CertifyArgs {
  rlpp::certify::CertifyRequest req;
  double coupling = 0.0, radius = 0.0;  // applied only when given: the request's defaults are the file's
  int64_t points = 0;
  CLI::Option* coupling_opt = nullptr;
  CLI::Option* radius_opt = nullptr;
  CLI::Option* points_opt = nullptr;
};

int run_certify_command(CertifyArgs a) {
  if (*a.coupling_opt) a.req.coupling = a.coupling;
  if (*a.radius_opt) a.req.radius = a.radius;
  if (*a.points_opt) a.req.random_points = a.points;
  rlpp::certify::run_certify(a.req, std::cout);
  return 0;
}

const bool kRegistered = rlpp::cli::register_command(
    [](CLI::App& app, const std::atomic<bool>&) {
      auto a = std::make_shared<CertifyArgs>();
      auto* certify = app.add_subcommand("certify", "Small-Gain Nash certificate of a game file (TOML or JSON)");
      certify->add_option("game", a->req.game_path, "game file (see configs/games/)")->required();
      a->coupling_opt = certify->add_option("--coupling", a->coupling, "multiply every coupling block A_ij (quadratic games)");
      a->radius_opt = certify->add_option("--radius", a->radius, "half-width of the region box");
      a->points_opt = certify->add_option("--random-points", a->points, "random points sampled in the region")
                          ->check(CLI::Range(int64_t{0}, int64_t{1000000}));
      certify->add_option("--geometry", a->req.geometry, "euclidean or fisher (Markov games; default: the file's)");
      certify->add_option("--out", a->req.json_out, "write the certificate as JSON");
      certify->add_option("--plot-margin", a->req.plot_margin, "PNG: Euclidean and SGN margins against the coupling scale");
      certify->add_option("--coupling-max", a->req.coupling_max, "largest coupling scale on that plot");
      certify->footer("Examples:\n  rlpp certify configs/games/toy.toml --out toy.json\n"
                      "  rlpp certify configs/games/lq_rotation.toml --coupling 1.2 --plot-margin lq.png");
      return rlpp::cli::Command{certify, [a] { return run_certify_command(*a); }, false};
    },
    70);

}  // namespace
