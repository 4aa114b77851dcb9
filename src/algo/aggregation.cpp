#include "rlpp/algo/aggregation.h"

#include <algorithm>

#include "rlpp/algo/component.h"
#include "rlpp/algo/stats.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {

core::Registry<Aggregation>& aggregation_registry() {
  static core::Registry<Aggregation> registry = [] {
    core::Registry<Aggregation> r("aggregation");
    r.add("token-mean", Aggregation::kTokenMean, "sum(loss) / global valid tokens (DAPO)");
    r.add("seq-mean-token-sum", Aggregation::kSeqMeanTokenSum, "mean over sequences of the token sum");
    r.add("seq-mean-token-mean", Aggregation::kSeqMeanTokenMean,
          "mean over sequences of the per-sequence token mean (GRPO)");
    r.add("seq-mean-token-sum-norm", Aggregation::kSeqMeanTokenSumNorm,
          "sum(loss) / (sequences * max length) (Dr. GRPO, arXiv 2503.20783)");
    r.add("token-sum", Aggregation::kTokenSum, "sum(loss)");
    return r;
  }();
  return registry;
}

std::vector<std::pair<std::string, std::string>> list_aggregations() {
  return listing(aggregation_registry());
}

Aggregation aggregation_from_name(const std::string& name) { return aggregation_registry().get(name); }

std::string aggregation_name(Aggregation mode) {
  const auto& r = aggregation_registry();
  for (const auto& n : r.names()) {
    if (r.get(n) == mode) return n;
  }
  throw std::logic_error("aggregation_name: unregistered aggregation mode");
}

AggregationCounts aggregation_counts(const torch::Tensor& mask) {
  check_defined("aggregation_counts", "mask", mask);
  core::require(mask.dim() == 1 || mask.dim() == 2, "aggregation_counts: mask must be (B, L) or (M), got " +
                                                        std::to_string(mask.dim()) + " dims");
  const torch::Tensor valid = mask.dim() == 2 ? mask > 0.5 : (mask > 0.5).unsqueeze(0);  // (B, L)
  AggregationCounts c;
  c.num_tokens = static_cast<double>(valid.sum().item<int64_t>());
  c.num_seqs = static_cast<double>(valid.any(/*dim=*/1).sum().item<int64_t>());
  c.max_len = static_cast<double>(valid.size(1));
  return c;
}

AggregationCounts combine_counts(const AggregationCounts& a, const AggregationCounts& b) {
  return {a.num_tokens + b.num_tokens, a.num_seqs + b.num_seqs, std::max(a.max_len, b.max_len)};
}

torch::Tensor aggregate_loss(const torch::Tensor& token_loss, const torch::Tensor& mask, Aggregation mode,
                             const AggregationCounts& counts) {
  check_defined("aggregate_loss", "token_loss", token_loss);
  const torch::Tensor valid = valid_positions(token_loss, mask);
  const torch::Tensor loss = torch::where(valid, token_loss, torch::zeros_like(token_loss));
  const double tokens = std::max(counts.num_tokens, 1.0);
  const double seqs = std::max(counts.num_seqs, 1.0);
  switch (mode) {
    case Aggregation::kTokenMean:
      return loss.sum() / tokens;
    case Aggregation::kTokenSum:
      return loss.sum();
    case Aggregation::kSeqMeanTokenSum:
      return loss.sum() / seqs;
    case Aggregation::kSeqMeanTokenSumNorm:
      return loss.sum() / (seqs * std::max(counts.max_len, 1.0));
    case Aggregation::kSeqMeanTokenMean: {
      core::require(token_loss.dim() == 2, "aggregate_loss: seq-mean-token-mean needs (B, L) losses, got " +
                                               std::to_string(token_loss.dim()) + " dims");
      const torch::Tensor lengths = valid.sum(/*dim=*/1).clamp_min(1).to(loss.scalar_type());  // (B)
      return (loss.sum(/*dim=*/1) / lengths).sum() / seqs;
    }
  }
  throw std::logic_error("aggregate_loss: unknown mode");
}

torch::Tensor aggregate_loss(const torch::Tensor& token_loss, const torch::Tensor& mask, Aggregation mode) {
  check_defined("aggregate_loss", "token_loss", token_loss);
  const torch::Tensor m = mask.defined() ? mask : torch::ones_like(token_loss);
  return aggregate_loss(token_loss, m, mode, aggregation_counts(m));
}

}  // namespace rlpp::algo
