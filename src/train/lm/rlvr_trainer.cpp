#include "rlpp/train/lm/rlvr_trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <deque>
#include <iostream>
#include <numeric>

#include <nlohmann/json.hpp>

#include "rlpp/algo/advantage.h"
#include "rlpp/algo/advantages/grpo.h"
#include "rlpp/algo/allocation.h"
#include "rlpp/algo/build_named.h"
#include "rlpp/algo/aggregation.h"
#include "rlpp/algo/dynamic_sampling.h"
#include "rlpp/algo/epo.h"
#include "rlpp/algo/kl.h"
#include "rlpp/algo/mismatch.h"
#include "rlpp/algo/objective.h"
#include "rlpp/algo/objectives/hapo.h"
#include "rlpp/algo/objectives/lp_reg.h"
#include "rlpp/algo/selector.h"
#include "rlpp/algo/spo.h"
#include "rlpp/core/error.h"
#include "rlpp/core/metrics.h"
#include "rlpp/core/progress.h"
#include "rlpp/dist/data_parallel.h"
#include "rlpp/env/text/reward_shaping.h"
#include "rlpp/nn/lm/pretrained.h"
#include "rlpp/sample/generator.h"
#include "rlpp/sample/sampler_chain.h"
#include "rlpp/train/checkpoint.h"
#include "rlpp/train/lm/adamw.h"
#include "rlpp/train/lm/async_rollouts.h"
#include "rlpp/train/lm/remote_rollouts.h"
#include "rlpp/train/lm/lm_data.h"
#include "rlpp/train/lm/lm_eval.h"
#include "rlpp/train/lm/model_section.h"
#include "rlpp/train/lm/prompt_source.h"
#include "rlpp/train/lm/multi_turn.h"
#include "rlpp/train/lm/rollout_batch.h"
#include "rlpp/train/metric_names.h"
#include "train/lm/lm_run.h"

namespace rlpp::train::lm {

void RlvrOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.integer("prompts_per_step", prompts_per_step, "prompts per RL step (the batch is prompts x sample.num_return_sequences)",
            Bounds::closed(1, 1 << 20));
  b.integer("prompt_pool", prompt_pool, "0: fresh prompts; N: a fixed training set of N prompts (needed by "
            "prioritized sampling and knapsack)", Bounds::closed(0, 1 << 24));
  b.choice("prompt_sampling", prompt_sampling, {"uniform", "prioritized"},
           "how prompts are drawn from the pool (prioritized: SPO weights sqrt(p(1-p)) + floor)");
  b.integer("dynamic_sampling_rounds", dynamic_sampling_rounds,
            "0 = off; N = DAPO dynamic sampling, up to N generation rounds to fill the batch with groups of "
            "non-zero reward spread", Bounds::closed(0, 1000));
  b.integer("reuse_steps", reuse_steps, "steps trained on one batch of rollouts (> 1: stale rollouts, proximal "
            "log-probs recomputed)", Bounds::closed(1, 1000));
  b.integer("mismatch_every", mismatch_every, "steps between train-inference mismatch measurements on a fresh batch "
            "(mismatch/*: recorded vs recomputed log-probs; one extra no-grad forward; 0 = off)",
            Bounds::closed(0, 1 << 30));
  b.integer("max_staleness", max_staleness, "0 = synchronous; s > 0 = asynchronous rollouts: a worker thread samples "
            "batch k from the policy of version max(0, k - s) while the learner trains (every trained token at most s "
            "versions old)", Bounds::closed(0, 64));
  b.choice("rollout_worker", rollout_worker, {"thread", "rank"},
           "asynchronous rollouts: a worker thread of this process, or rank 1 of a 2-process run (rlpp launch "
           "--nproc-per-node 2) with the weights broadcast after each step; the same rows either way");
  b.flag("partial_rollouts", partial_rollouts,
         "asynchronous rollouts (max_staleness >= 2): generate batch k in chunks of partial_chunk_tokens, chunk j "
         "from version min(max(0, k - s) + j, k - 1): unfinished responses continue under newer weights, their prefix "
         "re-encoded, each token keeping its own version");
  b.integer("partial_chunk_tokens", partial_chunk_tokens, "partial rollouts: new tokens per chunk (a possible version "
            "switch between chunks)", Bounds::closed(1, 1 << 20));
  b.choice("proximal", proximal, {"recomputed", "behaviour"},
           "proximal log-probs of stale data: recomputed under the learner's weights at the start of the step "
           "(decoupled PPO), or the sampling-time ones (the objective's ratio sees the staleness)");
  update.bind(b);
  b.num("learning_rate", learning_rate, "AdamW learning rate (after rl.lr_warmup_steps)", Bounds::positive());
  b.num("weight_decay", weight_decay, "AdamW decoupled weight decay (matrices and embeddings only)", Bounds::non_negative());
  b.num("beta1", beta1, "AdamW beta1", Bounds{0.0, 1.0, false, true});
  b.num("beta2", beta2, "AdamW beta2", Bounds{0.0, 1.0, false, true});
  b.num("adam_eps", adam_eps, "AdamW epsilon", Bounds::positive());
  b.flag("hapo_temperature_stats", hapo_temperature_stats,
         "give the sampler's hapo_temperature the entropy statistics of the previous batch (fitted with the "
         "objective's quantile and floor when it has them, e.g. hapo; else HAPO's defaults)");
  b.integer("eval_every", eval_every, "RL steps between greedy evaluations (0 = at the end only)", Bounds::non_negative());
  b.integer("eval_batch_size", eval_batch_size, "prompts per evaluation batch", Bounds::closed(1, 1 << 20));
  b.integer("accuracy_examples", accuracy_examples, "held-out prompts decoded greedily (0 = off)", Bounds::non_negative());
  b.integer("max_turns", max_turns, "dialogue tasks: model turns per episode", Bounds::closed(1, 1000));
  b.integer("max_total_tokens", max_total_tokens, "dialogue tasks: prompt + response tokens per episode",
            Bounds::closed(2, 1 << 20));
}

namespace {

algo::SpoOptions no_decay() {
  algo::SpoOptions o;
  o.rho_min = o.rho_max = 1.0;
  return o;
}

double masked_mean(const torch::Tensor& x, const torch::Tensor& mask) {
  const double n = mask.sum().item<double>();
  return n > 0 ? (x * mask).sum().item<double>() / n : std::nan("");
}

// Data-parallel: the global batch of every defined field (rows split across the ranks by `s`).
algo::AdvantageInput gathered(dist::Comm* c, const dist::RowSplit& s, algo::AdvantageInput in) {
  for (torch::Tensor* t : {&in.seq_rewards, &in.group_ids, &in.lengths, &in.mask, &in.token_rewards, &in.logp, &in.logp_old}) {
    if (t->defined()) *t = dist::gather_rows(c, s, t->contiguous());
  }
  return in;
}
algo::SelectionInput gathered(dist::Comm* c, const dist::RowSplit& s, algo::SelectionInput in) {
  for (torch::Tensor* t : {&in.seq_rewards, &in.group_ids, &in.lengths, &in.truncated, &in.mask, &in.advantages,
                           &in.entropy, &in.logp, &in.logp_old}) {
    if (t->defined()) *t = dist::gather_rows(c, s, t->contiguous());
  }
  return in;
}

// The global rows `idx` (ascending) that are this rank's, as its own row numbers.
torch::Tensor own_indices(const torch::Tensor& idx, const dist::RowSplit& s, int rank) {
  const int64_t lo = s.offset, hi = s.offset + s.rows[static_cast<size_t>(rank)];
  return idx.masked_select((idx >= lo).logical_and(idx < hi)) - lo;
}

// A batch of rollouts being trained on, with what was computed when it was collected.
struct Collected {
  RolloutBatch batch;         // the rows trained on (after dynamic-sampling filtering)
  torch::Tensor reward;       // (B) rewards after reward-shaping selectors
  torch::Tensor advantages;   // (B, N) fp32
  core::MetricRow metrics;    // statistics of every response generated for this batch
  int64_t age = 0;            // steps already trained on it
  // Extra rollouts the entropy control asked for (AEPO): one more response per row of the last
  // round's prompts at the control's temperature, their group advantages (X) and the batch's mean
  // sampling-time entropy that chose the temperature.
  RolloutBatch extra;
  torch::Tensor extra_advantages;
  double extra_entropy = 0;
  // Asynchronous rollouts (rl.max_staleness > 0): the policy version the batch was sampled from, per
  // token, and the mismatch meter's log π recomputed under those sampling weights (when metered).
  int64_t sampled_version = 0;
  int64_t switches = 0;        // partial rollouts: version switches while it was generated
  torch::Tensor version;       // (B, N) int64
  torch::Tensor logp_learner;  // (B, N) fp32 or {}
};

class RlvrTrainer : public LmRun {
 public:
  RlvrTrainer(const core::Recipe& recipe, const RunContext& ctx) : LmRun(recipe, ctx) {
    core::require(!recipe.table().at_path("rl.selectors"),
                  recipe.origin("rl.selectors") + ": selectors are spelled [[selectors]] name = \"...\" (one table "
                  "per selector, its options beside the name)");
    core::require(!recipe.table().at_path("rl.rollout_allocation"),
                  recipe.origin("rl.rollout_allocation") + ": the allocation is spelled [rollout_allocation] name = "
                  "\"knapsack\" (its options beside the name)");
    refuse_moved_keys(recipe, "rl");
    opts_ = core::read_options<RlvrOptions>(recipe, "rl");
    core::require(data_opts_.source == "task", recipe.origin("data.source") +
                                                   ": rlvr needs prompts with a grader: data.source = \"task\"");
    sampling_ = sample::read_sampling(recipe, "sample", &resolved_);
    advantage_ = algo::build_named(algo::advantage_registry(), recipe, "advantage", "grpo", &resolved_);
    auto objective = algo::build_named(algo::objective_registry(), recipe, "objective", "ppo_clip", &resolved_);
    selectors_ = algo::build_list(algo::selector_registry(), recipe, "selectors", &resolved_);
    allocation_ = algo::build_named(algo::allocation_registry(), recipe, "rollout_allocation", "uniform", &resolved_);
    const bool pool = opts_.prompt_pool > 0;
    core::require(pool || opts_.prompt_sampling == "uniform",
                  recipe.origin("rl.prompt_sampling") + ": prioritized sampling needs a prompt pool (rl.prompt_pool > 0)");
    core::require(pool || !allocation_->uses_success_estimates(),
                  recipe.origin("rollout_allocation.name") + ": this allocation needs per-prompt success estimates: "
                  "a prompt pool (rl.prompt_pool > 0)");
    reward_opts_ = core::read_options<env::text::RewardShapingOptions>(recipe, "reward");
    shaper_ = std::make_unique<env::text::RewardShaper>(reward_opts_);
    group_size_ = sampling_.generation.num_return_sequences;
    build_policy(AdamWSettings{opts_.learning_rate, opts_.weight_decay, opts_.beta1, opts_.beta2, opts_.adam_eps});
    update_ = std::make_unique<PolicyUpdate>(opts_.update, std::move(objective), model_, *optimizer_, recipe, &resolved_);
    recipe.check_all_used();
    if (tokenizer_->eos_id >= 0 && sampling_.generation.stop_tokens.empty()) {
      sampling_.generation.stop_tokens = {tokenizer_->eos_id};
    }
    // The trainer repeats each prompt itself (G or its Knapsack budget), so the engine samples once per row.
    sample::GenerationOptions per_row = sampling_.generation;
    per_row.num_return_sequences = 1;
    generator_ = std::make_unique<sample::Generator>(sampling_.chain, per_row);
    prompts_ = std::make_unique<PromptSource>(data_.get(), opts_.prompt_pool,
                                              static_cast<uint64_t>(run_.seed) * 7919ULL + 17ULL);
    tracker_ = advantage_->prompt_tracker();
    dialogue_ = dynamic_cast<const env::text::MultiTurnTask*>(data_->task());
    if (dist::Comm* c = comm()) {
      core::require(opts_.prompts_per_step >= c->size(),
                    recipe.origin("rl.prompts_per_step") + ": rl.prompts_per_step = " +
                        std::to_string(opts_.prompts_per_step) + " is fewer than the " + std::to_string(c->size()) +
                        " ranks that share each step's prompts");
      update_->set_comm(c);
    }
    check_partial(recipe);
    if (remote()) setup_rank_worker(recipe);
    if (opts_.max_staleness > 0) setup_async(recipe);
    finish_setup();
  }

  EvalResult evaluate(const EvalRequest& req) override {
    return evaluate_lm(model_, *tokenizer_, *data_, req, opts_.eval_batch_size, sampling_.generation.max_new_tokens);
  }
  // Data-parallel: every rank draws the same prompts (one prompt stream, seeded alike) and rolls
  // out its near-equal share of them; the statistics of the batch (dynamic sampling's filter,
  // success estimates, selectors, advantages, metrics) are computed on the gathered global batch,
  // and the policy update is global (policy_update.h). Groups stay within a rank.
  bool data_parallel() const override { return true; }

 private:
  // ---- collection: prompts -> responses -> rewards -> (refill) -> advantages ----------------------

  // Responses per prompt from the allocation ([rollout_allocation]) and the prompts' success estimates.
  std::vector<int64_t> allocate(const std::vector<int64_t>& ids) const {
    std::vector<double> p;
    for (int64_t id : ids) p.push_back(success_.p_hat(id));
    return allocation_->allocate(p, group_size_);
  }

  // One generation round for P prompts, graded.
  RolloutBatch generate_round(double* gen_seconds, int64_t* gen_tokens) {
    const algo::SpoTracker* priority = nullptr;
    if (opts_.prompt_sampling == "prioritized") priority = tracker_ ? tracker_ : &success_;
    last_pick_ = prompts_->next(opts_.prompts_per_step, *prompt_rng_, priority);
    const std::vector<int64_t> counts = allocate(last_pick_.ids);
    if (world_size() == 1) return rollouts(last_pick_, counts, *generator_, gen_seconds, gen_tokens);
    const size_t P = last_pick_.ids.size(), W = static_cast<size_t>(world_size()), r = static_cast<size_t>(rank());
    const size_t lo = P * r / W, hi = P * (r + 1) / W;  // this rank's prompts
    PromptPick mine;
    mine.ids.assign(last_pick_.ids.begin() + lo, last_pick_.ids.begin() + hi);
    mine.examples.assign(last_pick_.examples.begin() + lo, last_pick_.examples.begin() + hi);
    last_pick_ = mine;  // the extra rollouts (AEPO) of a rank are for its own prompts
    return rollouts(mine, {counts.begin() + lo, counts.begin() + hi}, *generator_, gen_seconds, gen_tokens);
  }

  // counts[i] responses to prompt i of `pick` from `gen`, graded (or rolled out as dialogues).
  RolloutBatch rollouts(const PromptPick& pick, const std::vector<int64_t>& counts, sample::Generator& gen,
                        double* gen_seconds, int64_t* gen_tokens) {
    std::vector<std::vector<int64_t>> rows;  // one prompt per response
    std::vector<int64_t> row_ids, row_prompt;
    for (size_t i = 0; i < pick.ids.size(); ++i) {
      const auto prompt = data_->tokenize(pick.examples[i], *tokenizer_).prompt;
      for (int64_t r = 0; r < counts[i]; ++r) {
        rows.push_back(prompt);
        row_ids.push_back(pick.ids[i]);
        row_prompt.push_back(static_cast<int64_t>(i));
      }
    }
    if (dialogue_) {  // one episode per row, rolled out turn by turn; the episode's reward
      std::vector<std::unique_ptr<env::text::TurnEnv>> envs;
      for (int64_t p : row_prompt) envs.push_back(dialogue_->episode(pick.examples[static_cast<size_t>(p)].instance));
      MultiTurnOptions mt;
      mt.max_turns = opts_.max_turns;
      mt.max_total_tokens = opts_.max_total_tokens;
      mt.add_bos = data_opts_.add_bos;
      const auto t0 = std::chrono::steady_clock::now();
      (*gen_model_)->eval();
      RolloutBatch b = multi_turn_rollout(**gen_model_, *tokenizer_, gen, envs, row_ids, mt);
      (*gen_model_)->train();
      *gen_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      *gen_tokens += b.lengths.sum().item<int64_t>();
      return b;
    }
    (*gen_model_)->eval();
    const sample::Generation g = gen.generate(**gen_model_, rows);
    (*gen_model_)->train();
    *gen_seconds += g.seconds;
    *gen_tokens += g.tokens_generated;
    const int64_t B = g.tokens.size(0);
    std::vector<float> rewards(static_cast<size_t>(B)), correct(static_cast<size_t>(B));
    for (int64_t i = 0; i < B; ++i) {
      const int64_t n = g.lengths[i].item<int64_t>();
      const auto row = g.tokens[i].slice(0, 0, n).contiguous();
      const std::string text = tokenizer_->decode({row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + n}, true);
      const auto& inst = pick.examples[static_cast<size_t>(row_prompt[static_cast<size_t>(i)])].instance;
      const env::text::ShapedReward r = shaper_->score(*data_->task(), inst, text, n);
      rewards[static_cast<size_t>(i)] = static_cast<float>(r.total);
      correct[static_cast<size_t>(i)] = static_cast<float>(r.correct);
    }
    return rollout_from_generation(g, row_ids, torch::tensor(rewards, torch::kFloat32),
                                   torch::tensor(correct, torch::kFloat32));
  }

  // The batch trained at RL step `index` (the current step when synchronous).
  Collected collect(int64_t index) {
    // Sampling is reseeded from (seed, step), so a resumed run draws what an uninterrupted one would.
    generator_->reseed(static_cast<uint64_t>(run_.seed) * 1000003ULL + static_cast<uint64_t>(index) +
                       static_cast<uint64_t>(rank()) * 0x9E3779B97F4A7C15ULL);
    dist::Comm* dp = comm();
    double gen_seconds = 0;
    int64_t gen_tokens = 0;
    std::vector<RolloutBatch> rounds;
    Collected c;
    int64_t groups_seen = 0, zero_var_groups = 0;
    if (opts_.dynamic_sampling_rounds > 0) {
      // DAPO (arXiv 2503.14476 §3.2): keep groups with a reward spread, generate again until P are kept.
      algo::DynamicSamplingBuffer buffer(opts_.prompts_per_step, opts_.dynamic_sampling_rounds);
      std::vector<RolloutBatch> kept;
      while (!buffer.done()) {
        rounds.push_back(generate_round(&gen_seconds, &gen_tokens));
        const dist::RowSplit s = dist::row_split(dp, rounds.back().rows());
        buffer.add_round(dist::gather_rows(dp, s, rounds.back().reward), dist::gather_rows(dp, s, rounds.back().group_id));
        kept.push_back(select_rows(rounds.back(), own_indices(buffer.kept_rows().back(), s, rank())));
      }
      c.batch = concat(kept);
      if (c.batch.rows() == 0) c.batch = select_rows(rounds.back(), torch::empty({0}, torch::kInt64));
      groups_seen = buffer.seen_groups();
      zero_var_groups = buffer.zero_variance_groups();
    } else {
      rounds.push_back(generate_round(&gen_seconds, &gen_tokens));
      c.batch = rounds.back();
      const dist::RowSplit s = dist::row_split(dp, c.batch.rows());
      const algo::GroupFilter f = algo::dynamic_sampling_filter(dist::gather_rows(dp, s, c.batch.reward),
                                                                dist::gather_rows(dp, s, c.batch.group_id), {});
      groups_seen = f.num_groups;
      zero_var_groups = f.num_groups - f.kept_groups;
    }
    if (dp) c.batch = pad_responses(c.batch, dist::max_over_ranks(dp, c.batch.tokens.size(1)));  // one N on every rank
    RolloutBatch all = concat(rounds);  // every response generated for this batch
    // Data-parallel: the global rows of the per-response fields, and the entropy sums.
    const dist::RowSplit all_split = dist::row_split(dp, all.rows());
    for (torch::Tensor* t : {&all.reward, &all.correct, &all.lengths, &all.truncated, &all.group_id}) {
      *t = dist::gather_rows(dp, all_split, *t);
    }
    // Per-prompt success estimates (Knapsack, prioritized sampling without spo): all responses count.
    if (prompts_->pool_size() > 0) success_.update(all.group_id, all.correct, {}, {});

    c.reward = c.batch.reward;
    const dist::RowSplit split = dist::row_split(dp, c.batch.rows());
    if (split.total > 0) {  // on the global batch; this rank keeps its rows
      algo::SelectionInput si = gathered(
          dp, split, selection_input(c.batch, c.reward, torch::Tensor(), c.batch.logp, c.batch.logp_sample, index));
      for (auto& [name, sel] : selectors_) {
        if (!sel->shapes_rewards()) continue;
        si.seq_rewards = sel->select(si).seq_rewards.to(torch::kFloat32);
      }
      c.reward = dist::own_rows(split, rank(), si.seq_rewards);
      algo::AdvantageInput ai;
      ai.seq_rewards = si.seq_rewards;
      ai.group_ids = si.group_ids;
      ai.lengths = si.lengths;
      ai.mask = si.mask;
      ai.logp_old = si.logp;
      c.advantages = dist::own_rows(split, rank(), advantage_->compute(ai).advantages.to(torch::kFloat32));  // (B, N)
    }
    const torch::Tensor all_mask = all.mask.to(torch::kFloat32);
    if (opts_.hapo_temperature_stats) {  // the objective's own statistics (HAPO's p), else HAPO's defaults
      torch::Tensor e = all.entropy, m = all_mask;
      if (dp) {  // the valid positions of every rank, as one row
        const torch::Tensor mine = all.entropy.masked_select(all.mask);
        e = dist::gather_rows(dp, dist::row_split(dp, mine.size(0)), mine).unsqueeze(0);
        m = torch::ones_like(e);
      }
      const std::optional<algo::EntropyNormStats> own = update_->objective().entropy_norm_stats(e, m);
      generator_->set_entropy_stats(own ? *own : algo::fit_entropy_norm(e, m, algo::HapoOptions{}));
    }
    double ent[2] = {(all.entropy * all_mask).sum().item<double>(), all_mask.sum().item<double>()};
    if (dp) dp->allreduce_sum(ent, 2);
    const double n_all = static_cast<double>(all_split.total);
    const double entropy_mean = ent[1] > 0 ? ent[0] / ent[1] : std::nan("");
    if (update_->wants_extra_rollouts() && c.batch.rows() > 0) collect_extra(c, entropy_mean, &gen_seconds, &gen_tokens);
    double gen[2] = {static_cast<double>(gen_tokens), gen_seconds};
    if (dp) dp->allreduce_sum(gen, 2);
    c.metrics = {
        {"rl/reward_mean", all.reward.mean().item<double>()},
        {"rl/accuracy", (all.correct >= 1.0F).to(torch::kFloat64).mean().item<double>()},
        {"rl/response_length", all.lengths.to(torch::kFloat64).mean().item<double>()},
        {"rl/truncated_frac", all.truncated.to(torch::kFloat64).mean().item<double>()},
        {"rl/entropy", entropy_mean},
        {"rl/zero_variance_groups", groups_seen > 0 ? static_cast<double>(zero_var_groups) / groups_seen : 0.0},
        {"rl/gen_rounds", static_cast<double>(rounds.size())},
        {"rl/generated_responses", n_all},
        // Tokens of every rank over one rank's generation time (their mean).
        {"perf/gen_tokens_per_s", gen[0] / std::max(gen[1] / world_size(), 1e-9)},
    };
    if (update_->wants_extra_rollouts()) {  // over every rank's extra rollouts
      double x[2] = {static_cast<double>(c.extra.rows()), c.extra.rows() > 0 ? c.extra.reward.sum().item<double>() : 0.0};
      dist::sum_over_ranks(dp, x, 2);
      if (x[0] > 0) {
        c.metrics.emplace_back("rl/extra_rollouts", x[0]);
        c.metrics.emplace_back("rl/extra_reward_mean", x[1] / x[0]);
      }
    }
    return c;
  }

  // AEPO's rollouts: G more responses to each prompt of the last round, sampled at the control's
  // temperature for mean entropy h from a stream of their own, graded, with group-normalised
  // advantages (GRPO's, as the authors compute them).
  void collect_extra(Collected& c, double h, double* gen_seconds, int64_t* gen_tokens) {
    sample::GenerationOptions per_row = sampling_.generation;
    per_row.num_return_sequences = 1;
    sample::Generator gen(sample::temperature_chain(update_->extra_rollout_temperature(h)), per_row);
    gen.reseed(static_cast<uint64_t>(run_.seed) * 2000003ULL + static_cast<uint64_t>(step_) + 7ULL);
    c.extra = rollouts(last_pick_, std::vector<int64_t>(last_pick_.ids.size(), group_size_), gen, gen_seconds,
                       gen_tokens);
    algo::AdvantageInput ai;
    ai.seq_rewards = c.extra.reward;
    ai.group_ids = c.extra.group_id;
    ai.mask = torch::ones({c.extra.rows(), 1}, torch::kFloat32);
    c.extra_advantages = algo::grpo(ai, algo::GroupNormOptions{}).advantages.select(1, 0).to(torch::kFloat32);  // (X)
    c.extra_entropy = h;
  }

  algo::SelectionInput selection_input(const RolloutBatch& b, const torch::Tensor& reward, const torch::Tensor& adv,
                                       const torch::Tensor& logp_proximal, const torch::Tensor& logp_behaviour,
                                       int64_t step) const {
    algo::SelectionInput si;
    si.seq_rewards = reward;
    si.group_ids = b.group_id;
    si.lengths = b.lengths;
    si.truncated = b.truncated;
    si.mask = b.mask.to(torch::kFloat32);
    si.advantages = adv;
    si.entropy = b.entropy;
    si.logp = logp_proximal;        // the policy the update starts from
    si.logp_old = logp_behaviour;   // the distribution the tokens were sampled from
    si.step = step;
    return si;
  }

  // ---- one RL step -------------------------------------------------------------------------------

  core::MetricRow train_step() override {
    if (link_ && link_->worker()) return worker_step();
    const auto t0 = std::chrono::steady_clock::now();
    // Staleness: the steps a reused batch has been trained on, or (asynchronous) the versions between
    // the batch's sampling weights and the learner's.
    int64_t staleness = 0;
    double waited = 0;
    if (async()) {
      live_ = take_async(&waited);
      staleness = step_ - live_->sampled_version;
      last_reward_ = live_->metrics.front().second;
    } else if (!live_ || live_->age >= opts_.reuse_steps) {
      live_ = collect(step_);
      last_reward_ = live_->metrics.front().second;
    }
    Collected& c = *live_;
    if (!async()) staleness = c.age;
    const RolloutBatch& b = c.batch;
    const int64_t B = b.rows();
    core::MetricRow row = c.metrics;
    dist::Comm* dp = comm();
    const dist::RowSplit split = dist::row_split(dp, B);
    row.emplace_back("rl/staleness", static_cast<double>(staleness));
    row.emplace_back("rl/batch_responses", static_cast<double>(split.total));
    const auto t1 = std::chrono::steady_clock::now();
    if (split.total == 0) {  // every group of every round had equal rewards: nothing to learn from
      ++c.age;
      row.emplace_back("rl/skipped_update", 1.0);
      if (async()) publish_async(&row, c, torch::Tensor(), waited, t0);
      return row;
    }
    const int64_t Lp = b.prompt_tokens.size(1);
    // Full sequences: left-padded prompt, then the response (pads after it are not attended to).
    const torch::Tensor tokens = torch::cat({b.prompt_tokens, b.tokens}, 1);  // (B, Lp + N)
    const torch::Tensor attention = torch::cat({b.prompt_mask, b.attend}, 1);  // (B, Lp + N)
    // The three log-probs of the update (docs/language-models.md, "The three log-probs"):
    //   behaviour  log q, the distribution the tokens were drawn from (after the samplers), recorded;
    //   proximal   log π at the parameters the step starts from, which the ratio and clip are
    //              anchored to: for a fresh batch the sampling-time ones, so the engine's recorded
    //              log π at T = 1; for a reused or asynchronous (stale) batch recomputed, or with
    //              rl.proximal = "behaviour" the recorded sampling-time ones still;
    //   current    log π_θ, recomputed with gradient inside the update.
    const torch::Tensor& logp_behaviour = b.logp_sample;  // (B, N)
    torch::Tensor logp_proximal = b.logp;                  // (B, N)
    const bool recompute = staleness > 0 && opts_.proximal == "recomputed";
    // The mismatch meter's learner side: log π recomputed at the sampling weights (a fresh batch;
    // asynchronous: by the worker, on its copy of those weights).
    torch::Tensor logp_learner = async() ? c.logp_learner : torch::Tensor();  // (B, N) or {}
    const bool meter = async() ? logp_learner.defined()
                               : c.age == 0 && opts_.mismatch_every > 0 && step_ % opts_.mismatch_every == 0;
    if ((recompute || (meter && !async())) && B > 0) {
      torch::NoGradGuard no_grad;
      const torch::Tensor recomputed =
          nn::lm::token_logprobs(model_, tokens, attention, opts_.update.logprob_chunk).logp.slice(1, Lp) *
          b.mask.to(torch::kFloat32);
      (recompute ? logp_proximal : logp_learner) = recomputed;
    }
    // Selection: which tokens enter the loss, with which weight (on the global batch).
    torch::Tensor weight;  // (B, N) or {}
    algo::SelectionInput si =
        gathered(dp, split, selection_input(b, c.reward, c.advantages, logp_proximal, logp_behaviour, step_));
    for (auto& [name, sel] : selectors_) {
      if (sel->shapes_rewards()) continue;  // ran before the advantages
      const algo::SelectionOutput out = sel->select(si);
      for (const auto& [k, v] : out.metrics) {
        if (v.numel() == 1) row.emplace_back("select/" + k, v.item<double>());
      }
      if (out.token_weight.defined()) weight = weight.defined() ? weight * out.token_weight : out.token_weight;
      si = algo::chain(si, out);
    }
    const torch::Tensor valid_mask = b.mask.to(torch::kFloat32);
    UpdateBatch ub;
    ub.tokens = tokens;
    ub.attention = attention;
    ub.response_start = Lp;
    ub.mask = dist::own_rows(split, rank(), si.mask);
    ub.weight = weight.defined() ? dist::own_rows(split, rank(), weight) : weight;
    ub.advantages = c.advantages;
    ub.logp_old = logp_proximal;
    ub.turn = b.turn;
    ub.fresh = c.age == 0;  // asynchronous batches are trained once: always fresh
    ub.sampled_entropy = b.entropy;
    ub.valid = valid_mask;
    if (c.extra.rows() > 0) {
      ub.extra.tokens = torch::cat({c.extra.prompt_tokens, c.extra.tokens}, 1);
      ub.extra.attention = torch::cat({c.extra.prompt_mask, c.extra.attend}, 1);
      ub.extra.response_start = c.extra.prompt_tokens.size(1);
      ub.extra.mask = c.extra.mask.to(torch::kFloat32);
      ub.extra.advantages = c.extra_advantages;
      ub.extra.mean_entropy = c.extra_entropy;
    }
    if (meter) {  // over the trained tokens of every rank
      algo::MismatchSums ms = B > 0 ? algo::mismatch_sums(b.logp, logp_learner, ub.mask) : algo::MismatchSums{};
      double sums[4] = {ms.tokens, ms.abs_sum, ms.k3_sum, ms.above};
      dist::sum_over_ranks(dp, sums, 4);
      if (dp) {  // the largest |Δ| of any rank: gathered, one value per rank
        const torch::Tensor mine = torch::tensor({ms.abs_max}, torch::kFloat64);
        ms.abs_max = dist::gather_rows(dp, dist::row_split(dp, 1), mine).max().item<double>();
      }
      ms.tokens = sums[0];
      ms.abs_sum = sums[1];
      ms.k3_sum = sums[2];
      ms.above = sums[3];
      const auto mm = algo::mismatch_metrics(ms);
      row.insert(row.end(), mm.begin(), mm.end());
    }
    const double progress =
        std::min(1.0, static_cast<double>(step_) / static_cast<double>(std::max<int64_t>(run_.total_steps, 1)));
    // Data-parallel: the mini-batch shuffle of this rank's rows from a generator of (seed, step, rank).
    core::Rng shuffle_rng(static_cast<uint64_t>(run_.seed) * 1000003ULL + static_cast<uint64_t>(step_) * 7919ULL +
                          static_cast<uint64_t>(rank()) * 0x9E3779B97F4A7C15ULL);
    const core::MetricRow update_row = update_->run(ub, dp ? shuffle_rng : rng_, progress);
    const auto t2 = std::chrono::steady_clock::now();
    ++c.age;

    const torch::Tensor& mask = ub.mask;
    double counts[4] = {valid_mask.sum().item<double>(), mask.sum().item<double>(),
                        B > 0 ? ((c.advantages.abs() > 0).to(torch::kFloat32) * mask).sum().item<double>() : 0.0,
                        attention.to(torch::kFloat32).sum().item<double>()};
    if (dp) dp->allreduce_sum(counts, 4);
    const double valid = counts[0], selected = counts[1];
    const double nonzero_adv = counts[2] / std::max(valid, 1.0);
    const double train_s = std::chrono::duration<double>(t2 - t1).count();
    const double epochs_tokens = static_cast<double>(opts_.update.ppo_epochs) * counts[3];
    double clipped = std::nan("");
    for (const auto& [k, v] : update_row) {
      if (k == metric::kClipFrac) clipped = v;
    }
    row.insert(row.end(), {
        {"rl/selected_token_frac", selected / std::max(valid, 1.0)},
        {"rl/nonzero_adv_frac", nonzero_adv},
        // Tokens whose loss has a gradient: selected, non-zero advantage, not clipped.
        {"rl/grad_token_frac", nonzero_adv - (std::isnan(clipped) ? 0.0 : clipped) * selected / std::max(valid, 1.0)},
    });
    row.insert(row.end(), update_row.begin(), update_row.end());
    row.insert(row.end(), {
        {"perf/train_tokens_per_s", epochs_tokens / std::max(train_s, 1e-9)},
    });
    if (async()) {
      publish_async(&row, c, mask, waited, t0);
    } else {
      row.emplace_back("perf/step_seconds", std::chrono::duration<double>(t2 - t0).count());
    }
    return row;
  }

  // ---- asynchronous rollouts (rl.max_staleness > 0, async_rollouts.h) -----------------------------

  bool async() const { return opts_.max_staleness > 0; }

  void setup_async(const core::Recipe& recipe) {
    const std::string at = recipe.origin("rl.max_staleness") + ": rl.max_staleness = " +
                           std::to_string(opts_.max_staleness) + " (asynchronous rollouts) ";
    core::require(world_size() == 1, at + "runs in one process; data-parallel asynchronous rollouts are not implemented");
    core::require(opts_.reuse_steps == 1, at + "trains each batch once: set rl.reuse_steps = 1");
    core::require(!update_->wants_extra_rollouts(), at + "does not support an entropy control's extra rollouts (AEPO)");
    core::require(!opts_.hapo_temperature_stats, at + "does not support rl.hapo_temperature_stats");
    sampler_model_ = nn::lm::TransformerLm(model_->config());
    sampler_model_->set_fast_path(model_->fast_path());  // [model] fast_path: not part of the config
    gen_model_ = &sampler_model_;
    worker_rng_.reseed(static_cast<uint64_t>(run_.seed) * 0x9E3779B97F4A7C15ULL + 0xA5A5ULL);
    prompt_rng_ = &worker_rng_;
  }

  // rl.partial_rollouts: its combinations with the other options.
  void check_partial(const core::Recipe& recipe) const {
    const std::string at = recipe.origin("rl.partial_rollouts") + ": rl.partial_rollouts = true ";
    if (!opts_.partial_rollouts) return;  // (the resolved recipe.toml always names partial_chunk_tokens)
    core::require(opts_.max_staleness != 0, at + "needs asynchronous rollouts with rl.max_staleness >= 2 (it is 0: "
                                                  "the synchronous trainer)");
    core::require(opts_.max_staleness >= 2, at + "needs rl.max_staleness >= 2 (with 1 every chunk of batch k would be "
                                                 "sampled from version k - 1, the batch's own: nothing would switch)");
    core::require(opts_.dynamic_sampling_rounds == 0,
                  at + "does not support rl.dynamic_sampling_rounds (each refill round would restart the chunk "
                       "schedule)");
    core::require(!dialogue_, at + "does not support dialogue tasks (each model turn is a generation of its own, so "
                                   "the chunk schedule would restart at every turn)");
    core::require(opts_.partial_chunk_tokens < sampling_.generation.max_new_tokens,
                  recipe.origin("rl.partial_chunk_tokens") + ": rl.partial_chunk_tokens = " +
                      std::to_string(opts_.partial_chunk_tokens) + " is not below sample.max_new_tokens = " +
                      std::to_string(sampling_.generation.max_new_tokens) + ": no response would ever switch version");
  }

  // Batch `index`, made on the worker thread from the weights of version max(0, index − s) (partial
  // rollouts: chunk j from chunk_version(index, j), switched at chunk boundaries).
  Collected produce(int64_t index, const WeightSnapshot& weights) {
    load_snapshot(weights, sampler_model_.ptr().get());
    std::vector<std::shared_ptr<const WeightSnapshot>> used;  // partial: the versions loaded, in order
    const PromptSource prompts_before = opts_.partial_rollouts ? *prompts_ : PromptSource(nullptr, 0, 0);
    const core::Rng rng_before = worker_rng_;
    if (opts_.partial_rollouts) {
      used.push_back(pipeline_->acquire(index, 0));
      generator_->set_chunk_hook({opts_.partial_chunk_tokens, [&, index](int64_t chunk) {
                                    std::shared_ptr<const WeightSnapshot> w = pipeline_->acquire(index, chunk);
                                    if (w->version == used.back()->version) return false;
                                    load_snapshot(*w, sampler_model_.ptr().get());
                                    used.push_back(std::move(w));
                                    return true;
                                  }});
    }
    Collected c;
    try {
      c = collect(index);
    } catch (const RolloutInterrupted&) {  // abandoned at a pause: the prompts it drew are drawn again
      generator_->set_chunk_hook({});
      *prompts_ = prompts_before;
      worker_rng_ = rng_before;
      sampler_model_->train();
      throw;
    }
    generator_->set_chunk_hook({});
    c.sampled_version = weights.version;
    c.version = torch::full(c.batch.mask.sizes(), weights.version, torch::kInt64);  // (B, N)
    if (opts_.partial_rollouts) {
      const int64_t N = c.batch.mask.size(1);
      std::vector<int64_t> per_column(static_cast<size_t>(N));  // the version of every response column
      for (int64_t t = 0; t < N; ++t) {
        per_column[static_cast<size_t>(t)] =
            std::max(chunk_version(index, t / opts_.partial_chunk_tokens, opts_.max_staleness), weights.version);
      }
      c.version = torch::tensor(per_column, torch::kInt64).unsqueeze(0).expand(c.batch.mask.sizes()).contiguous();
      c.switches = static_cast<int64_t>(used.size()) - 1;
    }
    if (opts_.mismatch_every > 0 && index % opts_.mismatch_every == 0 && c.batch.rows() > 0 && used.size() > 1) {
      // Mixed versions: the meter's log π of each token under the weights of its own version.
      torch::NoGradGuard no_grad;
      const torch::Tensor tokens = torch::cat({c.batch.prompt_tokens, c.batch.tokens}, 1);
      const torch::Tensor attention = torch::cat({c.batch.prompt_mask, c.batch.attend}, 1);
      c.logp_learner = torch::zeros(c.batch.mask.sizes(), torch::kFloat32);  // (B, N)
      for (const auto& w : used) {
        load_snapshot(*w, sampler_model_.ptr().get());
        const torch::Tensor lp = nn::lm::token_logprobs(sampler_model_, tokens, attention, opts_.update.logprob_chunk)
                                     .logp.slice(1, c.batch.prompt_tokens.size(1));  // (B, N)
        c.logp_learner = torch::where(c.version == w->version, lp, c.logp_learner);
      }
      c.logp_learner = c.logp_learner * c.batch.mask.to(torch::kFloat32);
    } else if (opts_.mismatch_every > 0 && index % opts_.mismatch_every == 0 && c.batch.rows() > 0) {
      torch::NoGradGuard no_grad;
      const torch::Tensor tokens = torch::cat({c.batch.prompt_tokens, c.batch.tokens}, 1);
      const torch::Tensor attention = torch::cat({c.batch.prompt_mask, c.batch.attend}, 1);
      c.logp_learner = nn::lm::token_logprobs(sampler_model_, tokens, attention, opts_.update.logprob_chunk)
                           .logp.slice(1, c.batch.prompt_tokens.size(1)) *
                       c.batch.mask.to(torch::kFloat32);
    }
    return c;
  }

  Collected take_async(double* waited) {
    if (link_) return take_remote(waited);
    if (!pipeline_) {
      pipeline_ = std::make_unique<RolloutPipeline<Collected>>(
          opts_.max_staleness, run_.total_steps,
          [this](int64_t index, const WeightSnapshot& w) { return produce(index, w); });
    }
    if (!pipeline_->started()) {
      pipeline_->start(std::max(async_next_, step_), std::move(async_restored_), take_snapshot(*model_, step_),
                       std::move(async_older_));
      async_restored_.clear();
      async_older_.clear();
      run_started_ = std::chrono::steady_clock::now();
    }
    return pipeline_->take(step_, waited);
  }

  // After the step: publish version step_ + 1, and the staleness and pipeline metrics.
  void publish_async(core::MetricRow* row, const Collected& c, const torch::Tensor& trained, double waited,
                     std::chrono::steady_clock::time_point t0) {
    if (link_) return publish_remote(row, c, trained, waited, t0);
    pipeline_->publish(take_snapshot(*model_, step_ + 1));
    if (trained.defined()) {
      const auto sm = staleness_metrics(c.version, trained, step_, opts_.max_staleness);
      row->insert(row->end(), sm.begin(), sm.end());
    }
    if (opts_.partial_rollouts) {
      row->insert(row->end(), {
          {"async/switches", static_cast<double>(c.switches)},
          {"perf/async_worker_chunk_waits_total", static_cast<double>(pipeline_->chunk_waits())},
          {"perf/async_worker_chunk_wait_s_total", pipeline_->chunk_wait_seconds()},
      });
    }
    const auto now = std::chrono::steady_clock::now();
    row->insert(row->end(), {
        {"async/sampled_version", static_cast<double>(c.sampled_version)},
        {"async/dropped_groups", 0.0},  // the worker pauses at the bound instead
        {"perf/async_queued", static_cast<double>(pipeline_->queued())},
        {"perf/async_learner_wait_s", waited},
        {"perf/async_worker_busy_s_total", pipeline_->worker_busy_seconds()},
        {"perf/async_worker_gate_waits_total", static_cast<double>(pipeline_->gate_waits())},
        {"perf/async_worker_gate_wait_s_total", pipeline_->gate_wait_seconds()},
        {"perf/async_elapsed_s_total", std::chrono::duration<double>(now - run_started_).count()},
        {"perf/step_seconds", std::chrono::duration<double>(now - t0).count()},
    });
  }

  // ---- the rollout worker as a separate rank (rl.rollout_worker = "rank", remote_rollouts.h) -----

  // Both ranks run this trainer as a single process would (no data-parallel split of the prompts,
  // rank 0's sampling seeds): only the run loop (stop agreement, checkpoints) and the link see two
  // ranks.
  bool remote() const { return opts_.rollout_worker == "rank"; }
  dist::Comm* comm() const { return remote() ? nullptr : LoopTrainer::comm(); }
  int rank() const { return remote() ? 0 : LoopTrainer::rank(); }
  int world_size() const { return remote() ? 1 : LoopTrainer::world_size(); }

  void setup_rank_worker(const core::Recipe& recipe) {
    const std::string at = recipe.origin("rl.rollout_worker") + ": rl.rollout_worker = \"rank\" ";
    core::require(opts_.max_staleness > 0, at + "makes the asynchronous rollouts on another rank: it needs "
                                                "rl.max_staleness > 0 (it is 0: the synchronous trainer)");
    core::require(!opts_.partial_rollouts, at + "does not support rl.partial_rollouts (a version switch inside a "
                                                "batch would need the weights mid-generation); use the thread worker");
    const int n = LoopTrainer::world_size();
    core::require(n == 2, at + "needs exactly 2 processes, the learner (rank 0) and the rollout worker (rank 1): "
                               "rlpp launch --nproc-per-node 2 -- train ...; this run has " + std::to_string(n) +
                               (n > 2 ? " (several learners or workers are not implemented)" : ""));
    link_ = std::make_unique<RolloutLink>(LoopTrainer::comm());
  }

  // Worker: batches [range) from its weights (version step_; the schedule guarantees it is theirs),
  // as one message with the worker's state after them (what the thread version checkpoints).
  std::string make_batches(BatchRange range) {
    const auto t0 = std::chrono::steady_clock::now();
    const WeightSnapshot w = take_snapshot(*model_, step_);
    std::deque<std::pair<int64_t, Collected>> made;
    for (int64_t k = range.begin; k < range.end; ++k) {
      TORCH_CHECK(sampling_version(k, opts_.max_staleness) <= step_, "batch ", k, " made from version ", step_);
      made.emplace_back(k, produce(k, w));
    }
    async_next_ = range.end;
    worker_busy_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CheckpointWriter m;
    save_prompt_state(m);
    save_async(m, made, async_next_);
    m.put_doubles("remote/worker_seconds", {worker_busy_s_, link_->wait_seconds()});
    return m.bytes();
  }

  // Learner: the worker's message appended to the queue; its state replaces the learner's copy.
  void receive(const std::string& bytes) {
    CheckpointReader r(CheckpointReader::Bytes{bytes, "the rollout worker's batches"});
    load_prompt_state(r);
    std::deque<std::pair<int64_t, Collected>> queue = std::move(async_restored_);
    load_async(r);  // the message's batches, the worker's next index and prompt generator
    for (auto& e : async_restored_) queue.push_back(std::move(e));
    async_restored_ = std::move(queue);
    const std::vector<double> s = r.get_doubles("remote/worker_seconds", 2);
    worker_busy_s_ = s[0];
    worker_wait_s_ = s[1];
  }

  // Worker rank, one iteration of the run loop (step k): batch k + s from version k, then version
  // k + 1 from the learner and the batch to it. The first iteration of a process first gets the
  // learner's weights and sends the batches the learner has not queued.
  core::MetricRow worker_step() {
    const int64_t s = opts_.max_staleness, limit = run_.total_steps;
    if (!remote_started_) {
      async_restored_.clear();  // the learner's queue (from a checkpoint) is the learner's
      link_->weights(model_.ptr().get());
      link_->batches(make_batches(worker_batches(step_, std::max(async_next_, step_), s, limit, true)));
      remote_started_ = true;
    }
    const std::string message = make_batches(worker_batches(step_, async_next_, s, limit, false));
    link_->weights(model_.ptr().get());
    link_->batches(message);
    return {};
  }

  // Learner rank: batch step_ from the queue (the first call of a process exchanges first).
  Collected take_remote(double* waited) {
    if (!remote_started_) {
      run_started_ = std::chrono::steady_clock::now();
      const double w0 = link_->wait_seconds();
      link_->weights(model_.ptr().get());
      receive(link_->batches(""));
      remote_waited_ = link_->wait_seconds() - w0;
      remote_started_ = true;
    }
    core::require(!async_restored_.empty() && async_restored_.front().first == step_,
                  "rank rollout worker: batch " + std::to_string(step_) + " was not received");
    Collected c = std::move(async_restored_.front().second);
    async_restored_.pop_front();
    *waited = remote_waited_;
    return c;
  }

  // Learner rank, after the step: version step_ + 1 to the worker, its next batch back, and the
  // thread version's metrics with the bytes moved.
  void publish_remote(core::MetricRow* row, const Collected& c, const torch::Tensor& trained, double waited,
                      std::chrono::steady_clock::time_point t0) {
    const double w0 = link_->wait_seconds();
    link_->weights(model_.ptr().get());
    receive(link_->batches(""));
    remote_waited_ = link_->wait_seconds() - w0;
    if (trained.defined()) {
      const auto sm = staleness_metrics(c.version, trained, step_, opts_.max_staleness);
      row->insert(row->end(), sm.begin(), sm.end());
    }
    const auto now = std::chrono::steady_clock::now();
    row->insert(row->end(), {
        {"async/sampled_version", static_cast<double>(c.sampled_version)},
        {"async/dropped_groups", 0.0},
        {"perf/async_queued", static_cast<double>(async_restored_.size())},
        {"perf/async_learner_wait_s", waited},
        {"perf/async_worker_busy_s_total", worker_busy_s_},
        {"perf/async_worker_gate_wait_s_total", worker_wait_s_},  // the worker waiting for the learner
        {"perf/async_elapsed_s_total", std::chrono::duration<double>(now - run_started_).count()},
        {"perf/remote_weight_bytes", static_cast<double>(link_->last_weight_bytes())},
        {"perf/remote_batch_bytes", static_cast<double>(link_->last_batch_bytes())},
        {"perf/step_seconds", std::chrono::duration<double>(now - t0).count()},
    });
  }

  void evaluate_into(core::MetricRow& row) override {
    if (link_ && link_->worker()) return;  // the learner evaluates (and logs)
    if (opts_.accuracy_examples > 0) {
      append_accuracy(row, model_, *tokenizer_, *data_, opts_.accuracy_examples, opts_.eval_batch_size,
                      sampling_.generation.max_new_tokens);
    }
  }

  int64_t eval_every() const override { return opts_.eval_every; }
  void write_own_options(toml::table* out) const override {
    core::write_options(opts_, out, "rl");
    core::write_options(reward_opts_, out, "reward");
  }
  std::optional<double> progress_value() const override { return last_reward_; }

  // ---- checkpoint: reference, trackers, prompt order, the batch being reused ---------------------

  void save_extra(CheckpointWriter& w) const override {
    update_->save(w);
    if (async() && pipeline_ && pipeline_->started()) {
      // The worker paused at a batch boundary with every batch sampled from an older version than
      // the checkpointed weights queued: the prompt state is the worker's, before its next batch.
      pipeline_->paused(step_ + opts_.max_staleness,
                        [&](const std::deque<std::pair<int64_t, Collected>>& queue, int64_t next) {
                          save_prompt_state(w);
                          save_async(w, queue, next);
                          if (opts_.partial_rollouts) {
                            std::vector<const WeightSnapshot*> older;
                            for (const auto& o : pipeline_->kept_below_locked(step_)) older.push_back(o.get());
                            save_older(w, older);
                          }
                        });
    } else {
      save_prompt_state(w);
      if (async()) save_async(w, async_restored_, std::max(async_next_, step_));
      if (opts_.partial_rollouts) {
        std::vector<const WeightSnapshot*> older;
        for (const auto& o : async_older_) older.push_back(&o);
        save_older(w, older);
      }
    }
    w.put_int("rl/live_batch", has_live() ? 1 : 0);
    if (has_live() && world_size() == 1) save_live(w);  // data-parallel: each rank's rows, in its rank state
  }

  bool has_live() const { return live_ && live_->age < opts_.reuse_steps; }

  void load_prompt_state(CheckpointReader& r) {
    prompts_->load(r);
    success_.load(nlohmann::json::parse(r.get_bytes("rl/success_tracker")));
    if (tracker_) tracker_->load(nlohmann::json::parse(r.get_bytes("rl/spo_tracker")));
  }

  void save_prompt_state(CheckpointWriter& w) const {
    prompts_->save(w);
    w.put_bytes("rl/success_tracker", success_.save().dump());
    if (tracker_) w.put_bytes("rl/spo_tracker", tracker_->save().dump());
  }

  // The queued batches (index, sampling version, version per token, behaviour log-probs, the meter's
  // log-probs), the worker's next batch index and its prompt generator.
  void save_async(CheckpointWriter& w, const std::deque<std::pair<int64_t, Collected>>& queue, int64_t next) const {
    w.put_int("rl/async_next", next);
    w.put_int("rl/async_queued", static_cast<int64_t>(queue.size()));
    w.put_rng("rl/async_worker_rng", worker_rng_);
    for (size_t i = 0; i < queue.size(); ++i) {
      const auto& [index, c] = queue[i];
      auto& a = w.child("async_rollout_" + std::to_string(i));
      RolloutBatch b = c.batch;  // shallow: the tensors are shared
      for (const auto& f : batch_fields(b)) a.write(f.key, *f.tensor);
      a.write("reward_shaped", c.reward);
      a.write("advantages", c.advantages.defined() ? c.advantages : torch::Tensor());
      a.write("pad_token", torch::tensor({b.pad_token}, torch::kInt64));
      a.write("version", c.version);
      a.write("logp_learner", c.logp_learner.defined() ? c.logp_learner : torch::zeros({0}));
      if (opts_.partial_rollouts) a.write("switches", torch::tensor({c.switches}, torch::kInt64));
      a.write("index", torch::tensor({index, c.sampled_version, c.logp_learner.defined() ? int64_t{1} : int64_t{0}},
                                     torch::kInt64));
      nlohmann::json m = nlohmann::json::array();
      for (const auto& [k, v] : c.metrics) m.push_back({k, v});
      w.put_bytes("rl/async_metrics_" + std::to_string(i), m.dump());
    }
  }

  // Partial rollouts: the published versions older than the checkpointed weights that the
  // unfinished batches start from (a batch abandoned at the pause, and those after it).
  void save_older(CheckpointWriter& w, const std::vector<const WeightSnapshot*>& older) const {
    w.put_int("rl/async_older", static_cast<int64_t>(older.size()));
    for (size_t i = 0; i < older.size(); ++i) {
      auto& a = w.child("async_weights_" + std::to_string(i));
      a.write("version", torch::tensor({older[i]->version}, torch::kInt64));
      for (size_t j = 0; j < older[i]->tensors.size(); ++j) a.write("t" + std::to_string(j), older[i]->tensors[j]);
    }
  }

  void load_older(CheckpointReader& r) {
    async_older_.clear();
    const int64_t n = r.get_int("rl/async_older");
    const WeightSnapshot like = take_snapshot(*model_, 0);  // the tensor count
    for (int64_t i = 0; i < n; ++i) {
      auto& a = r.child("async_weights_" + std::to_string(i));
      WeightSnapshot o;
      torch::Tensor v;
      a.read("version", v);
      o.version = v.item<int64_t>();
      o.tensors.resize(like.tensors.size());
      for (size_t j = 0; j < o.tensors.size(); ++j) a.read("t" + std::to_string(j), o.tensors[j]);
      async_older_.push_back(std::move(o));
    }
  }

  void load_async(CheckpointReader& r) {
    async_next_ = r.get_int("rl/async_next");
    const int64_t n = r.get_int("rl/async_queued");
    r.get_rng("rl/async_worker_rng", &worker_rng_);
    async_restored_.clear();
    for (int64_t i = 0; i < n; ++i) {
      Collected c;
      auto& a = r.child("async_rollout_" + std::to_string(i));
      for (const auto& f : batch_fields(c.batch)) a.read(f.key, *f.tensor);
      torch::Tensor pad, index, meter;
      a.read("reward_shaped", c.reward);
      a.read("advantages", c.advantages);
      a.read("pad_token", pad);
      a.read("version", c.version);
      a.read("logp_learner", meter);
      a.read("index", index);
      c.batch.pad_token = pad.item<int64_t>();
      c.sampled_version = index[1].item<int64_t>();
      if (index[2].item<int64_t>() == 1) c.logp_learner = meter;
      torch::Tensor switches;  // partial rollouts only
      if (a.try_read("switches", switches)) c.switches = switches.item<int64_t>();
      for (const auto& e : nlohmann::json::parse(r.get_bytes("rl/async_metrics_" + std::to_string(i)))) {
        c.metrics.emplace_back(e[0], e[1]);
      }
      async_restored_.emplace_back(index[0].item<int64_t>(), std::move(c));
    }
  }

  void save_rank_state(CheckpointWriter& w) override {
    if (has_live()) save_live(w);
  }

  void load_rank_state(CheckpointReader& r) override {
    if (live_pending_) load_live(r);
    live_pending_ = false;
  }

  std::string why_ranks_fixed(CheckpointReader& r) const override {
    return r.get_int("rl/live_batch") == 1
               ? "it holds the rollouts being reused (rl.reuse_steps > 1), each rank's own; resume at another "
                 "checkpoint or with that number of ranks"
               : "";
  }

  void save_live(CheckpointWriter& w) const {
    const Collected& c = *live_;
    auto& a = w.child("rollout");
    RolloutBatch b = c.batch;  // shallow: the tensors are shared
    for (const auto& f : batch_fields(b)) a.write(f.key, *f.tensor);
    a.write("reward_shaped", c.reward);
    a.write("advantages", c.advantages.defined() ? c.advantages : torch::Tensor());
    a.write("pad_token", torch::tensor({b.pad_token}, torch::kInt64));
    a.write("age", torch::tensor({c.age}, torch::kInt64));
    w.put_int("rl/live_extra", c.extra.rows() > 0 ? 1 : 0);
    if (c.extra.rows() > 0) {
      auto& x = w.child("extra_rollouts");
      RolloutBatch e = c.extra;
      for (const auto& f : batch_fields(e)) x.write(f.key, *f.tensor);
      x.write("advantages", c.extra_advantages);
      x.write("pad_token", torch::tensor({e.pad_token}, torch::kInt64));
      w.put_doubles("rl/extra_entropy", {c.extra_entropy});
    }
    nlohmann::json m = nlohmann::json::array();
    for (const auto& [k, v] : c.metrics) m.push_back({k, v});
    w.put_bytes("rl/live_metrics", m.dump());
  }

  void load_extra(CheckpointReader& r) override {
    update_->load(r);
    load_prompt_state(r);
    live_.reset();
    if (async() && r.has("rl/async_next")) load_async(r);
    async_older_.clear();
    if (opts_.partial_rollouts && r.has("rl/async_older")) load_older(r);
    live_pending_ = r.get_int("rl/live_batch") == 1;
    if (live_pending_ && world_size() == 1) {
      load_live(r);
      live_pending_ = false;
    }
  }

  void load_live(CheckpointReader& r) {
    Collected c;
    auto& a = r.child("rollout");
    for (const auto& f : batch_fields(c.batch)) a.read(f.key, *f.tensor);
    torch::Tensor pad, age;
    a.read("reward_shaped", c.reward);
    a.read("advantages", c.advantages);
    a.read("pad_token", pad);
    a.read("age", age);
    c.batch.pad_token = pad.item<int64_t>();
    c.age = age.item<int64_t>();
    if (r.get_int("rl/live_extra") == 1) {
      auto& x = r.child("extra_rollouts");
      torch::Tensor xpad;
      for (const auto& f : batch_fields(c.extra)) x.read(f.key, *f.tensor);
      x.read("advantages", c.extra_advantages);
      x.read("pad_token", xpad);
      c.extra.pad_token = xpad.item<int64_t>();
      c.extra_entropy = r.get_doubles("rl/extra_entropy", 1)[0];
    }
    for (const auto& e : nlohmann::json::parse(r.get_bytes("rl/live_metrics"))) c.metrics.emplace_back(e[0], e[1]);
    live_ = std::move(c);
  }

  RlvrOptions opts_;
  sample::SamplingRecipe sampling_;
  std::unique_ptr<algo::AdvantageEstimator> advantage_;
  algo::SpoTracker* tracker_ = nullptr;  // the estimator's own success estimates (spo), which prioritized sampling uses
  std::vector<std::pair<std::string, std::unique_ptr<algo::Selector>>> selectors_;  // [[selectors]], in order
  std::unique_ptr<PolicyUpdate> update_;
  std::unique_ptr<algo::RolloutAllocation> allocation_;
  env::text::RewardShapingOptions reward_opts_;
  std::unique_ptr<env::text::RewardShaper> shaper_;
  // Per-prompt success counts without decay (Beta(½, ½) prior): Knapsack's p_i, and the weights of
  // prioritized sampling when the advantage is not spo.
  algo::SpoTracker success_{no_decay()};
  int64_t group_size_ = 1;
  std::unique_ptr<sample::Generator> generator_;
  std::unique_ptr<PromptSource> prompts_;
  PromptPick last_pick_;  // the prompts of the last generation round
  const env::text::MultiTurnTask* dialogue_ = nullptr;  // the task, when its instances are dialogues
  std::optional<Collected> live_;
  bool live_pending_ = false;  // a checkpoint's reused batch still to be read from the rank state
  double last_reward_ = 0;
  // Asynchronous rollouts: the worker's model, prompt generator and the pipeline. Synchronous runs
  // sample from model_ with rng_.
  core::Rng worker_rng_;
  core::Rng* prompt_rng_ = &rng_;
  nn::lm::TransformerLm sampler_model_{nullptr};
  nn::lm::TransformerLm* gen_model_ = &model_;
  std::deque<std::pair<int64_t, Collected>> async_restored_;  // queued batches read from a checkpoint
  std::vector<WeightSnapshot> async_older_;  // partial rollouts: older versions read from a checkpoint
  int64_t async_next_ = 0;                                    // the worker's next batch from a checkpoint
  std::chrono::steady_clock::time_point run_started_;
  // The rollout worker as a separate rank: the link to the other rank, whether this process has
  // made its first exchange, and the learner's copy of the worker's timings.
  std::unique_ptr<RolloutLink> link_;
  bool remote_started_ = false;
  double remote_waited_ = 0;      // learner: seconds in the exchange that delivered the next batch
  double worker_busy_s_ = 0;      // worker: seconds producing batches (the learner: the worker's)
  double worker_wait_s_ = 0;      // the worker's seconds in the exchanges (waiting for the learner)
  // Last: destroyed first, so the worker stops before the members it uses go.
  std::unique_ptr<RolloutPipeline<Collected>> pipeline_;
};

}  // namespace

std::unique_ptr<Trainer> make_rlvr_trainer(const core::Recipe& recipe, const RunContext& ctx) {
  return std::make_unique<RlvrTrainer>(recipe, ctx);
}

}  // namespace rlpp::train::lm
