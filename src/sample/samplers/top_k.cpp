// Top-k (Fan et al., arXiv 1805.04833).
#include <limits>

#include "rlpp/sample/samplers.h"
#include "sample/samplers/builtin.h"

namespace rlpp::sample {

torch::Tensor top_k_logits(const torch::Tensor& logits, int64_t k) {
  const int64_t v = logits.size(-1);
  if (k <= 0 || k >= v) return logits;
  // Stable descending sort: equal logits keep id order, so the lower ids win ties.
  const torch::Tensor order = std::get<1>(torch::sort(logits, /*stable=*/true, /*dim=*/-1, /*descending=*/true));
  const torch::Tensor keep = torch::zeros_like(logits, torch::kBool)
                                 .scatter(/*dim=*/1, order.narrow(/*dim=*/1, 0, k), true);  // (B, V)
  return logits.masked_fill(keep.logical_not(), -std::numeric_limits<float>::infinity());
}

namespace {

class TopKSampler final : public Sampler {
 public:
  explicit TopKSampler(TopKOptions opts) : opts_(opts) {}
  torch::Tensor apply(const torch::Tensor& logits, const SampleContext&) const override {
    return top_k_logits(logits, opts_.top_k);
  }

 private:
  TopKOptions opts_;
};

}  // namespace

SamplerFactory top_k_sampler() { return algo::factory_of<Sampler, TopKSampler, TopKOptions>(); }

}  // namespace rlpp::sample
