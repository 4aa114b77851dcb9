// Top-p / nucleus sampling (Holtzman et al., arXiv 1904.09751).
#include <limits>

#include "rlpp/sample/samplers.h"
#include "sample/samplers/builtin.h"

namespace rlpp::sample {

torch::Tensor top_p_logits(const torch::Tensor& logits, double p) {
  if (p >= 1.0) return logits;
  // Sort the logits (not the probabilities, which may round to equal values) with a stable sort:
  // among equal logits the lower id comes first and is kept first.
  auto [sorted, order] = torch::sort(logits, /*stable=*/true, /*dim=*/-1, /*descending=*/true);  // (B, V)
  const torch::Tensor probs = torch::softmax(sorted.to(torch::kDouble), /*dim=*/-1);             // (B, V)
  // Token j is kept when the mass strictly before it is < p: the shortest prefix with sum >= p.
  const torch::Tensor before = probs.cumsum(/*dim=*/-1) - probs;                                 // (B, V)
  torch::Tensor keep_sorted = before < p;
  keep_sorted.select(/*dim=*/1, 0).fill_(true);
  const torch::Tensor keep = torch::zeros_like(keep_sorted).scatter(/*dim=*/1, order, keep_sorted);
  return logits.masked_fill(keep.logical_not(), -std::numeric_limits<float>::infinity());
}

namespace {

class TopPSampler final : public Sampler {
 public:
  explicit TopPSampler(TopPOptions opts) : opts_(opts) {}
  torch::Tensor apply(const torch::Tensor& logits, const SampleContext&) const override {
    return top_p_logits(logits, opts_.top_p);
  }

 private:
  TopPOptions opts_;
};

}  // namespace

SamplerFactory top_p_sampler() { return algo::factory_of<Sampler, TopPSampler, TopPOptions>(); }

}  // namespace rlpp::sample
