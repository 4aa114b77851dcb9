#include "search/trainers/search_run.h"

#include <algorithm>

#include "rlpp/core/error.h"
#include "rlpp/dist/comm.h"
#include "rlpp/search/temperature_chain.h"
#include "rlpp/train/lm/lm_eval.h"

namespace rlpp::search {

void SearchRoundOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.integer("problems", problems, "fresh problems searched per round", Bounds::closed(1, 1 << 24));
  b.num("temperature", temperature, "sampling temperature of the searched steps", Bounds::positive());
  b.integer("max_step_tokens", max_step_tokens, "most tokens in one step (line)", Bounds::closed(1, 4096));
  b.num("learning_rate", learning_rate, "AdamW learning rate of the policy (search_pg: after pg.lr_warmup_steps)", Bounds::positive());
  b.num("weight_decay", weight_decay, "AdamW decoupled weight decay", Bounds::non_negative());
  b.integer("eval_every", eval_every, "rounds between evaluations (0 = at the end only)", Bounds::non_negative());
  b.integer("accuracy_examples", accuracy_examples, "held-out prompts decoded greedily (0 = off)", Bounds::non_negative());
  b.integer("eval_batch_size", eval_batch_size, "prompts per evaluation batch", Bounds::closed(1, 1 << 20));
  b.integer("max_new_tokens", max_new_tokens, "response budget of greedy evaluation", Bounds::closed(1, 1 << 20));
}

SearchRun::SearchRun(const core::Recipe& recipe, const train::RunContext& ctx, const MctsOptions& mcts_defaults)
    : LmRun(recipe, ctx) {
  core::require(data_opts_.source == "task", recipe.origin("data.source") +
                                                 ": learning from search needs problems with a verifier: data.source = \"task\"");
  search_ = core::read_options<SearchRoundOptions>(recipe, "search");
  mcts_ = mcts_defaults;
  core::Binder b = core::Binder::reader(recipe, "mcts");
  mcts_.bind(b);
  b.finish();
  recipe.mark_used("mcts");
  try {
    mcts_.validate();
  } catch (const core::UserError& e) {
    throw core::UserError(recipe.origin("mcts") + ": " + e.what());
  }
}

std::vector<env::text::TaskInstance> SearchRun::problems_of_round(int64_t round, int64_t n, uint64_t salt) const {
  // Disjoint streams per (seed, round, salt); far from the data's own eval seed.
  const uint64_t seed = static_cast<uint64_t>(run_.seed) * 1000003ULL + static_cast<uint64_t>(round) * 7919ULL + salt * 104729ULL + 31ULL;
  return env::text::make_split(*data_->task(), n, seed);
}

Tokens SearchRun::prompt_of(const env::text::TaskInstance& inst) const {
  return data_->tokenize({inst.prompt, inst.solution, inst}, *tokenizer_).prompt;
}

RoundSearch SearchRun::search(const std::vector<env::text::TaskInstance>& problems, int64_t seed,
                              const SequenceValueFn& value, const TreeVisitor& visit) {
  torch::NoGradGuard ng;
  model_->eval();
  LmStepOptions so;
  so.max_step_tokens = search_.max_step_tokens;
  so.seed = seed;
  LmStepModel steps(*model_, *tokenizer_, *data_->task(), temperature_chain(search_.temperature), so);
  if (value) steps.set_value_fn(value);
  RoundSearch out;
  for (size_t i = 0; i < problems.size(); ++i) {
    const Tokens prompt = prompt_of(problems[i]);
    steps.set_problem(problems[i], prompt);
    Mcts tree(steps, mcts_);
    const MctsResult r = tree.solve();
    out.reward_mean += r.reward / static_cast<double>(problems.size());
    out.solved += steps.grade(r.solution) / static_cast<double>(problems.size());
    out.nodes += static_cast<int64_t>(tree.nodes().size());
    if (visit) visit(static_cast<int64_t>(i), prompt, tree, r);
  }
  out.tokens_generated = steps.compute().tokens_generated;
  model_->train();
  return out;
}

void SearchRun::append(core::MetricRow& row, const RoundSearch& s) {
  row.emplace_back("search/reward_mean", s.reward_mean);
  row.emplace_back("search/solved", s.solved);
  row.emplace_back("search/tokens_generated", static_cast<double>(s.tokens_generated));
  row.emplace_back("search/tree_nodes", static_cast<double>(s.nodes));
}

std::pair<int64_t, int64_t> SearchRun::share_of(int64_t n) const {
  return {n * rank() / world_size(), n * (rank() + 1) / world_size()};
}

RoundSearch SearchRun::over_ranks(const RoundSearch& mine, int64_t problems) const {
  dist::Comm* c = comm();
  if (c == nullptr) return mine;
  const double n = static_cast<double>(problems);
  double v[5] = {mine.reward_mean * n, mine.solved * n, static_cast<double>(mine.tokens_generated),
                 static_cast<double>(mine.nodes), n};
  c->allreduce_sum(v, 5);
  RoundSearch out;
  out.reward_mean = v[0] / std::max(v[4], 1.0);
  out.solved = v[1] / std::max(v[4], 1.0);
  out.tokens_generated = static_cast<int64_t>(v[2]);
  out.nodes = static_cast<int64_t>(v[3]);
  return out;
}

void SearchRun::evaluate_into(core::MetricRow& row) {
  if (search_.accuracy_examples <= 0) return;
  torch::NoGradGuard ng;
  model_->eval();
  train::lm::append_accuracy(row, model_, *tokenizer_, *data_, search_.accuracy_examples, search_.eval_batch_size,
                             search_.max_new_tokens);
  model_->train();
}

void SearchRun::write_search_options(toml::table* out) const {
  core::write_options(search_, out, "search");
  core::write_options(mcts_, out, "mcts");
}

train::EvalResult SearchRun::evaluate(const train::EvalRequest& req) {
  return train::lm::evaluate_lm(model_, *tokenizer_, *data_, req, search_.eval_batch_size, search_.max_new_tokens);
}

MctsOptions step_search_defaults() {
  MctsOptions o;
  o.num_children = 4;
  o.iterations = 8;
  o.root_multiplier = 2;
  return o;
}

}  // namespace rlpp::search
