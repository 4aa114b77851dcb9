// Algorithm "mcts_dpo": the MCTS-DPO loop (arXiv 2405.00451) as a resumable trainer. One round =
// MCTS on [search].problems fresh problems → sibling step pairs (highest- vs lowest-Q child, Q gap
// ≥ [dpo].min_gap, tree_data.h) → [dpo].epochs passes of step-level DPO or IPO (step_dpo.h)
// against the reference → every [dpo].refresh_every rounds the reference becomes a copy of the
// policy (the paper refreshes the search policy and reference together). The reference is part of
// the checkpoint, so a resumed run continues exactly.
#include "rlpp/search/trainers/trainers.h"

#include "rlpp/core/error.h"
#include "rlpp/search/step_dpo.h"
#include "rlpp/search/tree_data.h"
#include "search/trainers/search_run.h"

namespace rlpp::search {

namespace {

struct MctsDpoSection {  // [dpo]
  StepDpoOptions step;
  double min_gap = 0.5;       // |Q_w − Q_l| needed for a pair
  int64_t refresh_every = 1;  // rounds between reference refreshes (0 = never: a fixed SFT reference)

  void bind(core::Binder& b) {
    step.bind(b);
    b.num("min_gap", min_gap, "Q gap needed for a sibling pair", core::Bounds{0.0, 2.0, false, false});
    b.integer("refresh_every", refresh_every, "rounds between reference refreshes (0 = a fixed reference)",
              core::Bounds::non_negative());
  }
};

class MctsDpoTrainer : public SearchRun {
 public:
  MctsDpoTrainer(const core::Recipe& recipe, const train::RunContext& ctx) : SearchRun(recipe, ctx, step_search_defaults()) {
    dpo_ = core::read_options<MctsDpoSection>(recipe, "dpo");
    try {
      dpo_.step.validate();
    } catch (const core::UserError& e) {
      throw core::UserError(recipe.origin("dpo") + ": " + e.what());
    }
    recipe.check_all_used();
    build_search_policy();
    reference_ = nn::lm::TransformerLm(model_->config());
    copy_policy_to_reference();
    finish_setup();
  }

 private:
  void copy_policy_to_reference() {
    torch::NoGradGuard ng;
    auto src = model_->named_parameters();
    for (auto& p : reference_->named_parameters()) p.value().copy_(src[p.key()]);
    for (auto& p : reference_->parameters()) p.requires_grad_(false);
    reference_->eval();
  }

  core::MetricRow train_step() override {
    const int64_t round = step_ + 1;
    std::vector<PairSequences> pairs;
    const RoundSearch s = search(problems_of_round(round, search_.problems), run_.seed * 1000 + round, {},
                                 [&](int64_t, const Tokens& prompt, const Mcts& tree, const MctsResult&) {
                                   for (PairSequences& p : pair_sequences(prompt, step_preferences(tree, dpo_.min_gap)))
                                     pairs.push_back(std::move(p));
                                 });
    const StepDpoStats st = train_step_dpo(model_, reference_, pairs, dpo_.step, *optimizer_, rng_);
    if (dpo_.refresh_every > 0 && round % dpo_.refresh_every == 0) copy_policy_to_reference();
    core::MetricRow row;
    append(row, s);
    row.emplace_back("dpo/pairs", static_cast<double>(pairs.size()));
    row.emplace_back("dpo/updates", static_cast<double>(st.updates));
    row.emplace_back("dpo/loss_first", st.loss_first);
    row.emplace_back("dpo/loss_last", st.loss_last);
    row.emplace_back("dpo/reward_accuracy_last", st.reward_accuracy_last);
    return row;
  }

  void write_own_options(toml::table* out) const override {
    write_search_options(out);
    core::write_options(dpo_, out, "dpo");
  }
  void save_extra(train::CheckpointWriter& w) const override { reference_->save(w.child("reference")); }
  void load_extra(train::CheckpointReader& r) override { reference_->load(r.child("reference")); }

  MctsDpoSection dpo_;
  nn::lm::TransformerLm reference_{nullptr};
};

}  // namespace

std::unique_ptr<train::Trainer> make_mcts_dpo_trainer(const core::Recipe& recipe, const train::RunContext& ctx) {
  return std::make_unique<MctsDpoTrainer>(recipe, ctx);
}

}  // namespace rlpp::search
