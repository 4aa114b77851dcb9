// SPO per-prompt tracker and the `spo` advantage estimator (arXiv 2509.13232); formulas in
// include/rlpp/algo/spo.h.
#include "rlpp/algo/spo.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "rlpp/algo/stats.h"
#include "rlpp/core/error.h"

namespace rlpp::algo {
namespace {

std::string shape_of(const torch::Tensor& t) {
  std::string s = "(";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? ", " : "") + std::to_string(t.size(d));
  return s + ")";
}

// A 1-D integer id tensor as int64 on the CPU (P).
torch::Tensor ids_of(const std::string& who, const std::string& name, const torch::Tensor& ids) {
  check_defined(who, name, ids);
  core::require(ids.dim() == 1, who + ": " + name + " must be (P), got shape " + shape_of(ids));
  core::require(!ids.is_floating_point(), who + ": " + name + " must be an integer tensor");
  return ids.detach().to(torch::kCPU).to(torch::kLong).contiguous();
}

}  // namespace

SpoTracker::SpoTracker(const SpoOptions& opts) : opts_(opts) {
  core::require(opts_.rho_min > 0 && opts_.rho_min <= opts_.rho_max && opts_.rho_max <= 1,
                "spo: need 0 < rho_min <= rho_max <= 1, got rho_min = " + std::to_string(opts_.rho_min) +
                    ", rho_max = " + std::to_string(opts_.rho_max));
  core::require(opts_.init_alpha > 0 && opts_.init_beta > 0, "spo: init_alpha and init_beta must be > 0");
  core::require(opts_.d_scale > 0, "spo: d_scale must be > 0, got " + std::to_string(opts_.d_scale));
}

SpoPromptState SpoTracker::state(int64_t prompt) const {
  const auto it = states_.find(prompt);
  if (it != states_.end()) return it->second;
  return {opts_.init_alpha, opts_.init_beta};
}

double SpoTracker::p_hat(int64_t prompt) const {
  const SpoPromptState s = state(prompt);
  return s.alpha / (s.alpha + s.beta);
}

torch::Tensor SpoTracker::p_hat(const torch::Tensor& prompt_ids) const {
  const torch::Tensor ids = ids_of("spo p_hat", "prompt_ids", prompt_ids);
  const int64_t P = ids.size(0);
  torch::Tensor p = torch::empty({P}, torch::kDouble);  // (P)
  const auto id = ids.accessor<int64_t, 1>();
  auto out = p.accessor<double, 1>();
  for (int64_t i = 0; i < P; ++i) out[i] = p_hat(id[i]);
  return p;
}

double SpoTracker::decay(double drift) const {
  core::require(std::isfinite(drift) && drift >= 0, "spo: drift D must be finite and >= 0, got " + std::to_string(drift));
  return std::clamp(std::exp2(-drift / opts_.d_scale), opts_.rho_min, opts_.rho_max);
}

void SpoTracker::update(int64_t prompt, const std::vector<double>& rewards, double rho) {
  core::require(rho > 0 && rho <= 1, "spo: decay rho must be in (0, 1], got " + std::to_string(rho));
  double wins = 0, losses = 0;
  for (double r : rewards) {
    core::require(std::isfinite(r), "spo: rewards must be finite, got " + std::to_string(r));
    const double rc = std::clamp(r, 0.0, 1.0);
    wins += rc;
    losses += 1.0 - rc;
  }
  SpoPromptState s = state(prompt);
  s.alpha = rho * s.alpha + wins;
  s.beta = rho * s.beta + losses;
  states_[prompt] = s;
}

void SpoTracker::update(const torch::Tensor& prompt_ids, const torch::Tensor& rewards, const torch::Tensor& drift_sum,
                        const torch::Tensor& drift_count) {
  const torch::Tensor ids = ids_of("spo update", "prompt_ids", prompt_ids);
  const int64_t B = ids.size(0);
  check_defined("spo update", "rewards", rewards);
  core::require(rewards.dim() == 1 && rewards.size(0) == B, "spo update: rewards must be (B) with B = " +
                                                                 std::to_string(B) + ", got " + shape_of(rewards));
  const torch::Tensor r = rewards.detach().to(torch::kCPU).to(torch::kDouble).contiguous();  // (B)
  core::require(torch::isfinite(r).all().item<bool>(), "spo update: rewards must be finite");
  const bool has_drift = drift_sum.defined() && drift_count.defined();
  torch::Tensor ds = torch::zeros({B}, torch::kDouble), dn = torch::zeros({B}, torch::kDouble);  // (B)
  if (has_drift) {
    core::require(drift_sum.dim() == 1 && drift_sum.size(0) == B && drift_count.dim() == 1 && drift_count.size(0) == B,
                  "spo update: drift_sum and drift_count must be (B) with B = " + std::to_string(B));
    ds = drift_sum.detach().to(torch::kCPU).to(torch::kDouble).contiguous();
    dn = drift_count.detach().to(torch::kCPU).to(torch::kDouble).contiguous();
  }
  // Per-prompt bookkeeping in batch order (the update itself is order-free).
  struct Acc {
    std::vector<double> rewards;
    double drift = 0;
    double tokens = 0;
  };
  std::map<int64_t, Acc> acc;
  const auto id = ids.accessor<int64_t, 1>();
  const auto ra = r.accessor<double, 1>();
  const auto dsa = ds.accessor<double, 1>();
  const auto dna = dn.accessor<double, 1>();
  for (int64_t i = 0; i < B; ++i) {
    Acc& a = acc[id[i]];
    a.rewards.push_back(ra[i]);
    a.drift += dsa[i];
    a.tokens += dna[i];
  }
  // D = token mean of |log π_old − log π| over the prompt's responses; no tokens → D = 0 (ρ_max).
  // Every ρ is checked before the first prompt changes, so a bad batch leaves the state untouched.
  std::vector<double> rho;
  for (const auto& [prompt, a] : acc) rho.push_back(decay(a.tokens > 0 ? a.drift / a.tokens : 0.0));
  size_t k = 0;
  for (const auto& [prompt, a] : acc) update(prompt, a.rewards, rho[k++]);
}

torch::Tensor SpoTracker::sampling_weights(const torch::Tensor& candidates) const {
  const torch::Tensor p = p_hat(candidates);  // (P)
  return (p * (1 - p)).clamp_min(0).sqrt() + opts_.sample_floor;
}

torch::Tensor SpoTracker::sample_prompts(const torch::Tensor& candidates, int64_t k, torch::Generator gen,
                                         bool replacement) const {
  const torch::Tensor ids = ids_of("spo sample_prompts", "candidates", candidates);
  const int64_t P = ids.size(0);
  core::require(k >= 0, "spo sample_prompts: k must be >= 0, got " + std::to_string(k));
  if (k == 0) return torch::empty({0}, torch::kLong);
  core::require(P > 0, "spo sample_prompts: candidates is empty");
  core::require(replacement || k <= P, "spo sample_prompts: k (" + std::to_string(k) +
                                           ") must be <= the number of candidates (" + std::to_string(P) +
                                           ") without replacement");
  torch::Tensor w = sampling_weights(ids);  // (P) double
  // A zero floor with only solved/hopeless prompts leaves every weight 0: draw uniformly then.
  if (w.sum().item<double>() <= 0) w = torch::ones_like(w);
  const torch::Tensor picks = torch::multinomial(w, k, replacement, gen);  // (k) slots
  return ids.index_select(0, picks);
}

std::vector<int64_t> SpoTracker::sample_prompts(const std::vector<int64_t>& candidates, int64_t k, uint64_t seed,
                                                bool replacement) const {
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  const torch::Tensor ids = torch::tensor(candidates, torch::kLong);
  const torch::Tensor out = sample_prompts(ids, k, gen, replacement).contiguous();
  return {out.data_ptr<int64_t>(), out.data_ptr<int64_t>() + out.numel()};
}

nlohmann::json SpoTracker::save() const {
  nlohmann::json prompts = nlohmann::json::array();
  for (const auto& [id, s] : states_) prompts.push_back({id, s.alpha, s.beta});
  return {{"format", "rlpp.spo_tracker"}, {"version", 1}, {"prompts", prompts}};
}

void SpoTracker::load(const nlohmann::json& state) {
  const std::string who = "spo tracker state";
  core::require(state.is_object() && state.value("format", std::string()) == "rlpp.spo_tracker",
                who + ": field `format` must be \"rlpp.spo_tracker\"");
  core::require(state.contains("version") && state["version"] == 1, who + ": field `version` must be 1");
  core::require(state.contains("prompts") && state["prompts"].is_array(), who + ": field `prompts` must be an array");
  std::map<int64_t, SpoPromptState> loaded;
  size_t k = 0;
  for (const auto& row : state["prompts"]) {
    const std::string where = who + ": prompts[" + std::to_string(k++) + "]";
    core::require(row.is_array() && row.size() == 3 && row[0].is_number_integer() && row[1].is_number() &&
                      row[2].is_number(),
                  where + " must be [id, alpha, beta]");
    const SpoPromptState s{row[1].get<double>(), row[2].get<double>()};
    core::require(std::isfinite(s.alpha) && std::isfinite(s.beta) && s.alpha > 0 && s.beta > 0,
                  where + ": alpha and beta must be finite and > 0");
    core::require(loaded.emplace(row[0].get<int64_t>(), s).second, where + ": duplicate prompt id");
  }
  states_ = std::move(loaded);
}

torch::Tensor spo_batch_advantages(const SpoTracker& tracker, const torch::Tensor& prompt_ids,
                                   const torch::Tensor& rewards) {
  check_defined("spo", "seq_rewards", rewards);
  const torch::Tensor ids = ids_of("spo", "group_ids", prompt_ids);
  core::require(rewards.dim() == 1 && rewards.size(0) == ids.size(0),
                "spo: seq_rewards must be (B) like group_ids " + shape_of(ids) + ", got " + shape_of(rewards));
  const torch::Tensor r = rewards.detach().to(torch::kCPU).to(torch::kDouble);  // (B)
  core::require(torch::isfinite(r).all().item<bool>(), "spo: seq_rewards must be finite");
  const torch::Tensor a = r - tracker.p_hat(ids);                               // (B) R − p̂
  if (a.numel() == 0) return a;
  const torch::Tensor centred = a - a.mean();
  const torch::Tensor std = (centred * centred).mean().sqrt();                  // population std
  // Equal A everywhere (a batch of one, or every R − p̂ the same) is exactly 0: the rounding left
  // by the mean would otherwise come back as a tiny non-zero value.
  const torch::Tensor flat = (a.max() - a.min()) == 0;
  return torch::where(flat, torch::zeros_like(centred), centred / (std + tracker.options().eps));
}

AdvantageOutput SpoAdvantage::compute(const AdvantageInput& in) {
  const std::string who = "spo";
  check_defined(who, "seq_rewards", in.seq_rewards);
  check_defined(who, "group_ids", in.group_ids);
  check_defined(who, "mask", in.mask);
  core::require(in.seq_rewards.dim() == 1, who + ": seq_rewards must be (B), got " + shape_of(in.seq_rewards));
  const int64_t B = in.seq_rewards.size(0);
  core::require(in.mask.dim() == 2 && in.mask.size(0) == B,
                who + ": mask must be (B, L) with B = " + std::to_string(B) + ", got " + shape_of(in.mask));
  const torch::Tensor a = spo_batch_advantages(tracker_, in.group_ids, in.seq_rewards);  // (B) double
  const torch::Tensor valid = valid_positions(in.mask, in.mask).to(torch::kCPU);         // (B, L) bool

  // Per-row drift sums over valid tokens, masked with `where` (padding never leaks in).
  torch::Tensor drift_sum, drift_count;  // (B)
  if (in.logp.defined() && in.logp_old.defined()) {
    check_same_shape(who, "mask", in.mask, "logp", in.logp);
    check_same_shape(who, "mask", in.mask, "logp_old", in.logp_old);
    const torch::Tensor diff =
        (in.logp_old.detach().to(torch::kCPU).to(torch::kDouble) - in.logp.detach().to(torch::kCPU).to(torch::kDouble))
            .abs();  // (B, L)
    drift_sum = torch::where(valid, diff, torch::zeros({}, diff.options())).sum(1);
    drift_count = valid.to(torch::kDouble).sum(1);
  }
  tracker_.update(in.group_ids, in.seq_rewards, drift_sum, drift_count);

  torch::Tensor adv = torch::where(valid, a.unsqueeze(1), torch::zeros({}, a.options()));  // (B, L)
  adv = adv.to(in.seq_rewards.options().device(in.mask.device()));
  return {adv, adv};
}

}  // namespace rlpp::algo
