#include "rlpp/certify/dynamics.h"

#include "rlpp/core/error.h"

namespace rlpp::certify {

Method parse_method(const std::string& name) {
  if (name == "euler") return Method::kEuler;
  if (name == "rk4") return Method::kRk4;
  if (name == "npg") return Method::kNpg;
  throw core::UserError("unknown method '" + name + "'; valid: euler, rk4, npg");
}

std::string method_name(Method m) {
  switch (m) {
    case Method::kRk4: return "rk4";
    case Method::kNpg: return "npg";
    case Method::kEuler: break;
  }
  return "euler";
}

namespace {

// D·v with D = diag(s_i I_{d_i}).
Eigen::VectorXd scale_blocks(const Game& game, const Eigen::VectorXd& s, Eigen::VectorXd v) {
  if (s.size() == 0) return v;
  for (int i = 0; i < game.num_players(); ++i) {
    const auto& p = game.players()[i];
    v.segment(p.offset, p.dim) *= s(i);
  }
  return v;
}

}  // namespace

Eigen::VectorXd dynamics_step(const Game& game, const Eigen::VectorXd& x, const DynamicsOptions& opts) {
  core::require(opts.player_scale.size() == 0 || opts.player_scale.size() == game.num_players(),
                "player step scales: expected one per player (" + std::to_string(game.num_players()) + ")");
  const double h = opts.step;
  const auto field = [&](const Eigen::VectorXd& y) -> Eigen::VectorXd {
    return -scale_blocks(game, opts.player_scale,
                         opts.method == Method::kNpg ? game.natural_gradient(y) : game.pseudo_gradient(y));
  };
  if (opts.method == Method::kRk4) {
    const Eigen::VectorXd k1 = field(x);
    const Eigen::VectorXd k2 = field(x + 0.5 * h * k1);
    const Eigen::VectorXd k3 = field(x + 0.5 * h * k2);
    const Eigen::VectorXd k4 = field(x + h * k3);
    return game.project(x + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4));
  }
  return game.project(x + h * field(x));
}

std::vector<Eigen::VectorXd> simulate(const Game& game, const Eigen::VectorXd& x0, const DynamicsOptions& opts) {
  std::vector<Eigen::VectorXd> traj{x0};
  traj.reserve(opts.steps + 1);
  for (int64_t k = 0; k < opts.steps; ++k) {
    Eigen::VectorXd next = dynamics_step(game, traj.back(), opts);
    if (!next.allFinite()) break;
    traj.push_back(std::move(next));
  }
  return traj;
}

}  // namespace rlpp::certify
