#include "rlpp/train/lm/adamw.h"

namespace rlpp::train::lm {

std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<torch::Tensor>& params, const AdamWSettings& s) {
  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& p : params) (p.dim() >= 2 ? decay : no_decay).push_back(p);
  auto group = [&](std::vector<torch::Tensor> ps, double wd) {
    auto o = std::make_unique<torch::optim::AdamWOptions>(s.lr);
    o->betas({s.beta1, s.beta2}).eps(s.eps).weight_decay(wd);
    return torch::optim::OptimizerParamGroup(std::move(ps), std::move(o));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.push_back(group(decay, s.weight_decay));
  if (!no_decay.empty()) groups.push_back(group(no_decay, 0.0));
  return std::make_unique<torch::optim::AdamW>(std::move(groups), torch::optim::AdamWOptions(s.lr));
}

void set_learning_rate(torch::optim::AdamW& opt, double lr) {
  for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
}

}  // namespace rlpp::train::lm
