// Tabular Markov games with softmax policies and entropy regularisation, solved exactly through the
// occupancy (no sampling). Player i has logits θ_i ∈ R^{S×A_i} (row-major: state, action) and
// policy π_i(·|s) = softmax(θ_i[s]). Joint actions are indexed row-major, player 0 slowest.
//
//   P_π(s'|s) = Σ_a π(a|s) P(s'|s,a),  r_π^i(s) = Σ_a π(a|s) r_i(s,a),  π(a|s) = Π_i π_i(a_i|s)
//   V_i = (I − γ P_π)^{-1} r_π^i,       f_i(θ) = −(ρᵀV_i + τ Σ_s H(π_i(·|s)))
//
// Fisher (mirror) geometry, arXiv 2512.06791 §5: F_i = blockdiag_s(diag(p_s) − p_s p_sᵀ) + ridge·I;
// natural policy gradient θ_i ← θ_i − η F_i^{-1} ∇_{θ_i} f_i is Euler's method in that metric.
#pragma once
#include <Eigen/Core>
#include <vector>

#include "rlpp/certify/game.h"

namespace rlpp::certify {

struct MarkovGameSpec {
  int64_t states = 0;
  std::vector<int64_t> actions;                   // (N,) A_i
  double gamma = 0.9;
  double tau = 1.0;                               // entropy weight
  double fisher_ridge = 1e-3;
  std::vector<double> initial;                    // (S,) ρ
  std::vector<std::vector<std::vector<double>>> rewards;      // [i][s][joint a]
  std::vector<std::vector<std::vector<double>>> transitions;  // [s][joint a][s']
};

class MarkovGame : public Game {
 public:
  explicit MarkovGame(MarkovGameSpec spec);

  torch::Tensor costs(const torch::Tensor& theta) const override;
  Eigen::VectorXd natural_gradient(const Eigen::VectorXd& theta) const override;

  const MarkovGameSpec& spec() const { return spec_; }
  int64_t joint_actions() const { return joint_; }
  // π_i (S, A_i) at θ.
  Eigen::MatrixXd policy(const Eigen::VectorXd& theta, int i) const;
  // F_i(θ) (d_i, d_i), ridge included.
  Eigen::MatrixXd fisher(const Eigen::VectorXd& theta, int i) const;
  // Orthonormal basis (d_i, S·(A_i − 1)) of the logit directions that change π_i: per state, the
  // vectors summing to zero. Adding a constant to θ_i[s] changes nothing, so λ_min there is 0 for
  // every cost; the certificate's λ_min⁺ is taken on this complement.
  Eigen::MatrixXd tangent_basis(int i) const;
  // Σ_s KL(p_i*(·|s) ‖ π_i(·|s)) for the logits θ* and θ.
  double kl(const Eigen::VectorXd& theta_star, const Eigen::VectorXd& theta, int i) const;

 private:
  MarkovGameSpec spec_;
  int64_t joint_ = 1;
  torch::Tensor P_;    // (S, joint, S)
  torch::Tensor R_;    // (N, S, joint)
  torch::Tensor rho_;  // (S,)
};

}  // namespace rlpp::certify
