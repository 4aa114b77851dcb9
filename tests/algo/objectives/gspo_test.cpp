// gspo against its formula per element in double precision and its analytic gradient.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "algo/objective_test_util.h"
#include "rlpp/algo/aggregation.h"
#include "rlpp/algo/objectives/gspo.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

using namespace test_util;

TEST(Gspo, SequenceRatioValuesGradientsAndTokenFormAgree) {
  // Small per-token spread so that with ε = 0.05/0.08 some rows are clipped and some not.
  PolicyLossInput in = random_input(16, 0.5);
  GspoOptions seq_opts{0.05, 0.08, false};
  GspoOptions tok_opts{0.05, 0.08, true};
  const ObjectiveOutput seq = gspo_loss(in, seq_opts);
  const torch::Tensor g_seq = grad_of(in, seq, Aggregation::kSeqMeanTokenMean);
  const ObjectiveOutput tok = gspo_loss(in, tok_opts);
  const torch::Tensor g_tok = grad_of(in, tok, Aggregation::kSeqMeanTokenMean);
  EXPECT_TRUE(torch::allclose(seq.token_loss, tok.token_loss, 1e-6, 1e-7));
  EXPECT_TRUE(torch::allclose(g_seq, g_tok, 1e-5, 1e-7));
  int clipped_rows = 0, free_rows = 0;
  double want_agg = 0;
  for (int64_t i = 0; i < kB; ++i) {
    const RowRef ref = row_ref(in, i);
    const double s = std::exp(ref.mean_lr);
    const ClipRef p = clip_ref(s, ref.mean_a, 0.05, 0.08);
    if (ref.n > 0) (p.side != 0 ? clipped_rows : free_rows)++;
    want_agg += ref.n > 0 ? p.loss : 0.0;
    for (int64_t t = 0; t < kL; ++t) {
      if (!valid(in, i, t)) {
        EXPECT_EQ(val(seq.token_loss, i, t), 0.0);
        EXPECT_EQ(val(g_seq, i, t), 0.0);
        continue;
      }
      EXPECT_NEAR(val(seq.token_loss, i, t), p.loss, 1e-5);
      // d/dlogp_it of (1/B)·Σ_i ℓ_i with ℓ_i = −s_i·A_i and ds_i/dlogp_it = s_i/n_i.
      const double want = p.side == 0 ? -s * ref.mean_a / ref.n / kSeqs : 0.0;
      EXPECT_NEAR(val(g_seq, i, t), want, 1e-6);
    }
  }
  ASSERT_GT(clipped_rows, 0);
  ASSERT_GT(free_rows, 0);
  EXPECT_NEAR(scalar(aggregate_loss(seq.token_loss, in.mask, Aggregation::kSeqMeanTokenMean)), want_agg / kSeqs, 1e-5);
  PolicyLossInput flat = random_input(16);
  flat.logp = flat.logp.detach().flatten().requires_grad_(true);
  flat.logp_old = flat.logp_old.flatten();
  flat.advantages = flat.advantages.flatten();
  flat.mask = torch::Tensor();
  flat.entropy = torch::Tensor();
  EXPECT_THROW(gspo_loss(flat, GspoOptions{}), core::UserError);
}

}  // namespace
}  // namespace rlpp::algo
