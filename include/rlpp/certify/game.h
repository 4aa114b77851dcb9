// N-player differentiable games (arXiv 2512.06791, §2). Player i controls the block x_i ∈ R^{d_i}
// of the joint vector x ∈ R^n (n = Σ d_i) and minimises its own cost f_i(x). The learning dynamics
// follow the pseudo-gradient F(x) = (∇_{x_1} f_1, …, ∇_{x_N} f_N) (n,), whose Jacobian
// J(x) = ∂F/∂x (n, n) has blocks J_ij = ∇²_{x_i x_j} f_i.
#pragma once
#include <torch/torch.h>

#include <Eigen/Core>
#include <string>
#include <vector>

#include "rlpp/certify/constraint.h"

namespace rlpp::certify {

struct Player {
  std::string name;
  int64_t dim = 0;
  int64_t offset = 0;  // first coordinate of x_i in x
  Constraint constraint;
};

class Game {
 public:
  // Offsets are assigned from the players' dims in order.
  explicit Game(std::vector<Player> players);
  virtual ~Game() = default;

  const std::vector<Player>& players() const { return players_; }
  int num_players() const { return static_cast<int>(players_.size()); }
  int64_t dim() const { return dim_; }

  // Costs (f_1(x), …, f_N(x)) as a differentiable function: x (n,) float64 -> (N,).
  virtual torch::Tensor costs(const torch::Tensor& x) const = 0;
  // F(x) (n,). Default: autograd of costs().
  virtual Eigen::VectorXd pseudo_gradient(const Eigen::VectorXd& x) const;
  // J(x) (n, n). Default: autograd of costs() (second order).
  virtual Eigen::MatrixXd jacobian(const Eigen::VectorXd& x) const;
  // The direction natural-gradient dynamics follow: G(x)^{-1} F(x) in the game's own geometry.
  // Euclidean games: F(x).
  virtual Eigen::VectorXd natural_gradient(const Eigen::VectorXd& x) const { return pseudo_gradient(x); }
  // True when F is affine (J constant), so one Jacobian is exact over any region.
  virtual bool is_affine() const { return false; }
  // A feasible reference point: the centre of each player's set (0 when unconstrained).
  Eigen::VectorXd centre() const;

  // Blockwise projection onto the product constraint set.
  Eigen::VectorXd project(const Eigen::VectorXd& x) const;
  // Block i of x.
  Eigen::VectorXd block(const Eigen::VectorXd& x, int i) const;

 private:
  std::vector<Player> players_;
  int64_t dim_ = 0;
};

// F(x) by reverse-mode autograd: block i of ∇_x f_i, one backward pass per player.
Eigen::VectorXd autograd_pseudo_gradient(const Game& game, const Eigen::VectorXd& x);
// J(x) by double backward: row k is ∇_x F_k(x).
Eigen::MatrixXd autograd_jacobian(const Game& game, const Eigen::VectorXd& x);

torch::Tensor to_tensor(const Eigen::VectorXd& x);        // (n,) float64, a copy
Eigen::VectorXd to_eigen(const torch::Tensor& t);         // (n,) any float dtype, a copy

}  // namespace rlpp::certify
