// Masked reductions and diagnostics shared by every algo component.
//
// A mask is a float tensor of 0/1 with the shape of the data ((T, N), (M) or (B, L)); an undefined
// mask means every element is valid. Masked reductions select with `where`, never multiply, so
// whatever sits at masked positions (padding, stale values) changes neither results nor gradients.
#pragma once
#include <torch/torch.h>

#include <string>

namespace rlpp::algo {

// Bool tensor of valid positions: mask > 0.5, or all true when `mask` is undefined.
torch::Tensor valid_positions(const torch::Tensor& like, const torch::Tensor& mask);  // like: any shape

// Σ_valid x (0-dim, keeps the autograd graph of x).
torch::Tensor masked_sum(const torch::Tensor& x, const torch::Tensor& mask);
// Σ_valid x / max(#valid, 1): an empty mask gives 0, never NaN.
torch::Tensor masked_mean(const torch::Tensor& x, const torch::Tensor& mask);
// Mean token entropy over valid positions (the `losses/entropy` metric and the entropy bonus).
torch::Tensor entropy_mean(const torch::Tensor& entropy, const torch::Tensor& mask);

// The q-quantile of a 1-D tensor with linear interpolation between order statistics (numpy's and
// torch::quantile's default), from two O(N) selections (kthvalue) instead of a full sort; in double.
// An empty tensor has no quantile: UserError.
double quantile_of(const torch::Tensor& values,  // (N)
                   double q);                    // in [0, 1]

// 1 − Var(y_true − y_pred) / Var(y_true) over all elements, computed in double; NaN when
// Var(y_true) = 0 (as CleanRL/SB3 report it). 1 is a perfect critic, 0 no better than a constant.
double explained_variance(const torch::Tensor& y_pred, const torch::Tensor& y_true);

// Throws core::UserError "`where`: `name_a` (shape) and `name_b` (shape) must have the same
// shape" unless both are defined with equal sizes.
void check_same_shape(const std::string& where, const std::string& name_a, const torch::Tensor& a,
                      const std::string& name_b, const torch::Tensor& b);
// Throws core::UserError "`where`: `name` is required" when `t` is undefined.
void check_defined(const std::string& where, const std::string& name, const torch::Tensor& t);

}  // namespace rlpp::algo
