// The value head as a Bradley–Terry reward model: trained on synthetic preferences drawn from
// known scores, it recovers those scores (up to the constant BT cannot identify).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "rlpp/algo/preference.h"
#include "rlpp/core/error.h"
#include "rlpp/search/value_head.h"

using namespace rlpp;

TEST(ValueHead, LastTokenValueFollowsPadding) {
  search::ValueHead head(2);
  {
    torch::NoGradGuard ng;
    for (auto& p : head->named_parameters()) {
      if (p.key() == "proj.weight") p.value().copy_(torch::tensor({{1.0f, 10.0f}}));
      if (p.key() == "proj.bias") p.value().fill_(0.5f);
    }
  }
  // hidden (2, 3, 2): v = h0 + 10 h1 + 0.5.
  const torch::Tensor h = torch::tensor({1.f, 0.f, 2.f, 0.f, 3.f, 0.f, 0.f, 1.f, 0.f, 2.f, 0.f, 3.f}).view({2, 3, 2});
  const torch::Tensor att = torch::tensor({true, true, false, false, true, true}).view({2, 3});  // right / left padding
  const torch::Tensor v = search::last_token_values(head, h, att);
  EXPECT_FLOAT_EQ(v[0].item<float>(), 2.5f);   // row 0, position 1
  EXPECT_FLOAT_EQ(v[1].item<float>(), 30.5f);  // row 1, position 2
  EXPECT_FLOAT_EQ(search::last_token_values(head, h)[0].item<float>(), 3.5f);
  EXPECT_THROW(search::last_token_values(head, h.view({6, 2})), core::UserError);
}

TEST(ValueHead, BradleyTerryRecoversKnownScores) {
  torch::set_num_threads(1);
  torch::manual_seed(3);
  // 8 items with features x_i (as last-token hidden states, H = 5) and true scores s = X w*.
  const int64_t n = 8, H = 5, pairs = 6000;
  const torch::Tensor x = torch::randn({n, H}, torch::kDouble);
  const torch::Tensor w_true = torch::tensor({1.0, -0.5, 0.8, 0.0, 0.3}, torch::kDouble);
  const torch::Tensor s = x.matmul(w_true);  // (n)
  // Pairs (i, j) uniform; i preferred with probability σ(s_i − s_j).
  const torch::Tensor i = torch::randint(n, {pairs}, torch::kLong), j = torch::randint(n, {pairs}, torch::kLong);
  const torch::Tensor i_wins = torch::rand({pairs}, torch::kDouble) < torch::sigmoid(s.index_select(0, i) - s.index_select(0, j));
  const torch::Tensor w_idx = torch::where(i_wins, i, j), l_idx = torch::where(i_wins, j, i);

  search::ValueHead head(H);
  head->to(torch::kDouble);
  torch::optim::Adam opt(head->parameters(), torch::optim::AdamOptions(0.05));
  const torch::Tensor hw = x.index_select(0, w_idx).unsqueeze(1), hl = x.index_select(0, l_idx).unsqueeze(1);
  double first_loss = 0, last_loss = 0;
  for (int step = 0; step < 300; ++step) {
    opt.zero_grad();
    const auto out = algo::bradley_terry_loss(search::last_token_values(head, hw), search::last_token_values(head, hl));
    out.loss.backward();
    opt.step();
    (step == 0 ? first_loss : last_loss) = out.loss.item<double>();
  }
  EXPECT_NEAR(first_loss, std::log(2.0), 1e-9);  // a zero head: σ(0) for every pair
  EXPECT_LT(last_loss, first_loss);
  torch::NoGradGuard ng;
  const torch::Tensor est = head->forward(x);  // (n)
  // BT identifies scores up to a constant: compare centred scores.
  const torch::Tensor d = (est - est.mean()) - (s - s.mean());
  EXPECT_LT(d.abs().max().item<double>(), 0.25) << "estimated " << est << " true " << s;
  // And every pair whose true scores differ by more than 0.5 is ordered correctly.
  for (int64_t a = 0; a < n; ++a) {
    for (int64_t b = 0; b < n; ++b) {
      if (s[a].item<double>() > s[b].item<double>() + 0.5) {
        EXPECT_GT(est[a].item<double>(), est[b].item<double>());
      }
    }
  }
}
