// rlpp.certify: `rlpp certify` and `rlpp simulate` as calls (python/rlpp/certify.py turns game
// dicts into files and the JSON reports into dicts).
#include <sstream>

#include "bindings.h"
#include "rlpp/certify/commands.h"

namespace rlpp::python {

namespace {

// The summary `run` prints for `req` (run_certify or run_simulate), computed without the GIL.
template <class Request>
std::string summary_of(void (*run)(const Request&, std::ostream&), const Request& req) {
  std::ostringstream summary;
  py::gil_scoped_release release;
  run(req, summary);
  return summary.str();
}

}  // namespace

void bind_certify(py::module_& m) {
  m.def(
      "certify",
      [](const std::string& game_path, const std::string& json_out, std::optional<double> coupling,
         std::optional<double> radius, std::optional<int64_t> random_points, const std::string& geometry) {
        certify::CertifyRequest req;
        req.game_path = game_path;
        req.json_out = json_out;
        req.coupling = coupling;
        req.radius = radius;
        req.random_points = random_points;
        req.geometry = geometry;
        return summary_of(&certify::run_certify, req);
      },
      py::arg("game_path"), py::arg("json_out"), py::arg("coupling") = py::none(), py::arg("radius") = py::none(),
      py::arg("random_points") = py::none(), py::arg("geometry") = "");
  m.def(
      "simulate",
      [](const std::string& game_path, const std::string& json_out, const std::string& method,
         std::optional<double> step, int64_t steps, std::optional<double> coupling, uint64_t seed,
         const std::string& trajectory_out) {
        certify::SimulateRequest req;
        req.game_path = game_path;
        req.json_out = json_out;
        req.method = method;
        req.step = step;
        req.steps = steps;
        req.coupling = coupling;
        req.seed = seed;
        req.trajectory_out = trajectory_out;
        return summary_of(&certify::run_simulate, req);
      },
      py::arg("game_path"), py::arg("json_out"), py::arg("method") = "", py::arg("step") = py::none(),
      py::arg("steps") = 200, py::arg("coupling") = py::none(), py::arg("seed") = 0, py::arg("trajectory_out") = "");
}

}  // namespace rlpp::python
