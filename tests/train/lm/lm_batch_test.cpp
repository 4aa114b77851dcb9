// LM batch layouts and the learning-rate schedule, against hand-written expected tensors and the
// schedule formula evaluated in the test.
#include <gtest/gtest.h>

#include <cmath>

#include "rlpp/train/lm/lm_batch.h"
#include "rlpp/train/lm/lr_schedule.h"

namespace rlpp::train::lm {
namespace {

std::vector<int64_t> row(const torch::Tensor& t, int64_t i) {
  auto r = t[i].to(torch::kInt64).contiguous();
  return {r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + r.numel()};
}

TEST(LmBatch, PaddedLayoutMarksTargetsAndPadding) {
  LayoutOptions o;
  o.seq_len = 6;
  o.pack = false;
  o.pad_id = 0;
  const std::vector<LmExample> ex = {{{1, 2}, {3, 4}}, {{5}, {6, 7, 8, 9, 10, 11}}};
  LmBatch b = pad_examples(ex, o);
  EXPECT_EQ(b.tokens.sizes(), (torch::IntArrayRef{2, 6}));
  EXPECT_EQ(row(b.tokens, 0), (std::vector<int64_t>{1, 2, 3, 4, 0, 0}));
  EXPECT_EQ(row(b.tokens, 1), (std::vector<int64_t>{5, 6, 7, 8, 9, 10}));  // truncated at seq_len
  EXPECT_EQ(row(b.attention, 0), (std::vector<int64_t>{1, 1, 1, 1, 0, 0}));
  EXPECT_EQ(row(b.loss_mask, 0), (std::vector<int64_t>{0, 1, 1, 1, 0, 0}));
  o.response_only = true;
  b = pad_examples(ex, o);
  EXPECT_EQ(row(b.loss_mask, 0), (std::vector<int64_t>{0, 0, 1, 1, 0, 0}));
  EXPECT_EQ(row(b.loss_mask, 1), (std::vector<int64_t>{0, 1, 1, 1, 1, 1}));
  EXPECT_EQ(b.target_tokens(), 7);
}

TEST(LmBatch, PackerCutsTheStreamIntoFullRowsAndLosesNothing) {
  LayoutOptions o;
  o.seq_len = 4;
  o.response_only = true;
  Packer p(o);
  p.push({{1, 2}, {3}});      // stream: 1 2 3
  p.push({{4}, {5, 6, 7}});   // 4 5 6 7
  p.push({{}, {8, 9}});       // 8 9 (no prompt: its first token is not a target)
  EXPECT_EQ(p.rows_ready(), 2);
  LmBatch b = p.pop(2);
  EXPECT_EQ(row(b.tokens, 0), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(row(b.tokens, 1), (std::vector<int64_t>{5, 6, 7, 8}));
  // Targets: response tokens 3, 5, 6, 7 (8 starts a prompt-less sequence); position 0 of each row
  // is never a target.
  EXPECT_EQ(row(b.loss_mask, 0), (std::vector<int64_t>{0, 0, 1, 0}));
  EXPECT_EQ(row(b.loss_mask, 1), (std::vector<int64_t>{0, 1, 1, 0}));
  EXPECT_EQ(p.pending_tokens(), (std::vector<int64_t>{9}));
  EXPECT_THROW(p.pop(1), std::exception);
  // Without response_only every token after a sequence's first is a target.
  o.response_only = false;
  Packer q(o);
  q.push({{1, 2}, {3}});
  q.push({{4}, {5}});
  LmBatch c = q.pop(1);
  EXPECT_EQ(row(c.loss_mask, 0), (std::vector<int64_t>{0, 1, 1, 0}));
}

TEST(LmBatch, CosineScheduleWithWarmup) {
  LrSchedule s{/*lr=*/1e-3, /*warmup_steps=*/10, /*total_steps=*/110, /*min_lr_ratio=*/0.1};
  EXPECT_NEAR(s.at(0), 1e-4, 1e-15);
  EXPECT_NEAR(s.at(9), 1e-3, 1e-15);
  EXPECT_NEAR(s.at(10), 1e-3, 1e-15);
  EXPECT_NEAR(s.at(60), 1e-3 * (0.1 + 0.9 * 0.5), 1e-15);  // half way: cos(pi/2) = 0
  EXPECT_NEAR(s.at(110), 1e-4, 1e-15);
  EXPECT_NEAR(s.at(500), 1e-4, 1e-15);
  for (int k = 10; k <= 110; k += 7) {
    const double want = 1e-3 * (0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * (k - 10) / 100.0)));
    EXPECT_NEAR(s.at(k), want, 1e-15) << k;
  }
}

}  // namespace
}  // namespace rlpp::train::lm
