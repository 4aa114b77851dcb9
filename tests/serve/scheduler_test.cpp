// The batch scheduler against a backend that echoes each row's prompt and records every batch:
// which requests share a batch (same top_p, greedy anywhere unseeded, seeded sampling alone), the
// row budget, n rows per request, results routed back to their own request, failures contained.
#include <gtest/gtest.h>

#include <mutex>
#include <stdexcept>

#include "rlpp/serve/scheduler.h"
#include "serve_test_util.h"

namespace rlpp::serve {
namespace {

class EchoBackend final : public Backend {
 public:
  std::vector<RowOutput> generate(const BatchSpec& batch) override {
    std::lock_guard<std::mutex> lk(mu);
    batches.push_back(batch);
    if (fail_next) {
      fail_next = false;
      throw std::runtime_error("boom");
    }
    std::vector<RowOutput> out;
    for (const RowSpec& r : batch.rows) out.push_back({r.prompt, true});
    return out;
  }
  const nn::Tokenizer& tokenizer() const override { return *tok; }
  int64_t context_length() const override { return 0; }

  std::unique_ptr<nn::CharTokenizer> tok = testing::make_tokenizer();
  std::mutex mu;
  std::vector<BatchSpec> batches;
  bool fail_next = false;
};

GenerationJob job(int64_t id, double temperature = 0, double top_p = 1, std::optional<uint64_t> seed = {},
                  int64_t n = 1) {
  return GenerationJob{{id}, n, 4, temperature, top_p, seed};
}

TEST(SchedulerTest, ConcurrentJobsShareOneBatchAndGetTheirOwnRows) {
  EchoBackend be;
  BatchScheduler s(be, {/*max_batch=*/8, /*batch_wait_ms=*/300, /*base_seed=*/0});
  std::vector<std::future<std::vector<RowOutput>>> fs;
  for (int64_t i = 0; i < 4; ++i) fs.push_back(s.submit(job(10 + i, 0, 1, {}, /*n=*/i == 2 ? 2 : 1)));
  for (int64_t i = 0; i < 4; ++i) {
    const auto rows = fs[i].get();
    ASSERT_EQ(rows.size(), i == 2 ? 2u : 1u);
    for (const RowOutput& r : rows) EXPECT_EQ(r.tokens, std::vector<int64_t>{10 + i});
  }
  ASSERT_EQ(be.batches.size(), 1u);
  EXPECT_EQ(be.batches[0].rows.size(), 5u);  // n = 2 is two rows
  const SchedulerStats st = s.stats();
  EXPECT_EQ(st.batches, 1);
  EXPECT_EQ(st.jobs, 4);
  EXPECT_EQ(st.rows, 5);
  EXPECT_EQ(st.largest_batch, 5);
}

TEST(SchedulerTest, MaxBatchSplitsInArrivalOrder) {
  EchoBackend be;
  BatchScheduler s(be, {3, 300, 0});
  std::vector<std::future<std::vector<RowOutput>>> fs;
  for (int64_t i = 0; i < 5; ++i) fs.push_back(s.submit(job(i)));
  for (auto& f : fs) f.get();
  ASSERT_EQ(be.batches.size(), 2u);
  ASSERT_EQ(be.batches[0].rows.size(), 3u);
  ASSERT_EQ(be.batches[1].rows.size(), 2u);
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(be.batches[0].rows[i].prompt[0], i);
  EXPECT_EQ(be.batches[1].rows[0].prompt[0], 3);
}

TEST(SchedulerTest, SamplerSettingsDecideWhoSharesABatch) {
  EchoBackend be;
  BatchScheduler s(be, {8, 300, /*base_seed=*/100});
  auto a = s.submit(job(1, /*temperature=*/0.7, /*top_p=*/0.5));
  auto b = s.submit(job(2, 1.0, /*top_p=*/0.9));            // other top_p: next batch
  auto c = s.submit(job(3, 0.0, 0.9));                      // greedy: joins the first batch
  auto d = s.submit(job(4, 1.0, 0.5, /*seed=*/uint64_t{9}));  // seeded sampling: alone, seed 9
  auto e = s.submit(job(5, 0.0, 1.0, uint64_t{7}));         // a greedy seed changes nothing: joins
  for (auto* f : {&a, &b, &c, &d, &e}) f->get();
  ASSERT_EQ(be.batches.size(), 3u);
  std::vector<int64_t> first;
  for (const RowSpec& r : be.batches[0].rows) first.push_back(r.prompt[0]);
  EXPECT_EQ(first, (std::vector<int64_t>{1, 3, 5}));
  EXPECT_EQ(be.batches[0].top_p, 0.5);
  EXPECT_EQ(be.batches[0].seed, 100u);  // base_seed + batch index
  EXPECT_EQ(be.batches[0].rows[0].temperature, 0.7);
  EXPECT_EQ(be.batches[0].rows[1].temperature, 0.0);
  ASSERT_EQ(be.batches[1].rows.size(), 1u);
  EXPECT_EQ(be.batches[1].rows[0].prompt[0], 2);
  EXPECT_EQ(be.batches[1].top_p, 0.9);
  EXPECT_EQ(be.batches[1].seed, 101u);
  ASSERT_EQ(be.batches[2].rows.size(), 1u);
  EXPECT_EQ(be.batches[2].rows[0].prompt[0], 4);
  EXPECT_EQ(be.batches[2].seed, 9u);
}

TEST(SchedulerTest, AFailedBatchFailsItsJobsOnly) {
  EchoBackend be;
  be.fail_next = true;
  BatchScheduler s(be, {8, 0, 0});
  auto f = s.submit(job(1));
  EXPECT_THROW(f.get(), std::runtime_error);
  EXPECT_EQ(s.submit(job(2)).get()[0].tokens, std::vector<int64_t>{2});
  EXPECT_EQ(s.stats().failed_batches, 1);
  s.stop();
  EXPECT_THROW(s.submit(job(3)).get(), std::runtime_error);
}

TEST(SchedulerTest, BadOptionsAreRefused) {
  EchoBackend be;
  EXPECT_THROW(BatchScheduler(be, {0, 5, 0}), std::invalid_argument);
  EXPECT_THROW(BatchScheduler(be, {4, -1, 0}), std::invalid_argument);
}

}  // namespace
}  // namespace rlpp::serve
