// Learning dynamics on a game (arXiv 2512.06791): discretisations of the pseudo-gradient flow
// x' = −D·F(x), with D = diag(s_i I_{d_i}) optional per-player step scales (s_i = 1 by default).
//   euler: x⁺ = Π(x − h·D·F(x))                      (projected Euler; Euclidean policy gradient)
//   rk4:   x⁺ = Π(x + h/6·(k1 + 2k2 + 2k3 + k4)),  k = −D·F(·)   (projection after the full step)
//   npg:   x⁺ = x − h·D·G(x)^{-1}F(x)                 (natural policy gradient = Euler in the
//                                                      Fisher metric, Markov games)
#pragma once
#include <Eigen/Core>
#include <string>
#include <vector>

#include "rlpp/certify/game.h"

namespace rlpp::certify {

enum class Method { kEuler, kRk4, kNpg };

Method parse_method(const std::string& name);  // "euler", "rk4", "npg"; UserError otherwise
std::string method_name(Method m);

struct DynamicsOptions {
  Method method = Method::kEuler;
  double step = 0.1;                // h
  Eigen::VectorXd player_scale;     // (N,) s_i > 0; empty = all 1
  int64_t steps = 100;
};

// One step from x (n,).
Eigen::VectorXd dynamics_step(const Game& game, const Eigen::VectorXd& x, const DynamicsOptions& opts);
// x_0 … x_steps (steps + 1 states); stops early (keeping what it has) when a state is not finite.
std::vector<Eigen::VectorXd> simulate(const Game& game, const Eigen::VectorXd& x0, const DynamicsOptions& opts);

}  // namespace rlpp::certify
