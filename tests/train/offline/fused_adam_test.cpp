// fused_adam_step against torch::optim::Adam::step() on the same parameters and gradients: the
// parameters and both moments after several steps, with and without weight decay; its state is
// the optimizer's own (a later step() continues it), parameters without a gradient are skipped.
#include <gtest/gtest.h>

#include <vector>

#include "rlpp/train/offline/fused_adam.h"

namespace fused_adam_test {

namespace ol = rlpp::train::offline;

std::vector<torch::Tensor> make_params() {
  torch::manual_seed(11);
  return {torch::randn({7, 5}).requires_grad_(true), torch::randn({5}).requires_grad_(true),
          torch::randn({3}).requires_grad_(true)};  // the last one never gets a gradient
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

const torch::optim::AdamParamState& state_of(torch::optim::Adam& opt, const torch::Tensor& p) {
  return static_cast<const torch::optim::AdamParamState&>(
      *opt.state().at(c10::guts::to_string(p.unsafeGetTensorImpl())));
}

TEST(FusedAdam, MatchesLibTorchsStepAndContinuesItsState) {
  for (double wd : {0.0, 1e-2}) {
    std::vector<torch::Tensor> ref = make_params(), mine = make_params();
    torch::optim::Adam ref_opt(ref, torch::optim::AdamOptions(3e-3).weight_decay(wd));
    torch::optim::Adam my_opt(mine, torch::optim::AdamOptions(3e-3).weight_decay(wd));
    torch::manual_seed(5);
    for (int step = 0; step < 6; ++step) {
      for (size_t i = 0; i < 2; ++i) {
        const torch::Tensor g = torch::randn(ref[i].sizes()) * (step + 1);
        ref[i].mutable_grad() = g.clone();
        mine[i].mutable_grad() = g.clone();
      }
      ref_opt.step();
      if (step < 5) {
        ol::fused_adam_step(my_opt);
      } else {
        my_opt.step();  // LibTorch's own step on the state the fused one left
      }
    }
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_LT(max_diff(ref[i], mine[i]), 2e-6) << "wd " << wd << " param " << i;
      EXPECT_GT(max_diff(ref[i], make_params()[i]), 1e-3) << "the parameters moved";
      const auto &rs = state_of(ref_opt, ref[i]), &ms = state_of(my_opt, mine[i]);
      EXPECT_EQ(rs.step(), 6);
      EXPECT_EQ(ms.step(), 6);
      EXPECT_LT(max_diff(rs.exp_avg(), ms.exp_avg()), 1e-5 * (1 + rs.exp_avg().abs().max().item<double>()));
      EXPECT_LT(max_diff(rs.exp_avg_sq(), ms.exp_avg_sq()), 1e-5 * (1 + rs.exp_avg_sq().abs().max().item<double>()));
    }
    // no gradient: untouched, no state
    EXPECT_TRUE(torch::equal(mine[2], make_params()[2]));
    EXPECT_EQ(my_opt.state().count(c10::guts::to_string(mine[2].unsafeGetTensorImpl())), 0u);
  }
}

TEST(FusedAdam, RefusesAmsgrad) {
  std::vector<torch::Tensor> p = make_params();
  torch::optim::Adam opt(p, torch::optim::AdamOptions(1e-3).amsgrad(true));
  p[0].mutable_grad() = torch::ones_like(p[0]);
  EXPECT_THROW(ol::fused_adam_step(opt), c10::Error);
}

}  // namespace fused_adam_test
