#include "rlpp/certify/commands.h"

#include <chrono>
#include <cmath>
#include <iostream>
#include <iomanip>
#include <random>
#include <sstream>

#include "rlpp/certify/certificate.h"
#include "rlpp/certify/contraction_check.h"
#include "rlpp/certify/game_file.h"
#include "rlpp/certify/margin.h"
#include "rlpp/certify/markov_game.h"
#include "rlpp/certify/quadratic_game.h"
#include "rlpp/core/error.h"
#include "rlpp/core/fs.h"
#include "rlpp/core/plot.h"

namespace rlpp::certify {
namespace {

const QuadraticGame& need_quadratic(const GameFile& f, const std::string& what) {
  const auto* q = dynamic_cast<const QuadraticGame*>(f.game.get());
  if (q == nullptr) throw core::UserError(what + " needs a quadratic, bilinear or LQ game; " + f.path + " is " + f.kind);
  return *q;
}

// The game file with the command-line overrides applied.
GameFile load(const std::string& path, const std::optional<double>& coupling) {
  GameFile f = load_game_file(path);
  if (coupling) {
    core::require(std::isfinite(*coupling), "--coupling must be finite");
    f.game = std::make_unique<QuadraticGame>(need_quadratic(f, "--coupling").with_coupling(*coupling));
  }
  return f;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string fmt(double v) {
  std::ostringstream s;
  s << std::setprecision(6) << v;
  return s.str();
}

void plot_margins(const QuadraticGame& game, double coupling_max, const std::string& png) {
  core::require(coupling_max > 0.0 && std::isfinite(coupling_max), "--coupling-max must be positive");
  core::Curve euclid{"euclidean margin", {}, {}}, sgn{"SGN margin alpha*", {}, {}}, zero{"0", {}, {}};
  for (int k = 0; k <= 60; ++k) {
    const double lambda = coupling_max * k / 60.0;
    const Certificate c = certify(game.with_coupling(lambda), {});
    euclid.x.push_back(lambda);
    euclid.y.push_back(c.constants.euclidean_margin);
    sgn.x.push_back(lambda);
    sgn.y.push_back(c.weights.alpha);
  }
  zero.x = {0.0, coupling_max};
  zero.y = {0.0, 0.0};
  core::PlotOptions o;
  o.title = "certified margin vs coupling scale";
  o.xlabel = "coupling scale lambda";
  o.ylabel = "margin";
  core::plot_curves({euclid, sgn, zero}, o, png);
}

}  // namespace

void run_certify(const CertifyRequest& req, std::ostream& out) {
  const auto t0 = std::chrono::steady_clock::now();
  GameFile f = load(req.game_path, req.coupling);
  if (req.radius) {
    core::require(*req.radius >= 0.0 && std::isfinite(*req.radius), "--radius must be >= 0");
    f.region.radius = *req.radius;
  }
  if (req.random_points) f.region.random_points = *req.random_points;
  if (!req.geometry.empty()) {
    core::require(req.geometry == "euclidean" || req.geometry == "fisher", "--geometry must be euclidean or fisher");
    core::require(req.geometry == "euclidean" || f.kind == "markov", "--geometry fisher needs a Markov game");
    f.geometry = req.geometry == "fisher" ? Geometry::kFisher : Geometry::kEuclidean;
  }
  CertifyOptions options{f.region, f.geometry, nullptr};
  // Large games take seconds to minutes (N² block norms, O(N³) weights): say what is running.
  if (f.game->num_players() > kDenseRadiusLimit || f.game->dim() > kExactMarginLimit) {
    std::cerr << "certify: " << f.path << ": " << f.game->num_players() << " players, " << f.game->dim()
              << " coordinates, read in " << fmt(seconds_since(t0)) << " s" << std::endl;
    options.progress = [](const std::string& stage, double s) {
      std::cerr << "certify: " << stage << " (at " << fmt(s) << " s)" << std::endl;
    };
  }
  const Certificate c = certify(*f.game, options);
  out << f.path << (f.name.empty() ? "" : " (" + f.name + ")") << "\n" << certificate_summary(c);
  out << "certified in " << fmt(c.seconds) << " s\n";
  if (!req.json_out.empty()) {
    nlohmann::json j = certificate_json(c);
    j["game"] = f.path;
    if (req.coupling) j["coupling"] = *req.coupling;
    core::atomic_write_file(req.json_out, j.dump(2) + "\n");
    out << "wrote " << req.json_out << "\n";
  }
  if (!req.plot_margin.empty()) {
    plot_margins(need_quadratic(f, "--plot-margin"), req.coupling_max, req.plot_margin);
    out << "wrote " << req.plot_margin << "\n";
  }
}

void run_simulate(const SimulateRequest& req, std::ostream& out) {
  const GameFile f = load(req.game_path, req.coupling);
  const Game& game = *f.game;
  const bool markov = f.kind == "markov";
  DynamicsOptions o;
  o.method = parse_method(req.method.empty() ? (markov ? "npg" : "euler") : req.method);
  core::require(o.method != Method::kNpg || markov, "--method npg needs a Markov game");
  core::require(req.steps >= 1 && req.steps <= 10000000, "--steps must be in [1, 10000000]");
  o.steps = req.steps;
  if (!req.player_scale.empty()) {
    core::require(static_cast<int>(req.player_scale.size()) == game.num_players(),
                  "--scale needs one value per player (" + std::to_string(game.num_players()) + ")");
    o.player_scale = Eigen::Map<const Eigen::VectorXd>(req.player_scale.data(), game.num_players());
    core::require(o.player_scale.allFinite() && o.player_scale.minCoeff() > 0.0, "--scale values must be positive");
  }
  // NPG is Euler in the Fisher metric: certify in that geometry; Euclidean dynamics in the Euclidean one.
  const Geometry geometry = o.method == Method::kNpg ? Geometry::kFisher : Geometry::kEuclidean;
  const Certificate c = certify(game, {f.region, geometry, nullptr});
  if (req.step) {
    core::require(*req.step > 0.0 && std::isfinite(*req.step), "--step must be positive");
    o.step = *req.step;
  } else {
    core::require(c.holds, "the game is not certified (alpha* = " + fmt(c.weights.alpha) +
                               "), so there is no certified step; pass --step");
    o.step = c.euler_step_best;
  }
  std::mt19937_64 gen(req.seed);
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  const Eigen::VectorXd centre = f.region.centre.size() ? f.region.centre : game.centre();
  const auto random_start = [&] {
    Eigen::VectorXd x = centre;
    for (int64_t k = 0; k < x.size(); ++k) x(k) += f.region.radius * unit(gen);
    return game.project(x);
  };
  const Eigen::VectorXd x0 = random_start();
  Eigen::VectorXd y0;
  Distance distance;
  if (markov) {
    y0 = find_equilibrium(game, o, centre, 1e-13, 200000);
    distance = kl_distance(game, c.weights.w);
  } else {
    y0 = random_start();
    distance = metric_distance(game, c.weights.w);
  }
  const ContractionReport r = check_contraction(game, c, o, x0, y0, distance);
  const std::vector<Eigen::VectorXd> traj = simulate(game, x0, o);
  const std::vector<Eigen::VectorXd> other = markov ? std::vector<Eigen::VectorXd>{} : simulate(game, y0, o);
  std::vector<double> dist;
  for (size_t k = 0; k < traj.size(); ++k) dist.push_back(distance(traj[k], markov ? y0 : other[std::min(k, other.size() - 1)]));
  // Steps until the distance falls below 1e-4 of its start (well above the KL distance's round-off).
  int64_t to_tol = -1;
  for (size_t k = 0; k < dist.size(); ++k) {
    if (dist[k] <= 1e-4 * dist[0]) {
      to_tol = static_cast<int64_t>(k);
      break;
    }
  }
  out << f.path << ": " << method_name(o.method) << ", h = " << fmt(o.step) << ", " << o.steps << " steps, "
      << (geometry == Geometry::kFisher ? "fisher" : "euclidean") << " certificate "
      << (c.holds ? "holds" : "fails") << " (alpha* = " << fmt(c.weights.alpha) << ", beta = " << fmt(c.beta) << ")\n";
  out << "distance " << (markov ? "sqrt(2 sum_i w_i KL(pi*_i || pi_i)) to the equilibrium" : "||x - y||_M between two runs")
      << ": " << fmt(dist.front()) << " -> " << fmt(dist.back()) << "; below 1e-4 of the start after "
      << (to_tol >= 0 ? std::to_string(to_tol) + " steps" : "more than " + std::to_string(o.steps) + " steps") << "\n";
  out << "per-step factor: measured (worst) " << fmt(r.measured_factor) << ", certified " << fmt(r.certified_factor)
      << (r.consistent ? "  OK (certificate not faster than measured)" : "  NOT consistent") << "\n";
  out << "rate per unit time: measured " << fmt(r.measured_rate) << ", certified alpha* " << fmt(r.certified_rate) << "\n";
  if (r.euler_threshold_measured) {
    out << "euler step threshold: measured (spectral) " << fmt(*r.euler_threshold_measured) << ", certified 2 alpha*/beta^2 "
        << fmt(c.euler_step_max) << "\n";
  }
  if (!req.trajectory_out.empty()) {
    std::ostringstream csv;
    csv << std::setprecision(17) << "step,distance";
    for (int64_t k = 0; k < game.dim(); ++k) csv << ",x" << k;
    csv << "\n";
    for (size_t k = 0; k < traj.size(); ++k) {
      csv << k << "," << dist[k];
      for (int64_t i = 0; i < game.dim(); ++i) csv << "," << traj[k](i);
      csv << "\n";
    }
    core::atomic_write_file(req.trajectory_out, csv.str());
    out << "wrote " << req.trajectory_out << "\n";
  }
  if (!req.json_out.empty()) {
    nlohmann::json j = {{"game", f.path},
                        {"method", method_name(o.method)},
                        {"step", o.step},
                        {"steps", o.steps},
                        {"certificate", certificate_json(c)},
                        {"measured_factor", r.measured_factor},
                        {"certified_factor", r.certified_factor},
                        {"measured_rate", r.measured_rate},
                        {"certified_rate", r.certified_rate},
                        {"consistent", r.consistent},
                        {"steps_to_1e-4", to_tol}};
    if (r.euler_threshold_measured) j["euler_threshold_measured"] = *r.euler_threshold_measured;
    core::atomic_write_file(req.json_out, j.dump(2) + "\n");
    out << "wrote " << req.json_out << "\n";
  }
  if (!req.plot.empty()) {
    core::require(game.num_players() >= 2, "--plot draws players 0 and 1: the game needs two players");
    const int64_t a = game.players()[0].offset, b = game.players()[1].offset;
    std::vector<core::Curve> curves;
    for (int k = 0; k < 8; ++k) {
      const double angle = 2.0 * M_PI * k / 8.0;
      Eigen::VectorXd s = centre;
      s(a) += f.region.radius * std::cos(angle);
      s(b) += f.region.radius * std::sin(angle);
      core::Curve cv{"start " + std::to_string(k), {}, {}};
      for (const auto& x : simulate(game, game.project(s), o)) {
        cv.x.push_back(x(a));
        cv.y.push_back(x(b));
      }
      curves.push_back(std::move(cv));
    }
    core::PlotOptions po;
    po.title = "phase portrait (" + method_name(o.method) + ", h = " + fmt(o.step) + ")";
    po.xlabel = "x[" + std::to_string(a) + "] (player 0)";
    po.ylabel = "x[" + std::to_string(b) + "] (player 1)";
    core::plot_curves(curves, po, req.plot);
    out << "wrote " << req.plot << "\n";
  }
}

}  // namespace rlpp::certify
