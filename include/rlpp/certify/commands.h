// What `rlpp certify` and `rlpp simulate` do, as library calls (the program only parses arguments).
// Every output file is written atomically; a bad game file or option is a core::UserError.
#pragma once
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace rlpp::certify {

struct CertifyRequest {
  std::string game_path;
  std::string json_out;                  // certificate JSON ("" = none)
  std::optional<double> coupling;        // multiplies every coupling block A_ij (quadratic games)
  std::optional<double> radius;          // overrides [region].radius
  std::optional<int64_t> random_points;  // overrides [region].random_points
  std::string geometry;                  // "euclidean" / "fisher"; "" = the file's
  std::string plot_margin;               // PNG: Euclidean and SGN margins against the coupling scale
  double coupling_max = 2.0;             // x-range of that plot
};

// Prints the certificate summary to `out`; writes the JSON and the plot when asked.
void run_certify(const CertifyRequest& req, std::ostream& out);

struct SimulateRequest {
  std::string game_path;
  std::string method;               // "euler", "rk4", "npg"; "" = npg for Markov games, else euler
  std::optional<double> step;       // default: the certificate's best Euler step α*/β²
  int64_t steps = 200;
  std::vector<double> player_scale; // per-player step scales (empty = 1)
  std::optional<double> coupling;
  uint64_t seed = 0;                // starting points
  std::string trajectory_out;       // CSV: step, distance, x_0 … x_{n−1}
  std::string plot;                 // PNG phase portrait (first coordinates of players 0 and 1)
  std::string json_out;             // the measured-vs-certified report
};

void run_simulate(const SimulateRequest& req, std::ostream& out);

}  // namespace rlpp::certify
