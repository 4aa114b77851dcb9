// Advantage normalisation (whitening).
#pragma once
#include <torch/torch.h>

namespace rlpp::algo {

constexpr double kAdvantageNormEps = 1e-8;

// (A − mean) / (std + 1e-8) over the valid elements of a minibatch, std unbiased (Bessel), as
// CleanRL's per-minibatch `norm_adv` does. Fewer than two valid elements give std = 0 (not NaN).
// Masked positions are returned as 0. The statistics are not differentiated (advantages are data).
torch::Tensor normalize_advantages(const torch::Tensor& advantages,  // any shape, e.g. (M) or (B, L)
                                   const torch::Tensor& mask = {});  // same shape, 0/1; {} = all
}  // namespace rlpp::algo
