// REINFORCE (Williams 1992) and its importance-weighted form; both share the score-function term
// A·log π and differ only by the stop-gradient weight.
#include "rlpp/algo/objectives/pg.h"

#include "rlpp/algo/objectives/pg_is.h"
#include "rlpp/algo/ratio.h"

namespace rlpp::algo {

// ℓ = −w·A·log π with a constant weight w (1 for pg, sg(r) for pg_is).
static torch::Tensor weighted_score_loss(const PolicyLossInput& in, const torch::Tensor& weight) {
  const torch::Tensor wa =
      weight.defined() ? weight.detach() * in.advantages.detach() : in.advantages.detach();
  return mask_token_loss(-wa * in.logp, in.mask);
}

ObjectiveOutput pg_loss(const PolicyLossInput& in, const PgOptions&) {
  check_policy_input("pg", in, /*needs_logp_old=*/false);
  return {weighted_score_loss(in, /*weight=*/{}), policy_metrics(in)};
}

ObjectiveOutput pg_is_loss(const PolicyLossInput& in, const PgIsOptions&) {
  check_policy_input("pg_is", in, /*needs_logp_old=*/true);
  return {weighted_score_loss(in, ratio(in.logp, in.logp_old)), policy_metrics(in)};
}

}  // namespace rlpp::algo
