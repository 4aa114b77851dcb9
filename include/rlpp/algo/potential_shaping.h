// Potential-based reward shaping (Ng, Harada & Russell 1999; the o1 roadmap's dense process reward
// from a sparse outcome, arXiv 2412.14135): with a potential φ — a value model's estimate of each
// state — the shaped reward of step t is
//   r'_t = r_t + γ·φ(s_{t+1}) − φ(s_t),      φ(terminal state) = 0,
// which leaves the optimal policy unchanged: along a trajectory the shaping terms telescope,
// Σ_t γ^t r'_t = Σ_t γ^t r_t − φ(s_0).
#pragma once
#include <torch/torch.h>

namespace rlpp::algo {

// rewards (B, T): r_t (for language: the outcome reward on the last step, 0 elsewhere);
// values (B, T + 1): φ(s_0) … φ(s_T), the last column the state after the final step;
// mask (B, T) float 0/1 or {}: valid steps, a row's valid steps first. The state after a row's last
// valid step is terminal (φ = 0) when `terminal_after_last` (a finished solution), else it keeps
// its value (a truncated one). Returns r' (B, T), 0 at masked steps; never differentiates φ.
torch::Tensor potential_shaping(const torch::Tensor& rewards, const torch::Tensor& values, double gamma,
                                const torch::Tensor& mask = {}, bool terminal_after_last = true);

}  // namespace rlpp::algo
