// Rollout batches of different rounds: rows kept in order, prompts re-padded on the left and
// responses on the right, every per-token field aligned with its token (checked position by
// position against hand-built rows).
#include <gtest/gtest.h>

#include "rlpp/core/error.h"
#include "rlpp/train/lm/rollout_batch.h"

namespace rlpp::train::lm {
namespace {

constexpr int64_t kPad = 9;

// One batch from ragged prompt / response rows (pads filled as the generator fills them).
RolloutBatch make(const std::vector<std::vector<int64_t>>& prompts, const std::vector<std::vector<int64_t>>& responses,
                  int64_t first_group) {
  const auto B = static_cast<int64_t>(prompts.size());
  int64_t Lp = 0, N = 0;
  for (const auto& p : prompts) Lp = std::max<int64_t>(Lp, static_cast<int64_t>(p.size()));
  for (const auto& r : responses) N = std::max<int64_t>(N, static_cast<int64_t>(r.size()));
  RolloutBatch b;
  b.pad_token = kPad;
  b.prompt_tokens = torch::full({B, Lp}, kPad, torch::kInt64);
  b.prompt_mask = torch::zeros({B, Lp}, torch::kBool);
  b.tokens = torch::full({B, N}, kPad, torch::kInt64);
  b.mask = torch::zeros({B, N}, torch::kBool);
  b.attend = torch::zeros({B, N}, torch::kBool);
  b.turn = torch::zeros({B, N}, torch::kInt64);
  b.logp = torch::zeros({B, N});
  b.logp_sample = torch::zeros({B, N});
  b.entropy = torch::zeros({B, N});
  b.lengths = torch::zeros({B}, torch::kInt64);
  b.truncated = torch::zeros({B}, torch::kBool);
  b.group_id = torch::zeros({B}, torch::kInt64);
  b.reward = torch::zeros({B});
  b.correct = torch::zeros({B});
  for (int64_t i = 0; i < B; ++i) {
    const auto& p = prompts[static_cast<size_t>(i)];
    const auto& r = responses[static_cast<size_t>(i)];
    const int64_t off = Lp - static_cast<int64_t>(p.size());
    for (size_t j = 0; j < p.size(); ++j) {
      b.prompt_tokens[i][off + static_cast<int64_t>(j)] = p[j];
      b.prompt_mask[i][off + static_cast<int64_t>(j)] = true;
    }
    for (size_t j = 0; j < r.size(); ++j) {
      const auto t = static_cast<int64_t>(j);
      b.tokens[i][t] = r[j];
      b.mask[i][t] = true;
      b.attend[i][t] = true;
      b.logp[i][t] = -0.1 * static_cast<double>(r[j]);  // a value tied to the token, to check alignment
      b.logp_sample[i][t] = -0.2 * static_cast<double>(r[j]);
      b.entropy[i][t] = 0.3 * static_cast<double>(r[j]);
    }
    b.lengths[i] = static_cast<int64_t>(r.size());
    b.truncated[i] = r.size() == 3;
    b.group_id[i] = first_group + i;
    b.reward[i] = static_cast<double>(first_group + i) / 10.0;
    b.correct[i] = static_cast<double>(i % 2);
  }
  return b;
}

TEST(RolloutBatch, ConcatRepadsPromptsLeftAndResponsesRight) {
  const std::vector<std::vector<int64_t>> p1 = {{1, 2}, {3}}, r1 = {{4}, {5, 6}};
  const std::vector<std::vector<int64_t>> p2 = {{7, 8, 1}}, r2 = {{2, 3, 4}};
  const RolloutBatch c = concat({make(p1, r1, 0), RolloutBatch{}, make(p2, r2, 10)});
  ASSERT_EQ(c.rows(), 3);
  ASSERT_EQ(c.prompt_tokens.size(1), 3);
  ASSERT_EQ(c.tokens.size(1), 3);
  // The expected batch, built directly from all rows.
  const RolloutBatch want = make({{1, 2}, {3}, {7, 8, 1}}, {{4}, {5, 6}, {2, 3, 4}}, 0);
  EXPECT_TRUE(torch::equal(c.prompt_tokens, want.prompt_tokens));
  EXPECT_TRUE(torch::equal(c.prompt_mask, want.prompt_mask));
  EXPECT_TRUE(torch::equal(c.tokens, want.tokens));
  EXPECT_TRUE(torch::equal(c.mask, want.mask));
  EXPECT_TRUE(torch::equal(c.attend, want.attend));
  EXPECT_TRUE(torch::allclose(c.logp, want.logp));
  EXPECT_TRUE(torch::allclose(c.logp_sample, want.logp_sample));
  EXPECT_TRUE(torch::allclose(c.entropy, want.entropy));
  EXPECT_TRUE(torch::equal(c.lengths, want.lengths));
  EXPECT_TRUE(torch::equal(c.truncated, want.truncated));
  EXPECT_EQ(c.group_id[2].item<int64_t>(), 10);  // the second part keeps its own ids
  EXPECT_FLOAT_EQ(c.reward[2].item<float>(), 1.0F);
  EXPECT_EQ(c.pad_token, kPad);
}

TEST(RolloutBatch, SelectRowsKeepsTheGivenOrder) {
  const RolloutBatch b = make({{1}, {2, 3}, {4}}, {{5}, {6, 7}, {8, 1, 2}}, 0);
  const RolloutBatch s = select_rows(b, torch::tensor({2, 0}, torch::kInt64));
  ASSERT_EQ(s.rows(), 2);
  EXPECT_EQ(s.tokens[0][2].item<int64_t>(), 2);
  EXPECT_EQ(s.tokens[1][0].item<int64_t>(), 5);
  EXPECT_EQ(s.group_id[0].item<int64_t>(), 2);
  EXPECT_TRUE(s.truncated[0].item<bool>());
  EXPECT_FALSE(s.truncated[1].item<bool>());
  EXPECT_FLOAT_EQ(s.correct[1].item<float>(), 0.0F);
  EXPECT_EQ(concat({}).rows(), 0);
}

TEST(RolloutBatch, RefusesPartsWithDifferentPads) {
  RolloutBatch a = make({{1}}, {{2}}, 0), b = make({{1}}, {{2}}, 1);
  b.pad_token = 0;
  EXPECT_THROW(concat({a, b}), core::UserError);
}

}  // namespace
}  // namespace rlpp::train::lm
