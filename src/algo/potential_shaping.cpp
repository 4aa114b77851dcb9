#include "rlpp/algo/potential_shaping.h"

#include <sstream>

#include "rlpp/core/error.h"

namespace rlpp::algo {

torch::Tensor potential_shaping(const torch::Tensor& rewards, const torch::Tensor& values, double gamma,
                                const torch::Tensor& mask, bool terminal_after_last) {
  std::ostringstream shapes;
  shapes << "rewards " << rewards.sizes() << ", values " << values.sizes();
  core::require(rewards.defined() && values.defined() && rewards.dim() == 2 && values.dim() == 2 &&
                    values.size(0) == rewards.size(0) && values.size(1) == rewards.size(1) + 1,
                "potential_shaping: rewards must be (B, T) and values (B, T + 1), got " + shapes.str());
  core::require(gamma >= 0 && gamma <= 1, "potential_shaping: gamma must be in [0, 1], got " + std::to_string(gamma));
  const int64_t T = rewards.size(1);
  const torch::Tensor m = mask.defined() ? mask.to(rewards.scalar_type()) : torch::ones_like(rewards);
  core::require(m.sizes() == rewards.sizes(), "potential_shaping: mask must be (B, T) like rewards");
  const torch::Tensor phi = values.detach().to(rewards.scalar_type());
  torch::Tensor phi_next = phi.narrow(1, 1, T).clone();  // φ(s_{t+1}) (B, T)
  if (terminal_after_last) {
    // The step after which the row's next step is masked (or the row ends) leads to a terminal state.
    const torch::Tensor next_valid = torch::cat({m.narrow(1, 1, T - 1), torch::zeros_like(m.narrow(1, 0, 1))}, 1);
    phi_next = phi_next * next_valid;
  }
  return (rewards + gamma * phi_next - phi.narrow(1, 0, T)) * m;
}

}  // namespace rlpp::algo
