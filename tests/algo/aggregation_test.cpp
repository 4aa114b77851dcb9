// Loss aggregation: hand-computed values, and the micro-batch property — any split of the rows,
// each micro-batch padded to its own length, with global counts, sums to the full-batch loss and
// gradient.
#include "rlpp/algo/aggregation.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "rlpp/algo/objective.h"
#include "rlpp/algo/objectives/ppo_clip.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

using torch::indexing::Slice;

double scalar(const torch::Tensor& x) { return x.item<double>(); }

// ℓ = [[1, 2, 3, ·], [4, 5, ·, ·], [·, ·, ·, ·]] (· = masked, filled with 9):
// N_tokens = 5, N_seqs = 2 (the empty row does not count), L_max = 4.
TEST(Aggregation, HandComputedValues) {
  const torch::Tensor loss =
      torch::tensor({1.f, 2.f, 3.f, 9.f, 4.f, 5.f, 9.f, 9.f, 9.f, 9.f, 9.f, 9.f}).reshape({3, 4});
  const torch::Tensor mask =
      torch::tensor({1.f, 1.f, 1.f, 0.f, 1.f, 1.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f}).reshape({3, 4});
  const AggregationCounts c = aggregation_counts(mask);
  EXPECT_EQ(c.num_tokens, 5);
  EXPECT_EQ(c.num_seqs, 2);
  EXPECT_EQ(c.max_len, 4);
  EXPECT_DOUBLE_EQ(scalar(aggregate_loss(loss, mask, Aggregation::kTokenMean)), 15.0 / 5);
  EXPECT_DOUBLE_EQ(scalar(aggregate_loss(loss, mask, Aggregation::kSeqMeanTokenSum)), (6.0 + 9.0) / 2);
  EXPECT_DOUBLE_EQ(scalar(aggregate_loss(loss, mask, Aggregation::kSeqMeanTokenMean)),
                   (6.0 / 3 + 9.0 / 2) / 2);
  EXPECT_DOUBLE_EQ(scalar(aggregate_loss(loss, mask, Aggregation::kSeqMeanTokenSumNorm)), 15.0 / (2 * 4));
  EXPECT_DOUBLE_EQ(scalar(aggregate_loss(loss, mask, Aggregation::kTokenSum)), 15.0);
  // A generation budget of 8 instead of the padded length (Dr. GRPO's constant).
  EXPECT_DOUBLE_EQ(scalar(aggregate_loss(loss, mask, Aggregation::kSeqMeanTokenSumNorm, {5, 2, 8})),
                   15.0 / 16);
}

TEST(Aggregation, NamesRoundTripAndUnknownNameIsAUserError) {
  const std::vector<std::string> want = {"seq-mean-token-mean", "seq-mean-token-sum",
                                         "seq-mean-token-sum-norm", "token-mean", "token-sum"};
  EXPECT_EQ(aggregation_registry().names(), want);
  for (const auto& n : want) EXPECT_EQ(aggregation_name(aggregation_from_name(n)), n);
  EXPECT_THROW(aggregation_from_name("token_mean"), core::UserError);
  EXPECT_EQ(list_aggregations().size(), want.size());
}

TEST(Aggregation, EmptyMaskAndLengthOneSequencesGiveNoNaN) {
  const torch::Tensor loss = torch::randn({3, 5}).requires_grad_(true);
  for (const auto& name : aggregation_registry().names()) {
    const Aggregation mode = aggregation_from_name(name);
    const torch::Tensor empty = aggregate_loss(loss, torch::zeros({3, 5}), mode);
    EXPECT_EQ(scalar(empty), 0.0) << name;
    torch::Tensor one = torch::zeros({3, 5});
    one.index_put_({Slice(), 0}, 1.f);  // three sequences of length 1
    const torch::Tensor l1 = aggregate_loss(loss, one, mode);
    l1.backward();
    EXPECT_TRUE(std::isfinite(scalar(l1))) << name;
    EXPECT_TRUE(torch::isfinite(loss.grad()).all().item<bool>()) << name;
    loss.grad().zero_();
  }
  // Length-1 rows: every sequence mode reduces to the mean of the first column.
  torch::Tensor one = torch::zeros({3, 5});
  one.index_put_({Slice(), 0}, 1.f);
  const double first_col_mean = loss.detach().index({Slice(), 0}).mean().item<double>();
  EXPECT_NEAR(scalar(aggregate_loss(loss, one, Aggregation::kSeqMeanTokenMean)), first_col_mean, 1e-6);
  EXPECT_NEAR(scalar(aggregate_loss(loss, one, Aggregation::kTokenMean)), first_col_mean, 1e-6);
}

TEST(Aggregation, ControlVectorUsesAllElements) {
  const torch::Tensor loss = torch::tensor({1.f, 2.f, 3.f, 6.f});
  EXPECT_DOUBLE_EQ(scalar(aggregate_loss(loss, {}, Aggregation::kTokenMean)), 3.0);
  EXPECT_DOUBLE_EQ(scalar(aggregate_loss(loss, {}, Aggregation::kTokenSum)), 12.0);
  EXPECT_DOUBLE_EQ(scalar(aggregate_loss(loss, torch::tensor({1.f, 1.f, 0.f, 1.f}), Aggregation::kTokenMean)),
                   3.0);
  EXPECT_THROW(aggregate_loss(loss, {}, Aggregation::kSeqMeanTokenMean), core::UserError);
}

TEST(Aggregation, MicroBatchSplitSumsToFullBatch) {
  constexpr int64_t B = 12, L = 16;
  std::mt19937_64 gen(7);
  torch::manual_seed(7);
  PolicyLossInput full;
  full.logp_old = -torch::rand({B, L}) * 2 - 0.1;
  full.logp = (full.logp_old + (torch::rand({B, L}) - 0.5)).detach().requires_grad_(true);
  full.advantages = torch::randn({B, L});
  std::vector<int64_t> lengths(B);
  std::uniform_int_distribution<int64_t> len(2, L);
  for (auto& l : lengths) l = len(gen);
  lengths[3] = 0;
  lengths[8] = 1;
  full.mask = torch::zeros({B, L});
  for (int64_t i = 0; i < B; ++i) full.mask.index_put_({i, Slice(0, lengths[i])}, 1.f);
  const AggregationCounts counts = aggregation_counts(full.mask);
  const PpoClipOptions opts{0.2, 0.28, true, 3.0};

  // A random split of the rows into micro-batches of sizes 5, 1, 6.
  std::vector<int64_t> perm(B);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), gen);
  const std::vector<std::pair<int64_t, int64_t>> chunks = {{0, 5}, {5, 6}, {6, 12}};

  for (const auto& name : aggregation_registry().names()) {
    const Aggregation mode = aggregation_from_name(name);
    if (full.logp.grad().defined()) full.logp.grad().zero_();
    const torch::Tensor whole = aggregate_loss(ppo_clip_loss(full, opts).token_loss, full.mask, mode, counts);
    whole.backward();
    const torch::Tensor whole_grad = full.logp.grad().clone();
    full.logp.grad().zero_();

    double split_sum = 0, local_mean_sum = 0;
    AggregationCounts shard_counts;
    for (const auto& [lo, hi] : chunks) {
      const torch::Tensor rows = torch::tensor(std::vector<int64_t>(perm.begin() + lo, perm.begin() + hi));
      int64_t width = 1;  // each micro-batch padded only to its own longest response
      for (int64_t k = lo; k < hi; ++k) width = std::max(width, lengths[perm[k]]);
      PolicyLossInput mb;
      mb.logp = full.logp.index_select(0, rows).index({Slice(), Slice(0, width)});
      mb.logp_old = full.logp_old.index_select(0, rows).index({Slice(), Slice(0, width)});
      mb.advantages = full.advantages.index_select(0, rows).index({Slice(), Slice(0, width)});
      mb.mask = full.mask.index_select(0, rows).index({Slice(), Slice(0, width)});
      const torch::Tensor token_loss = ppo_clip_loss(mb, opts).token_loss;
      const torch::Tensor part = aggregate_loss(token_loss, mb.mask, mode, counts);
      part.backward();
      split_sum += scalar(part);
      local_mean_sum += scalar(aggregate_loss(token_loss, mb.mask, mode)) / chunks.size();
      shard_counts = combine_counts(shard_counts, aggregation_counts(mb.mask));
    }
    EXPECT_NEAR(split_sum, scalar(whole), 1e-6) << name;
    EXPECT_LT((full.logp.grad() - whole_grad).abs().max().item<double>(), 1e-6) << name;
    EXPECT_EQ(shard_counts.num_tokens, counts.num_tokens);
    EXPECT_EQ(shard_counts.num_seqs, counts.num_seqs);
    // The bug this design prevents: averaging micro-batch losses normalised by local counts.
    if (mode != Aggregation::kTokenSum) {
      EXPECT_GT(std::abs(local_mean_sum - scalar(whole)), 1e-4) << name;
    }
  }
}

}  // namespace
}  // namespace rlpp::algo
