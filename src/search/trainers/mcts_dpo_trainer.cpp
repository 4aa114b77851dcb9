// Algorithm "mcts_dpo": the MCTS-DPO loop (arXiv 2405.00451) as a resumable trainer. One round =
// MCTS on [search].problems fresh problems → sibling step pairs (highest- vs lowest-Q child, Q gap
// ≥ [dpo].min_gap, tree_data.h) → [dpo].epochs passes of step-level DPO or IPO (step_dpo.h)
// against the reference → every [dpo].refresh_every rounds the reference becomes a copy of the
// policy (the paper refreshes the search policy and reference together). The reference is part of
// the checkpoint, so a resumed run continues exactly.
// The search uses the paper's step-reward backup by default ([mcts] backup = "step_reward":
// Q = R + γ·V, R = outcome + λ·C, mcts.h) with C the policy's own self-evaluation of each new step
// ([self_eval], self_evaluation.h), judged by the current policy in one forward per expansion.
#include "rlpp/search/trainers/trainers.h"

#include <algorithm>
#include <memory>

#include "rlpp/core/error.h"
#include "rlpp/dist/data_parallel.h"
#include "rlpp/search/lm_step_model.h"
#include "rlpp/search/self_evaluation.h"
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

// The step search of mcts_dpo: the sibling-step budget (k = 4, 8 iterations per move, × 2 at the
// root) with the paper's step-reward backup.
MctsOptions mcts_dpo_defaults() {
  MctsOptions o = step_search_defaults();
  o.backup = "step_reward";
  return o;
}

// How the round's self-evaluations relate to the steps' correctness (diagnostics, not training).
struct SelfEvalTally {
  std::vector<double> c_all;      // C of every judged step
  std::vector<int> on_reference;  // 1: the steps so far continue the task's reference solution
  std::vector<double> c_finished;
  std::vector<int> accepted;      // finished steps: 1 when the verifier accepts the solution
};

class MctsDpoTrainer : public SearchRun {
 public:
  MctsDpoTrainer(const core::Recipe& recipe, const train::RunContext& ctx) : SearchRun(recipe, ctx, mcts_dpo_defaults()) {
    dpo_ = core::read_options<MctsDpoSection>(recipe, "dpo");
    self_eval_ = core::read_options<SelfEvalOptions>(recipe, "self_eval");
    try {
      dpo_.step.validate();
    } catch (const core::UserError& e) {
      throw core::UserError(recipe.origin("dpo") + ": " + e.what());
    }
    recipe.check_all_used();
    build_search_policy();
    if (mcts_.backup == "step_reward" && self_eval_.enabled && mcts_.confidence_weight > 0) {
      try {
        judge_ = std::make_unique<StepSelfEvaluator>(model_, *tokenizer_, self_eval_);
      } catch (const core::UserError& e) {
        throw core::UserError(recipe.origin("self_eval") + ": " + e.what());
      }
      mcts_.step_confidence = [this](StepModel& m, const Tokens& state, const std::vector<Tokens>& steps) {
        auto* lm = dynamic_cast<LmStepModel*>(&m);
        if (!lm) throw std::logic_error("mcts_dpo: the self-evaluation needs a language-model step model");
        return judge_->confidence(lm->prompt_tokens(), state, steps);
      };
    }
    reference_ = nn::lm::TransformerLm(model_->config());
    reference_->set_fast_path(model_->fast_path());  // [model] fast_path: not part of the config
    copy_policy_to_reference();
    core::require(search_.problems >= world_size(),
                  recipe.origin("search.problems") + ": search.problems = " + std::to_string(search_.problems) +
                      " is fewer than the " + std::to_string(world_size()) + " ranks that share each round's problems");
    finish_setup();
  }

  // Data-parallel: every rank draws the round's problems and searches its near-equal share (step
  // sampling seeded by rank); the DPO steps are global (train_step_dpo), and the statistics are
  // over every rank's trees.
  bool data_parallel() const override { return true; }

 private:
  // Every judged node of `tree`: its C, whether the steps up to it continue `inst`'s reference
  // solution (text prefix, whole lines; a finished one must equal it), and for finished steps the
  // verifier's verdict (the terminal reward > 0).
  void tally(const env::text::TaskInstance& inst, const Mcts& tree, SelfEvalTally& t) const {
    const auto& nodes = tree.nodes();
    for (size_t n = 1; n < nodes.size(); ++n) {
      if (nodes[n].confidence < 0) continue;
      const std::string text = tokenizer_->decode(tree.state(static_cast<int64_t>(n)), /*skip_special=*/true);
      const bool on_ref = nodes[n].terminal ? text == inst.solution : inst.solution.rfind(text, 0) == 0;
      t.c_all.push_back(nodes[n].confidence);
      t.on_reference.push_back(on_ref ? 1 : 0);
      if (nodes[n].terminal) {
        t.c_finished.push_back(nodes[n].confidence);
        t.accepted.push_back(nodes[n].value > 0 ? 1 : 0);
      }
    }
  }

  // Every rank's tally, in rank order.
  static SelfEvalTally gathered(dist::Comm* c, const SelfEvalTally& t) {
    auto all = [c](const auto& v) {
      const torch::Tensor mine = torch::tensor(std::vector<double>(v.begin(), v.end()), torch::kFloat64);
      const torch::Tensor g = dist::gather_rows(c, dist::row_split(c, mine.size(0)), mine).contiguous();
      return std::vector<double>(g.data_ptr<double>(), g.data_ptr<double>() + g.numel());
    };
    auto ints = [](const std::vector<double>& v) { return std::vector<int>(v.begin(), v.end()); };
    SelfEvalTally out;
    out.c_all = all(t.c_all);
    out.on_reference = ints(all(t.on_reference));
    out.c_finished = all(t.c_finished);
    out.accepted = ints(all(t.accepted));
    return out;
  }

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
    const std::vector<env::text::TaskInstance> all = problems_of_round(round, search_.problems);
    const auto [first, last] = share_of(static_cast<int64_t>(all.size()));
    const std::vector<env::text::TaskInstance> problems(all.begin() + first, all.begin() + last);
    const uint64_t rank_salt = static_cast<uint64_t>(rank()) * 0x9E3779B97F4A7C15ULL;
    SelfEvalTally t;
    const RoundSearch s = over_ranks(
        search(problems, static_cast<int64_t>(run_.seed * 1000 + round + rank_salt), {},
               [&](int64_t i, const Tokens& prompt, const Mcts& tree, const MctsResult&) {
                 for (PairSequences& p : pair_sequences(prompt, step_preferences(tree, dpo_.min_gap)))
                   pairs.push_back(std::move(p));
                 if (judge_) tally(problems[static_cast<size_t>(i)], tree, t);
               }),
        last - first);
    dist::Comm* dp = comm();
    // Data-parallel: the pairs' shuffle from a generator of (seed, round, rank).
    core::Rng shuffle_rng(static_cast<uint64_t>(run_.seed) * 1000003ULL + static_cast<uint64_t>(round) * 7919ULL + rank_salt);
    const StepDpoStats st = train_step_dpo(model_, reference_, pairs, dpo_.step, *optimizer_, dp ? shuffle_rng : rng_, dp);
    double n_pairs = static_cast<double>(pairs.size());
    dist::sum_over_ranks(dp, &n_pairs, 1);
    if (dp) t = gathered(dp, t);
    if (dpo_.refresh_every > 0 && round % dpo_.refresh_every == 0) copy_policy_to_reference();
    core::MetricRow row;
    append(row, s);
    row.emplace_back("dpo/pairs", n_pairs);
    row.emplace_back("dpo/updates", static_cast<double>(st.updates));
    row.emplace_back("dpo/loss_first", st.loss_first);
    row.emplace_back("dpo/loss_last", st.loss_last);
    row.emplace_back("dpo/reward_accuracy_last", st.reward_accuracy_last);
    if (judge_) {
      double mean = 0;
      for (double c : t.c_all) mean += c / static_cast<double>(std::max<size_t>(1, t.c_all.size()));
      row.emplace_back("self_eval/steps", static_cast<double>(t.c_all.size()));
      row.emplace_back("self_eval/confidence_mean", mean);
      // NaN when a class is absent (the sinks write it as null / nan).
      row.emplace_back("self_eval/auc_reference", roc_auc(t.c_all, t.on_reference));
      row.emplace_back("self_eval/auc_outcome", roc_auc(t.c_finished, t.accepted));
    }
    return row;
  }

  void write_own_options(toml::table* out) const override {
    write_search_options(out);
    core::write_options(dpo_, out, "dpo");
    core::write_options(self_eval_, out, "self_eval");
  }
  void save_extra(train::CheckpointWriter& w) const override { reference_->save(w.child("reference")); }
  void load_extra(train::CheckpointReader& r) override { reference_->load(r.child("reference")); }

  MctsDpoSection dpo_;
  SelfEvalOptions self_eval_;
  std::unique_ptr<StepSelfEvaluator> judge_;  // null: no self-evaluation (mean backup, disabled, λ = 0)
  nn::lm::TransformerLm reference_{nullptr};
};

}  // namespace

std::unique_ptr<train::Trainer> make_mcts_dpo_trainer(const core::Recipe& recipe, const train::RunContext& ctx) {
  return std::make_unique<MctsDpoTrainer>(recipe, ctx);
}

}  // namespace rlpp::search
