// EPO entropy bonus and turn-step smoothing penalty (arXiv 2509.22576); formulas in
// include/rlpp/algo/epo.h.
#include "rlpp/algo/epo.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "rlpp/algo/stats.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

// Checks H (B, L), turn (B, L) integer, mask; returns the valid positions (B, L) bool and the number
// of turn steps K = 1 + max valid turn (0 without a valid token).
std::pair<torch::Tensor, int64_t> checked(const std::string& who, const torch::Tensor& entropy,
                                          const torch::Tensor& turn, const torch::Tensor& mask) {
  check_defined(who, "entropy", entropy);
  check_defined(who, "turn", turn);
  core::require(entropy.dim() == 2, who + ": entropy must be (B, L), got " + std::to_string(entropy.dim()) + " dims");
  check_same_shape(who, "entropy", entropy, "turn", turn);
  if (mask.defined()) check_same_shape(who, "entropy", entropy, "mask", mask);
  core::require(!turn.is_floating_point(), who + ": turn must be an integer tensor (int64 turn step per token)");
  const torch::Tensor valid = valid_positions(entropy, mask);  // (B, L) bool
  const torch::Tensor t = turn.to(torch::kLong).to(valid.device());
  if (valid.sum().item<int64_t>() == 0) return {valid, 0};
  const torch::Tensor tv = t.masked_select(valid);  // (N_valid)
  core::require(tv.min().item<int64_t>() >= 0, who + ": turn must be >= 0 at valid tokens");
  return {valid, tv.max().item<int64_t>() + 1};
}

}  // namespace

torch::Tensor EpoEntropyTracker::update(const torch::Tensor& entropy, const torch::Tensor& turn,
                                        const torch::Tensor& mask) {
  const auto [valid, K] = checked("epo tracker update", entropy, turn, mask);
  const torch::Tensor tv = turn.to(torch::kLong).to(valid.device()).masked_select(valid).to(torch::kCPU);  // (N)
  const torch::Tensor hv = entropy.detach().masked_select(valid).to(torch::kCPU).to(torch::kDouble);    // (N)
  core::require(torch::isfinite(hv).all().item<bool>(), "epo tracker update: entropy must be finite at valid tokens");
  const torch::Tensor sum = torch::zeros({K}, torch::kDouble).index_add_(0, tv, hv);                      // (K)
  const torch::Tensor n = torch::zeros({K}, torch::kDouble).index_add_(0, tv, torch::ones_like(hv));     // (K)
  const torch::Tensor step_mean =
      torch::where(n > 0, sum / n.clamp_min(1), torch::full({}, std::numeric_limits<double>::quiet_NaN(), torch::kDouble));
  const auto m = step_mean.accessor<double, 1>();
  const auto c = n.accessor<double, 1>();
  for (int64_t k = 0; k < K; ++k)
    if (c[k] > 0) observe(k, m[k]);
  return step_mean;
}

void EpoEntropyTracker::observe(int64_t turn, double step_mean) {
  core::require(turn >= 0, "epo tracker: turn must be >= 0, got " + std::to_string(turn));
  core::require(std::isfinite(step_mean), "epo tracker: step mean entropy must be finite, got " + std::to_string(step_mean));
  sums_[turn] += step_mean;
  counts_[turn] += 1;
}

double EpoEntropyTracker::mean(int64_t turn) const {
  core::require(known(turn), "epo tracker: turn " + std::to_string(turn) + " has no history");
  return sums_.at(turn) / static_cast<double>(counts_.at(turn));
}

int64_t EpoEntropyTracker::count(int64_t turn) const {
  const auto it = counts_.find(turn);
  return it == counts_.end() ? 0 : it->second;
}

torch::Tensor EpoEntropyTracker::means(int64_t num_turns) const {
  torch::Tensor mu = torch::zeros({num_turns}, torch::kDouble);  // (K), 0 where unknown
  auto a = mu.accessor<double, 1>();
  for (int64_t k = 0; k < num_turns; ++k)
    if (known(k)) a[k] = mean(k);
  return mu;
}

torch::Tensor EpoEntropyTracker::known_mask(int64_t num_turns) const {
  torch::Tensor out = torch::zeros({num_turns}, torch::kBool);  // (K)
  auto a = out.accessor<bool, 1>();
  for (int64_t k = 0; k < num_turns; ++k) a[k] = known(k);
  return out;
}

nlohmann::json EpoEntropyTracker::save() const {
  nlohmann::json turns = nlohmann::json::array();
  for (const auto& [k, s] : sums_) turns.push_back({k, s, counts_.at(k)});
  return {{"format", "rlpp.epo_tracker"}, {"version", 1}, {"turns", turns}};
}

void EpoEntropyTracker::load(const nlohmann::json& state) {
  const std::string who = "epo tracker state";
  core::require(state.is_object() && state.value("format", std::string()) == "rlpp.epo_tracker",
                who + ": field `format` must be \"rlpp.epo_tracker\"");
  core::require(state.contains("version") && state["version"] == 1, who + ": field `version` must be 1");
  core::require(state.contains("turns") && state["turns"].is_array(), who + ": field `turns` must be an array");
  std::map<int64_t, double> sums;
  std::map<int64_t, int64_t> counts;
  size_t i = 0;
  for (const auto& row : state["turns"]) {
    const std::string where = who + ": turns[" + std::to_string(i++) + "]";
    core::require(row.is_array() && row.size() == 3 && row[0].is_number_integer() && row[1].is_number() &&
                      row[2].is_number_integer(),
                  where + " must be [turn, sum, count]");
    const int64_t k = row[0].get<int64_t>(), n = row[2].get<int64_t>();
    const double s = row[1].get<double>();
    core::require(k >= 0 && n > 0 && std::isfinite(s), where + ": need turn >= 0, count > 0 and a finite sum");
    core::require(sums.emplace(k, s).second, where + ": duplicate turn");
    counts[k] = n;
  }
  sums_ = std::move(sums);
  counts_ = std::move(counts);
}

double epo_phase_weight(double progress, const EpoOptions& opts) {
  core::require(progress >= 0 && progress <= 1, "epo: progress must be in [0, 1], got " + std::to_string(progress));
  if (opts.phase_schedule == "constant") return 1.0;
  if (opts.phase_schedule == "ramp") return opts.phase_ramp <= 0 ? 1.0 : std::min(1.0, progress / opts.phase_ramp);
  core::require(opts.phase_schedule == "decay",
                "epo: phase_schedule must be one of decay, ramp, constant, got \"" + opts.phase_schedule + "\"");
  // The authors' schedule: a slow exponential decay to ~0.83 over the first half of training, then a
  // fast one from 0.8 to 0.8·e^{−3} over the second half (the small step at ½ is theirs).
  if (progress <= 0.5) return 1.0 - 0.2 * (1.0 - std::exp(-2.0 * (progress / 0.5)));
  return 0.8 * std::exp(-3.0 * ((progress - 0.5) / 0.5));
}

EpoLoss epo_token_loss(const torch::Tensor& entropy, const torch::Tensor& turn, const torch::Tensor& mask,
                       const EpoEntropyTracker& history, const EpoOptions& opts, double progress) {
  const std::string who = "epo_token_loss";
  core::require(opts.kappa_low <= opts.kappa_high, who + ": kappa_low (" + std::to_string(opts.kappa_low) +
                                                       ") must be <= kappa_high (" + std::to_string(opts.kappa_high) + ")");
  const auto [valid, K] = checked(who, entropy, turn, mask);
  const double phase = epo_phase_weight(progress, opts);
  const torch::Tensor zero = torch::zeros({}, entropy.options());
  const torch::Tensor h = torch::where(valid, entropy, zero);  // (B, L): masked junk never reaches the graph

  // μ and "known" of each token's turn (B, L); index 0 stands in at masked positions.
  const torch::Tensor idx = torch::where(valid, turn.to(torch::kLong).to(valid.device()), torch::zeros({}, torch::kLong));
  const torch::Tensor mu_k = history.means(std::max<int64_t>(K, 1)).to(entropy.options());         // (K)
  const torch::Tensor known_k = history.known_mask(std::max<int64_t>(K, 1)).to(valid.device());    // (K)
  const torch::Tensor mu = mu_k.index_select(0, idx.reshape({-1})).view_as(h);                      // (B, L)
  const torch::Tensor known = known_k.index_select(0, idx.reshape({-1})).view_as(valid) & valid;    // (B, L)

  const torch::Tensor above = torch::relu(h - opts.kappa_high * mu);  // H_t − κ_h·μ_k when positive
  const torch::Tensor below = torch::relu(opts.kappa_low * mu - h);   // κ_l·μ_k − H_t when positive
  const torch::Tensor penalty = torch::where(known, opts.penalty_coef * phase * (above + below), zero);  // (B, L)
  const torch::Tensor bonus = torch::where(valid, -opts.entropy_coef * h, zero);                       // (B, L)

  EpoLoss out;
  out.token_loss = bonus + penalty;
  torch::NoGradGuard no_grad;
  const torch::Tensor fmask = valid.to(entropy.scalar_type());
  const torch::Tensor outside = known & ((above > 0) | (below > 0));
  out.metrics["epo/bonus"] = masked_mean(bonus.detach(), fmask);
  out.metrics["epo/penalty"] = masked_mean(penalty.detach(), fmask);
  out.metrics["epo/out_of_band"] = outside.sum().to(torch::kDouble) / valid.sum().clamp_min(1).to(torch::kDouble);
  out.metrics["epo/phase"] = torch::tensor(phase, torch::kDouble);
  return out;
}

}  // namespace rlpp::algo
