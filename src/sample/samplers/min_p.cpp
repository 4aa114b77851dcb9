// min-p sampling (Nguyen et al., arXiv 2407.01082).
#include <cmath>
#include <limits>

#include "rlpp/sample/samplers.h"
#include "sample/samplers/builtin.h"

namespace rlpp::sample {

torch::Tensor min_p_logits(const torch::Tensor& logits, double min_p) {
  if (min_p <= 0.0) return logits;
  // p_i >= min_p p_max  <=>  logit_i >= logit_max + log(min_p): no softmax needed.
  const torch::Tensor max = std::get<0>(logits.max(/*dim=*/-1, /*keepdim=*/true));  // (B, 1)
  const torch::Tensor keep = logits >= max + std::log(min_p);                       // (B, V)
  return logits.masked_fill(keep.logical_not(), -std::numeric_limits<float>::infinity());
}

namespace {

class MinPSampler final : public Sampler {
 public:
  explicit MinPSampler(MinPOptions opts) : opts_(opts) {}
  torch::Tensor apply(const torch::Tensor& logits, const SampleContext&) const override {
    return min_p_logits(logits, opts_.min_p);
  }

 private:
  MinPOptions opts_;
};

}  // namespace

SamplerFactory min_p_sampler() { return algo::factory_of<Sampler, MinPSampler, MinPOptions>(); }

}  // namespace rlpp::sample
