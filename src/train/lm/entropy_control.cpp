#include "rlpp/train/lm/entropy_control.h"

#include <nlohmann/json.hpp>

#include "rlpp/algo/aepo.h"
#include "rlpp/algo/build_named.h"
#include "rlpp/algo/entropy.h"
#include "rlpp/algo/epo.h"

namespace rlpp::train::lm {

namespace {

// EPO (arXiv 2509.22576): its bonus and turn-step smoothing against the history from before this
// batch; the batch's per-turn mean entropies join the history after the update.
class EpoControl final : public EntropyControl {
 public:
  explicit EpoControl(const algo::EpoOptions& opts) : opts_(opts) {}
  torch::Tensor token_loss(const EntropyTermInput& in, std::map<std::string, torch::Tensor>* metrics) override {
    algo::EpoLoss epo = algo::epo_token_loss(in.entropy, in.turn, in.mask, history_, opts_, in.progress);
    *metrics = std::move(epo.metrics);
    return epo.token_loss;
  }
  void observe(const torch::Tensor& sampled_entropy, const torch::Tensor& turn, const torch::Tensor& valid,
               bool fresh) override {
    if (fresh) history_.update(sampled_entropy, turn, valid);
  }
  void save(CheckpointWriter& w) const override { w.put_bytes("rl/epo_tracker", history_.save().dump()); }
  void load(CheckpointReader& r) override { history_.load(nlohmann::json::parse(r.get_bytes("rl/epo_tracker"))); }

 private:
  algo::EpoOptions opts_;
  algo::EpoEntropyTracker history_;  // historical mean entropy per turn step
};

// −c·H with c ← c ± step toward the target mean entropy after every batch (Skywork-OR1,
// arXiv 2505.22312). The mean is over the batch's response tokens at sampling time.
class AdaptiveEntropyControl final : public EntropyControl {
 public:
  explicit AdaptiveEntropyControl(const algo::AdaptiveEntropyOptions& opts) : coef_(opts) {}
  torch::Tensor token_loss(const EntropyTermInput& in, std::map<std::string, torch::Tensor>* metrics) override {
    (*metrics)["entropy/coef"] = torch::tensor(coef_.coef(), torch::kFloat64);
    return -coef_.coef() * in.entropy * in.mask;
  }
  void observe(const torch::Tensor& sampled_entropy, const torch::Tensor& turn, const torch::Tensor& valid,
               bool fresh) override {
    if (!fresh) return;
    const double n = valid.sum().item<double>();
    if (n > 0) coef_.update((sampled_entropy * valid).sum().item<double>() / n);
  }
  void save(CheckpointWriter& w) const override { w.put_doubles("rl/entropy_coef", {coef_.coef()}); }
  void load(CheckpointReader& r) override { coef_.set_coef(r.get_doubles("rl/entropy_coef", 1)[0]); }

 private:
  algo::AdaptiveEntropyCoef coef_;
};

// AEPO (arXiv 2510.08141): no term on the batch's own tokens; extra rollouts at T = t_high or t_low
// reinforced with weight w ∈ {0, 1} (aepo_rollout_weights) under π at T = 1.
class AepoControl final : public EntropyControl {
 public:
  explicit AepoControl(const algo::AepoOptions& opts) : opts_(opts) {}
  torch::Tensor token_loss(const EntropyTermInput& in, std::map<std::string, torch::Tensor>*) override {
    return torch::zeros_like(in.entropy);
  }
  bool wants_extra_rollouts() const override { return true; }
  double extra_rollout_temperature(double mean_entropy) const override {
    return algo::aepo_temperature(mean_entropy, opts_);
  }
  torch::Tensor extra_rollout_loss(const torch::Tensor& logp, const torch::Tensor& mask, const torch::Tensor& advantages,
                                   double mean_entropy, std::map<std::string, torch::Tensor>* metrics) override {
    algo::AepoLoss l = algo::aepo_loss(logp, advantages, mask, mean_entropy, opts_);
    *metrics = std::move(l.metrics);
    return l.token_loss;
  }

 private:
  algo::AepoOptions opts_;
};

struct NoOptions {
  void bind(core::Binder&) {}
};

}  // namespace

core::Registry<EntropyControlFactory>& entropy_control_registry() {
  static core::Registry<EntropyControlFactory> reg = [] {
    core::Registry<EntropyControlFactory> r("entropy control");
    r.add("none", [](core::Binder& b) { NoOptions{}.bind(b); return std::unique_ptr<EntropyControl>(); },
          "no entropy control (entropy_coef still adds a fixed bonus)");
    r.add("epo", algo::factory_of<EntropyControl, EpoControl, algo::EpoOptions>(),
          "EPO: entropy bonus + per-turn-step smoothing toward historical entropy (arXiv 2509.22576)");
    r.add("adaptive", algo::factory_of<EntropyControl, AdaptiveEntropyControl, algo::AdaptiveEntropyOptions>(),
          "adaptive entropy coefficient toward a target entropy (Skywork-OR1, arXiv 2505.22312)");
    r.add("aepo", algo::factory_of<EntropyControl, AepoControl, algo::AepoOptions>(),
          "AEPO: REINFORCE on extra rollouts sampled at a temperature chosen from the entropy (arXiv 2510.08141; differs: the rollouts are added with weight alpha, not swapped into the batch; docs/objectives.md)");
    return r;
  }();
  return reg;
}

std::unique_ptr<EntropyControl> build_entropy_control(const core::Recipe& recipe, toml::table* resolved) {
  if (!recipe.has_section("entropy_control")) return nullptr;
  return algo::build_named(entropy_control_registry(), recipe, "entropy_control", "none", resolved);
}

}  // namespace rlpp::train::lm
