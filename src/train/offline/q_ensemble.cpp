#include "rlpp/train/offline/q_ensemble.h"

#include <cmath>
#include <string>

namespace rlpp::train::offline {

QEnsembleImpl::QEnsembleImpl(int64_t members, int64_t obs_dim, int64_t act_dim, const std::vector<int64_t>& hidden,
                             bool layer_norm)
    : members_(members), layer_norm_(layer_norm) {
  std::vector<int64_t> widths = {obs_dim + act_dim};
  widths.insert(widths.end(), hidden.begin(), hidden.end());
  widths.push_back(1);
  for (size_t l = 0; l + 1 < widths.size(); ++l) {
    const int64_t in = widths[l], out = widths[l + 1];
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    const std::string k = std::to_string(l);
    weights.push_back(register_parameter("w" + k, torch::empty({members, in, out}).uniform_(-bound, bound)));
    biases.push_back(register_parameter("b" + k, torch::empty({members, 1, out}).uniform_(-bound, bound)));
    if (layer_norm && l + 2 < widths.size()) {
      ln_scales.push_back(register_parameter("ln_scale" + k, torch::ones({members, 1, out})));
      ln_shifts.push_back(register_parameter("ln_shift" + k, torch::zeros({members, 1, out})));
    }
  }
}

torch::Tensor QEnsembleImpl::run(const torch::Tensor& x, const torch::Tensor* idx) {
  auto pick = [&](const torch::Tensor& p) { return idx ? p.index_select(0, *idx) : p; };
  const int64_t e = idx ? idx->size(0) : members_;
  torch::Tensor h = x.unsqueeze(0).expand({e, x.size(0), x.size(1)});  // (e, B, in)
  for (size_t l = 0; l < weights.size(); ++l) {
    h = torch::baddbmm(pick(biases[l]), h, pick(weights[l]));
    if (l + 1 == weights.size()) break;
    if (layer_norm_) {
      const int64_t w = h.size(2);
      h = torch::layer_norm(h, {w}, {}, {}, 1e-6) * pick(ln_scales[l]) + pick(ln_shifts[l]);
    }
    h = torch::relu(h);
  }
  return h.squeeze(2);  // (e, B)
}

torch::Tensor QEnsembleImpl::forward(const torch::Tensor& obs, const torch::Tensor& act) {
  return run(torch::cat({obs, act}, -1), nullptr);
}

torch::Tensor QEnsembleImpl::forward_members(const torch::Tensor& obs, const torch::Tensor& act, const torch::Tensor& idx) {
  return run(torch::cat({obs, act}, -1), &idx);
}

}  // namespace rlpp::train::offline
