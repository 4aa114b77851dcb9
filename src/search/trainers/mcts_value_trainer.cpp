// Algorithm "mcts_value": AlphaMath (arXiv 2405.03553) as a resumable trainer. A value head
// v = w·h + b reads the policy transformer's last-token hidden state (the shared backbone). One
// round = MCTS on [search].problems fresh problems (leaves valued by tanh(v) when
// [value].guide_search; the head starts at 0, AlphaMath's first round) → (state, Q) targets from every
// visited node (tree_data.h) and the verified solutions in the trees → [value].epochs passes of
//   loss = value_weight · mean (tanh v(s) − Q(s))²  +  sft_weight · NLL(verified solutions)
// (AlphaMath's multi-task loss; with train_backbone = false only the head learns, a probe on frozen
// hidden states, and the SFT term is off). Evaluation adds, next to greedy accuracy:
//   value/heldout_mse    on (state, Q) targets of [value].eval_trees held-out problems searched once
//                        at the start (verifier terminals, no value model), kept in the checkpoint
//   beam/value_accuracy  step-level beam search (B1 = beam_width, B2 = beam_expansions) in which
//                        the head scores partial *and* finished solutions (no verifier: deployable),
//                        graded afterwards; at step 0 the head is 0 and the beam keeps the first sample
#include "rlpp/search/trainers/trainers.h"

#include <algorithm>
#include <numeric>

#include <nlohmann/json.hpp>

#include "rlpp/core/error.h"
#include "rlpp/dist/data_parallel.h"
#include "rlpp/search/beam_search.h"
#include "rlpp/search/sequences.h"
#include "rlpp/search/temperature_chain.h"
#include "rlpp/search/tree_data.h"
#include "rlpp/search/value_head.h"
#include "search/trainers/search_run.h"

namespace rlpp::search {

namespace {

struct MctsValueSection {  // [value]
  double value_weight = 1.0;      // α of the MSE term
  double sft_weight = 1.0;        // weight of the NLL of verified solutions (0 = value only)
  bool train_backbone = true;     // false: only the head learns (no SFT term)
  bool guide_search = true;       // the head values the searches' leaves
  int64_t epochs = 2;             // passes over a round's value targets
  int64_t batch_size = 64;        // value targets per optimizer step
  int64_t sft_batch_size = 16;    // verified solutions per optimizer step (cycled)
  double head_learning_rate = 1e-3;
  int64_t min_visits = 1;         // nodes visited at least this often give targets
  int64_t eval_trees = 32;        // held-out problems whose trees give the held-out targets
  int64_t eval_beam_problems = 100;
  int64_t beam_width = 1;         // B1 (AlphaMath 1)
  int64_t beam_expansions = 5;    // B2 (AlphaMath 5)
  double beam_temperature = 0.6;  // AlphaMath's inference temperature

  void bind(core::Binder& b) {
    using core::Bounds;
    b.num("value_weight", value_weight, "weight of MSE(tanh v, Q)", Bounds::non_negative());
    b.num("sft_weight", sft_weight, "weight of the NLL of verified solutions (0 = off)", Bounds::non_negative());
    b.flag("train_backbone", train_backbone, "the value and SFT losses train the shared transformer (false: head only)");
    b.flag("guide_search", guide_search, "the head values the searches' leaves");
    b.integer("epochs", epochs, "passes over a round's value targets", Bounds::closed(1, 1000));
    b.integer("batch_size", batch_size, "value targets per optimizer step", Bounds::closed(1, 1 << 20));
    b.integer("sft_batch_size", sft_batch_size, "verified solutions per optimizer step", Bounds::closed(1, 1 << 20));
    b.num("head_learning_rate", head_learning_rate, "Adam learning rate of the value head", Bounds::positive());
    b.integer("min_visits", min_visits, "visits a node needs to give a target", Bounds::closed(1, 1 << 20));
    b.integer("eval_trees", eval_trees, "held-out problems searched once for held-out value targets (0 = off)",
              Bounds::closed(0, 1 << 20));
    b.integer("eval_beam_problems", eval_beam_problems, "problems of the value-guided beam search (0 = off)",
              Bounds::closed(0, 1 << 20));
    b.integer("beam_width", beam_width, "B1 of the value-guided beam search", Bounds::closed(1, 1024));
    b.integer("beam_expansions", beam_expansions, "B2 of the value-guided beam search", Bounds::closed(1, 1024));
    b.num("beam_temperature", beam_temperature, "sampling temperature of the beam search", Bounds::positive());
  }
};

MctsOptions alphamath_defaults() {  // AlphaMath: c = 1.5, prior exp(mean log π); CPU-sized budget
  MctsOptions o;
  o.c_puct = 1.5;
  o.prior_length_exponent = 1.0;
  o.num_children = 4;
  o.iterations = 8;
  o.root_multiplier = 2;
  return o;
}

struct Target {
  Tokens sequence;  // prompt + state
  double q = 0;
};

class MctsValueTrainer : public SearchRun {
 public:
  MctsValueTrainer(const core::Recipe& recipe, const train::RunContext& ctx) : SearchRun(recipe, ctx, alphamath_defaults()) {
    value_ = core::read_options<MctsValueSection>(recipe, "value");
    recipe.check_all_used();
    build_search_policy();
    head_ = ValueHead(model_->config().hidden_size);
    head_opt_ = std::make_unique<torch::optim::Adam>(head_->parameters(), torch::optim::AdamOptions(value_.head_learning_rate));
    core::require(search_.problems >= world_size(),
                  recipe.origin("search.problems") + ": search.problems = " + std::to_string(search_.problems) +
                      " is fewer than the " + std::to_string(world_size()) + " ranks that share each round's problems");
    finish_setup();
  }

  // Data-parallel: every rank draws the round's problems and searches its near-equal share; each
  // optimizer step takes the m-th of M = ⌈global targets / batch_size⌉ near-equal parts of every
  // rank's shuffled targets (and a near-equal share of the SFT batch), with the losses divided by
  // the global counts and the gradients of the transformer and the head summed.
  bool data_parallel() const override { return true; }
  std::string replica_fingerprint() override {
    std::vector<torch::Tensor> all = model_->parameters();
    for (const torch::Tensor& p : head_->parameters()) all.push_back(p);
    int64_t bytes = 0;
    return "crc32 " + std::to_string(tensors_crc32(all, 0, &bytes)) + " of " + std::to_string(bytes) + " weight bytes";
  }

 private:
  SequenceValueFn value_fn() { return tanh_value_fn(model_, head_); }

  // tanh(v) (B) of `seqs` with gradients into the head, and into the transformer when it trains.
  torch::Tensor bounded_values(const std::vector<const Tokens*>& seqs) {
    if (value_.train_backbone) return torch::tanh(sequence_values(model_, head_, seqs));
    auto [tokens, att] = pad_rows(seqs);
    torch::Tensor hidden;
    {
      torch::NoGradGuard ng;
      hidden = model_->hidden_states(tokens, att);  // (B, L, H), frozen
    }
    return torch::tanh(last_token_values(head_, hidden, att));
  }

  // NLL of prompt + solution sequences summed over the solution tokens (the prompt's not counted),
  // and the number of those tokens (0-dim).
  std::pair<torch::Tensor, torch::Tensor> sft_nll_sum(const std::vector<const std::pair<Tokens, int64_t>*>& batch) {
    std::vector<const Tokens*> seqs;
    for (const auto* b : batch) seqs.push_back(&b->first);
    auto [tokens, att] = pad_rows(seqs);  // (B, L)
    torch::Tensor mask = att.to(torch::kFloat32);
    for (size_t i = 0; i < batch.size(); ++i) mask[static_cast<int64_t>(i)].slice(0, 0, batch[i]->second).zero_();
    const torch::Tensor logp = nn::lm::token_logprobs(model_, tokens, att).logp;  // (B, L)
    return {-(logp * mask).sum(), mask.sum()};
  }
  static double solution_tokens(const std::vector<const std::pair<Tokens, int64_t>*>& batch) {
    double n = 0;
    for (const auto* b : batch) n += static_cast<double>(b->first.size()) - static_cast<double>(b->second);
    return n;
  }

  core::MetricRow train_step() override {
    const int64_t round = step_ + 1;
    std::vector<Target> targets;
    std::vector<std::pair<Tokens, int64_t>> solutions;  // (prompt + verified solution, prompt length)
    const std::vector<env::text::TaskInstance> all = problems_of_round(round, search_.problems);
    const auto [first, last] = share_of(static_cast<int64_t>(all.size()));
    const uint64_t rank_salt = static_cast<uint64_t>(rank()) * 0x9E3779B97F4A7C15ULL;
    const RoundSearch s = over_ranks(search({all.begin() + first, all.begin() + last},
                                 static_cast<int64_t>(run_.seed * 1000 + round + rank_salt),
                                 value_.guide_search ? value_fn() : SequenceValueFn{},
                                 [&](int64_t, const Tokens& prompt, const Mcts& tree, const MctsResult&) {
                                   for (const ValueTarget& t : value_targets(tree, value_.min_visits)) {
                                     Tokens seq = prompt;
                                     seq.insert(seq.end(), t.state.begin(), t.state.end());
                                     targets.push_back({std::move(seq), t.q});
                                   }
                                   for (const SearchTrajectory& t : terminal_trajectories(tree)) {
                                     if (t.reward <= 0) continue;
                                     Tokens seq = prompt;
                                     seq.insert(seq.end(), t.steps.begin(), t.steps.end());
                                     solutions.emplace_back(std::move(seq), static_cast<int64_t>(prompt.size()));
                                   }
                                 }), last - first);
    model_->train();
    dist::Comm* dp = comm();
    double counts[2] = {static_cast<double>(targets.size()), static_cast<double>(solutions.size())};
    dist::sum_over_ranks(dp, counts, 2);  // every rank's targets and verified solutions
    const bool sft = value_.train_backbone && value_.sft_weight > 0 && counts[1] > 0;
    double mse_first = 0, mse_last = 0, nll_last = 0;
    int64_t updates = 0;
    size_t sft_cursor = 0;
    const size_t T = targets.size(), bs = static_cast<size_t>(value_.batch_size);
    // One rank: consecutive batches of batch_size. Data-parallel: M near-equal parts of each rank's targets.
    const auto M = static_cast<size_t>((static_cast<int64_t>(counts[0]) + value_.batch_size - 1) / value_.batch_size);
    // The SFT solutions per step: sft_batch_size (data-parallel: this rank's near-equal share of it), cycled.
    const int64_t sft_k = value_.sft_batch_size * (rank() + 1) / world_size() - value_.sft_batch_size * rank() / world_size();
    core::Rng shuffle_rng(static_cast<uint64_t>(run_.seed) * 1000003ULL + static_cast<uint64_t>(round) * 7919ULL + rank_salt);
    core::Rng& rng = dp ? shuffle_rng : rng_;
    std::vector<int64_t> order(T);
    for (int64_t e = 0; e < value_.epochs && counts[0] > 0; ++e) {
      std::iota(order.begin(), order.end(), 0);
      rng.shuffle(order.data(), static_cast<int64_t>(order.size()));
      for (size_t m = 0; m < M; ++m) {
        const size_t lo = dp ? m * T / M : m * bs, hi = dp ? (m + 1) * T / M : std::min(T, (m + 1) * bs);
        std::vector<const Tokens*> seqs;
        std::vector<float> q;
        for (size_t j = lo; j < hi; ++j) {
          seqs.push_back(&targets[static_cast<size_t>(order[j])].sequence);
          q.push_back(static_cast<float>(targets[static_cast<size_t>(order[j])].q));
        }
        std::vector<const std::pair<Tokens, int64_t>*> batch;
        if (sft && !solutions.empty()) {
          for (int64_t k = 0; k < std::min<int64_t>(sft_k, static_cast<int64_t>(solutions.size())); ++k)
            batch.push_back(&solutions[sft_cursor++ % solutions.size()]);
        }
        // The step's targets and SFT tokens over every rank: the denominators of its means.
        double step[2] = {static_cast<double>(seqs.size()), solution_tokens(batch)};
        dist::sum_over_ranks(dp, step, 2);
        torch::Tensor loss = torch::zeros({});
        double mse = 0, nll = 0;  // this rank's parts of the step's means
        if (!seqs.empty()) {
          const torch::Tensor sq = (bounded_values(seqs) - torch::tensor(q)).pow(2);
          const torch::Tensor mse_t = dp ? sq.sum() / step[0] : sq.mean();
          loss = loss + value_.value_weight * mse_t;
          mse = mse_t.item<double>();
        }
        if (!batch.empty()) {
          const auto [sum, tokens] = sft_nll_sum(batch);
          const torch::Tensor nll_t = dp ? sum / std::max(step[1], 1.0) : sum / tokens.clamp_min(1.0);
          loss = loss + value_.sft_weight * nll_t;
          nll = nll_t.item<double>();
        }
        optimizer_->zero_grad();
        head_opt_->zero_grad();
        if (loss.requires_grad()) loss.backward();
        if (dp) {
          if (value_.train_backbone) dist::sum_gradients(*dp, model_->parameters());
          dist::sum_gradients(*dp, head_->parameters());
          double means[2] = {mse, nll};
          dist::sum_over_ranks(dp, means, 2);
          mse = means[0];
          nll = means[1];
        }
        if (value_.train_backbone) {
          torch::nn::utils::clip_grad_norm_(model_->parameters(), 1.0);
          optimizer_->step();
        }
        head_opt_->step();
        if (sft) nll_last = nll;
        if (updates == 0) mse_first = mse;
        mse_last = mse;
        ++updates;
      }
    }
    core::MetricRow row;
    append(row, s);
    row.emplace_back("value/targets", counts[0]);
    row.emplace_back("value/updates", static_cast<double>(updates));
    row.emplace_back("value/mse_first", mse_first);
    row.emplace_back("value/mse_last", mse_last);
    row.emplace_back("sft/solutions", counts[1]);
    row.emplace_back("sft/nll_last", nll_last);
    return row;
  }

  void evaluate_into(core::MetricRow& row) override {
    SearchRun::evaluate_into(row);
    if (value_.eval_trees > 0 && !heldout_built_) {
      // Built once with the starting policy; every later evaluation scores the head on the same targets.
      search(problems_of_round(0, value_.eval_trees, /*salt=*/1), run_.seed * 1000 + 999, {},
             [&](int64_t, const Tokens& prompt, const Mcts& tree, const MctsResult&) {
               for (const ValueTarget& t : value_targets(tree, value_.min_visits)) {
                 Tokens seq = prompt;
                 seq.insert(seq.end(), t.state.begin(), t.state.end());
                 heldout_.push_back({std::move(seq), t.q});
               }
             });
      heldout_built_ = true;
    }
    torch::NoGradGuard ng;
    model_->eval();
    if (!heldout_.empty()) {
      double se = 0;
      for (size_t start = 0; start < heldout_.size(); start += 256) {
        std::vector<const Tokens*> seqs;
        std::vector<float> q;
        for (size_t j = start; j < std::min(heldout_.size(), start + 256); ++j) {
          seqs.push_back(&heldout_[j].sequence);
          q.push_back(static_cast<float>(heldout_[j].q));
        }
        se += (torch::tanh(sequence_values(model_, head_, seqs)) - torch::tensor(q)).pow(2).sum().item<double>();
      }
      row.emplace_back("value/heldout_mse", se / static_cast<double>(heldout_.size()));
      row.emplace_back("value/heldout_targets", static_cast<double>(heldout_.size()));
    }
    if (value_.eval_beam_problems > 0) {
      LmStepOptions so;
      so.max_step_tokens = search_.max_step_tokens;
      so.terminal_reward = "value";
      so.seed = run_.seed * 1000 + 998;
      LmStepModel steps(*model_, *tokenizer_, *data_->task(), temperature_chain(value_.beam_temperature), so);
      steps.set_value_fn(value_fn());
      BeamSearchOptions bo;
      bo.beam_width = value_.beam_width;
      bo.expansions = value_.beam_expansions;
      bo.max_depth = mcts_.max_depth;
      double correct = 0;
      const auto problems = problems_of_round(0, value_.eval_beam_problems, /*salt=*/2);
      for (const auto& inst : problems) {
        steps.set_problem(inst, prompt_of(inst));
        correct += steps.grade(beam_search(steps, bo).solution);
      }
      const double n = static_cast<double>(problems.size());
      row.emplace_back("beam/value_accuracy", correct / n);
      row.emplace_back("beam/tokens_per_problem", static_cast<double>(steps.compute().tokens_generated) / n);
    }
    model_->train();
  }

  void write_own_options(toml::table* out) const override {
    write_search_options(out);
    core::write_options(value_, out, "value");
  }

  void save_extra(train::CheckpointWriter& w) const override {
    head_->save(w.child("value_head"));
    head_opt_->save(w.child("value_head_optimizer"));
    nlohmann::json h = nlohmann::json::array();
    for (const Target& t : heldout_) h.push_back({t.sequence, t.q});
    w.put_bytes("value/heldout", nlohmann::json{{"built", heldout_built_}, {"targets", h}}.dump());
  }
  void load_extra(train::CheckpointReader& r) override {
    head_->load(r.child("value_head"));
    head_opt_->load(r.child("value_head_optimizer"));
    const nlohmann::json j = nlohmann::json::parse(r.get_bytes("value/heldout"));
    heldout_built_ = j.at("built").get<bool>();
    heldout_.clear();
    for (const auto& t : j.at("targets")) heldout_.push_back({t.at(0).get<Tokens>(), t.at(1).get<double>()});
  }

  MctsValueSection value_;
  ValueHead head_{nullptr};
  std::unique_ptr<torch::optim::Adam> head_opt_;
  std::vector<Target> heldout_;
  bool heldout_built_ = false;
};

}  // namespace

std::unique_ptr<train::Trainer> make_mcts_value_trainer(const core::Recipe& recipe, const train::RunContext& ctx) {
  return std::make_unique<MctsValueTrainer>(recipe, ctx);
}

}  // namespace rlpp::search
