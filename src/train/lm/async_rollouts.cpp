#include "rlpp/train/lm/async_rollouts.h"

#include <string>

namespace rlpp::train::lm {

WeightSnapshot take_snapshot(const torch::nn::Module& module, int64_t version) {
  torch::NoGradGuard no_grad;
  WeightSnapshot s;
  s.version = version;
  for (const auto& p : module.parameters()) s.tensors.push_back(p.detach().clone());
  for (const auto& b : module.buffers()) s.tensors.push_back(b.detach().clone());
  return s;
}

void load_snapshot(const WeightSnapshot& s, torch::nn::Module* module) {
  torch::NoGradGuard no_grad;
  size_t i = 0;
  for (auto& p : module->parameters()) p.copy_(s.tensors.at(i++));
  for (auto& b : module->buffers()) b.copy_(s.tensors.at(i++));
  TORCH_CHECK(i == s.tensors.size(), "weight snapshot: ", s.tensors.size(), " tensors for a module with ", i);
}

core::MetricRow staleness_metrics(const torch::Tensor& version, const torch::Tensor& trained, int64_t learner_version,
                                  int64_t max_staleness) {
  const torch::Tensor on = trained.to(torch::kFloat64) > 0.5;                       // (B, N)
  const torch::Tensor age = (learner_version - version).masked_select(on);         // (T) int64
  const double n = static_cast<double>(age.numel());
  core::MetricRow row;
  for (int64_t j = 0; j <= max_staleness; ++j) {
    const double k = n > 0 ? (age == j).sum().item<double>() : 0.0;
    row.emplace_back("async/staleness_frac_" + std::to_string(j), n > 0 ? k / n : 0.0);
  }
  row.emplace_back("async/staleness_mean", n > 0 ? age.to(torch::kFloat64).mean().item<double>() : 0.0);
  row.emplace_back("async/staleness_max", n > 0 ? age.max().item<double>() : 0.0);
  return row;
}

}  // namespace rlpp::train::lm
