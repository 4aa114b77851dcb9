// CQL's critic loss and its gradient without autograd (cql.backend = "fast"), for one critic
// (a ContinuousQ: [s, a] -> Linear, ReLU, ..., Linear -> Q) at a time:
//   L = mean_b (Q(s_b, a_b) − y_b)² + w · P,   P = cql_penalty (cql.h)
// with the gradient with respect to Q derived by hand (per state b, over the 3n proposals j, with
// t_j = Q(s_b, ã_j) − log μ(ã_j) under importance sampling):
//   ∂L/∂Q(s_b, a_b) = 2 (Q(s_b, a_b) − y_b)/B − w/B   [+ w softmax_data/B without importance sampling]
//   ∂L/∂Q(s_b, ã_j) = w softmax_j(t/T)/B
// then back through the MLP by hand (δ_L = ∂L/∂Q; dW_l = δ_lᵀ h_{l−1}; db_l = Σ_rows δ_l;
// δ_{l−1} = (δ_l W_l) ⊙ [h_{l−1} > 0]) with LibTorch's matrix products (the same BLAS) into
// preallocated buffers.
//
// Why it is faster than autograd on the same rows: the rows are taken state by state, chunk by
// chunk (kStatesPerChunk states of 1 + 3n rows), and each chunk runs forward, penalty gradient and
// backward at once, its activations small enough to stay in the core's L2 cache, with the weight
// gradients accumulated over the chunks; LibTorch's path runs each layer over all B (1 + 3n) rows
// (8 MB activations per layer at the defaults) and allocates every intermediate. The penalty of a
// state needs only that state's rows, so the chunks are independent. Same math; the float sums
// are ordered differently. tests/train/offline/fast_cql_critic_test.cpp compares both.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace rlpp::train::offline {

// One step's critic rows, state-major: for each state b the rows [s_b, a_b], then [s_b, ã] for the n
// uniform actions, the n actions of π(·|s_b) and the n actions of π(·|s'_b) — (B (1 + 3n), S + A).
struct CqlCriticRows {
  int64_t B = 0, n = 0;
  torch::Tensor x;          // (B (1 + 3n), S + A) float, contiguous
  torch::Tensor target;     // (B) y
  torch::Tensor logp_curr;  // (B, n) log π of the π(·|s) actions
  torch::Tensor logp_next;  // (B, n) log π of the π(·|s') actions
  double log_mu_rand = 0;   // log density of the uniform proposal
  double temperature = 1;
  bool importance_sample = true;
};

struct CqlCriticLoss {
  double mse = 0;          // mean_b (Q(s_b, a_b) − y_b)²
  double penalty = 0;      // P
  double q_data_mean = 0;  // mean_b Q(s_b, a_b)
};

// (B, S) states and (B, A) data actions, (B n, A) uniform, π(·|s) and π(·|s') actions (b-major) ->
// the state-major rows of CqlCriticRows::x.
torch::Tensor cql_state_major_rows(const torch::Tensor& obs, const torch::Tensor& actions, const torch::Tensor& rand_a,
                                   const torch::Tensor& curr_a, const torch::Tensor& next_a);

class FastCqlCritic {
 public:
  static constexpr int64_t kStatesPerChunk = 16;  // 496 rows at n = 10: ~1 MB of activations

  // params: the critic's parameters in Module::parameters() order (W_1 (h_1, S + A), b_1, ...,
  // W_L (1, h), b_L); grads: tensors of the same shapes, overwritten with ∂L/∂θ (w = `weight`).
  CqlCriticLoss loss_and_grad(const std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& grads,
                              const CqlCriticRows& rows, double weight);

 private:
  std::vector<torch::Tensor> h_;  // (L − 1) of (chunk rows, h_l): the hidden activations
  torch::Tensor delta_a_, delta_b_;  // (chunk rows, max width) ping-pong δ
  torch::Tensor q_, dq_;             // (chunk rows)
};

}  // namespace rlpp::train::offline
