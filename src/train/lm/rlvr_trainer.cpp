#include "rlpp/train/lm/rlvr_trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <numeric>

#include "rlpp/algo/advantage.h"
#include "rlpp/algo/aggregation.h"
#include "rlpp/algo/kl.h"
#include "rlpp/algo/objective.h"
#include "rlpp/algo/objectives/hapo.h"
#include "rlpp/algo/objectives/lp_reg.h"
#include "rlpp/core/error.h"
#include "rlpp/core/metrics.h"
#include "rlpp/core/progress.h"
#include "rlpp/nn/lm/pretrained.h"
#include "rlpp/sample/generator.h"
#include "rlpp/train/checkpoint.h"
#include "rlpp/train/lm/adamw.h"
#include "rlpp/train/lm/lm_data.h"
#include "rlpp/train/lm/lm_eval.h"
#include "rlpp/train/lm/model_section.h"
#include "train/lm/lm_run.h"

namespace rlpp::train::lm {

void RlvrOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.integer("prompts_per_step", prompts_per_step, "prompts per RL step (the batch is prompts x sample.num_return_sequences)",
            Bounds::closed(1, 1 << 20));
  b.integer("ppo_epochs", ppo_epochs, "passes over each batch", Bounds::closed(1, 1000));
  b.integer("mini_batches", mini_batches, "optimizer steps per epoch", Bounds::closed(1, 1 << 20));
  b.integer("micro_batch_size", micro_batch_size, "rows per forward/backward (0 = a whole mini-batch)",
            Bounds::closed(0, 1 << 20));
  b.choice("aggregation", aggregation, algo::aggregation_registry().names(), "loss aggregation (rlpp list aggregations)");
  b.num("learning_rate", learning_rate, "AdamW learning rate (constant)", Bounds::positive());
  b.num("weight_decay", weight_decay, "AdamW decoupled weight decay (matrices and embeddings only)", Bounds::non_negative());
  b.num("beta1", beta1, "AdamW beta1", Bounds{0.0, 1.0, false, true});
  b.num("beta2", beta2, "AdamW beta2", Bounds{0.0, 1.0, false, true});
  b.num("adam_eps", adam_eps, "AdamW epsilon", Bounds::positive());
  b.num("max_grad_norm", max_grad_norm, "global gradient-norm clip", Bounds::positive());
  b.num("kl_coef", kl_coef, "KL-to-reference loss coefficient (0 = no reference model)", Bounds::non_negative());
  b.choice("kl_estimator", kl_estimator, algo::kl_registry().names(), "KL estimator of the loss term (rlpp list kl)");
  b.num("entropy_coef", entropy_coef, "entropy bonus coefficient", Bounds::non_negative());
  b.flag("hapo_temperature_stats", hapo_temperature_stats,
         "give the sampler's hapo_temperature the entropy statistics of the previous batch");
  b.integer("eval_every", eval_every, "RL steps between greedy evaluations (0 = at the end only)", Bounds::non_negative());
  b.integer("eval_batch_size", eval_batch_size, "prompts per evaluation batch", Bounds::closed(1, 1 << 20));
  b.integer("accuracy_examples", accuracy_examples, "held-out prompts decoded greedily (0 = off)", Bounds::non_negative());
  b.integer("logprob_chunk", logprob_chunk, "sequence positions per lm_head/log-softmax chunk", Bounds::closed(1, 1 << 20));
  b.num("lp_reg_kappa", lp_reg_kappa, "objective lp_reg: min-p threshold of its proxy policy", Bounds{0.0, 1.0, true, true});
}

namespace {

// Token-weighted running means of the objective's metrics over the micro-batches of a step.
struct MetricMeans {
  std::map<std::string, double> sum;
  double weight = 0;
  void add(const std::map<std::string, torch::Tensor>& m, double w) {
    for (const auto& [k, v] : m) sum[k] += v.item<double>() * w;
    weight += w;
  }
  double get(const std::string& k) const {
    auto it = sum.find(k);
    return it == sum.end() || weight <= 0 ? std::nan("") : it->second / weight;
  }
};

class RlvrTrainer : public LmRun {
 public:
  RlvrTrainer(const core::Recipe& recipe, const RunContext& ctx) : LmRun(recipe, ctx) {
    opts_ = core::read_options<RlvrOptions>(recipe, "rl");
    core::require(data_opts_.source == "task", recipe.origin("data.source") +
                                                   ": rlvr needs prompts with a grader: data.source = \"task\"");
    sampling_ = sample::read_sampling(recipe, "sample");
    objective_name_ = recipe.get_string("objective", "name", "ppo_clip");
    advantage_ = algo::build_component(algo::advantage_registry(), recipe.get_string("advantage", "name", "grpo"), recipe,
                                       "advantage", {"name"});
    objective_ = algo::build_component(algo::objective_registry(), objective_name_, recipe, "objective", {"name"});
    recipe.check_all_used();
    aggregation_ = algo::aggregation_from_name(opts_.aggregation);
    kl_fn_ = algo::kl_registry().get(opts_.kl_estimator);
    group_size_ = sampling_.generation.num_return_sequences;
    const int64_t B = opts_.prompts_per_step * group_size_;
    core::require(B % opts_.mini_batches == 0, recipe.origin("rl.mini_batches") + ": rl.mini_batches = " +
                                                   std::to_string(opts_.mini_batches) + " must divide the batch of " +
                                                   std::to_string(B) + " responses");
    build_policy(AdamWSettings{opts_.learning_rate, opts_.weight_decay, opts_.beta1, opts_.beta2, opts_.adam_eps});
    if (opts_.kl_coef > 0) {
      // A frozen copy of the initial policy.
      reference_ = nn::lm::TransformerLm(model_->config());
      torch::NoGradGuard no_grad;
      auto src = model_->named_parameters();
      for (auto& p : reference_->named_parameters()) p.value().copy_(src[p.key()]);
      reference_->eval();
    }
    if (tokenizer_->eos_id >= 0 && sampling_.generation.stop_tokens.empty()) {
      sampling_.generation.stop_tokens = {tokenizer_->eos_id};
    }
    generator_ = std::make_unique<sample::Generator>(sampling_.chain, sampling_.generation);
    finish_setup(recipe, {"task", "sample", "advantage", "objective"});
  }

  EvalResult evaluate(const EvalRequest& req) override {
    return evaluate_lm(model_, *tokenizer_, *data_, req, opts_.eval_batch_size, sampling_.generation.max_new_tokens);
  }

 private:
  // One RL step: sample, score, estimate, optimize. Returns the step's metrics.
  core::MetricRow train_step() override {
    const auto t0 = std::chrono::steady_clock::now();
    // Sampling is reseeded from (seed, step), so a resumed run draws what an uninterrupted one would.
    generator_->reseed(static_cast<uint64_t>(run_.seed) * 1000003ULL + static_cast<uint64_t>(step_));
    std::vector<TextExample> batch;
    std::vector<std::vector<int64_t>> prompts;
    for (int64_t i = 0; i < opts_.prompts_per_step; ++i) {
      batch.push_back(data_->next(rng_));
      prompts.push_back(data_->tokenize(batch.back(), *tokenizer_).prompt);
    }
    model_->eval();
    const sample::Generation g = generator_->generate(*model_, prompts);
    model_->train();
    const int64_t B = g.tokens.size(0), Lp = g.prompt_tokens.size(1);

    // Rewards from the task's grader.
    std::vector<float> rewards(static_cast<size_t>(B));
    double correct = 0;
    for (int64_t i = 0; i < B; ++i) {
      const int64_t n = g.lengths[i].item<int64_t>();
      const auto row = g.tokens[i].slice(0, 0, n).contiguous();
      const std::string text = tokenizer_->decode({row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + n}, true);
      rewards[static_cast<size_t>(i)] = static_cast<float>(data_->task()->grade(batch[static_cast<size_t>(i / group_size_)].instance, text));
      correct += rewards[static_cast<size_t>(i)] >= 1.0F;
    }
    const torch::Tensor reward = torch::from_blob(rewards.data(), {B}, torch::kFloat32).clone();  // (B)
    const torch::Tensor mask = g.mask.to(torch::kFloat32);                                      // (B, N)

    algo::AdvantageInput ai;
    ai.seq_rewards = reward;
    ai.group_ids = g.group_id;
    ai.lengths = g.lengths;
    ai.mask = mask;
    ai.logp_old = g.logp;
    const torch::Tensor adv = advantage_->compute(ai).advantages.to(torch::kFloat32);  // (B, N)

    if (opts_.hapo_temperature_stats) {
      generator_->set_entropy_stats(algo::fit_entropy_norm(g.entropy, mask, /*quantile=*/0.8));
    }

    // Full sequences: left-padded prompt, then the response (pads after it are not attended to).
    const torch::Tensor tokens = torch::cat({g.prompt_tokens, g.tokens}, 1);   // (B, Lp + N)
    const torch::Tensor attention = torch::cat({g.prompt_mask, g.mask}, 1);    // (B, Lp + N)
    torch::Tensor logp_ref;                                                     // (B, N)
    if (reference_) {
      torch::NoGradGuard no_grad;
      logp_ref = nn::lm::token_logprobs(reference_, tokens, attention, opts_.logprob_chunk).logp.slice(1, Lp);
    }
    // lp_reg regularises toward a min-p proxy of the sampling-time policy.
    const torch::Tensor logp_proxy = objective_name_ == "lp_reg" ? proxy_logp(tokens, attention, g.tokens, Lp) : torch::Tensor();
    const double gen_seconds = g.seconds;
    const auto t1 = std::chrono::steady_clock::now();

    MetricMeans means;
    double grad_norm = 0, kl_sum = 0, loss_sum = 0;
    int64_t optimizer_steps = 0;
    const int64_t mb = B / opts_.mini_batches;
    const int64_t micro = opts_.micro_batch_size > 0 ? std::min(opts_.micro_batch_size, mb) : mb;
    std::vector<int64_t> order(static_cast<size_t>(B));
    for (int64_t e = 0; e < opts_.ppo_epochs; ++e) {
      std::iota(order.begin(), order.end(), 0);
      rng_.shuffle(order.data(), B);
      for (int64_t m = 0; m < opts_.mini_batches; ++m) {
        const torch::Tensor idx = torch::from_blob(order.data() + m * mb, {mb}, torch::kInt64).clone();
        const torch::Tensor mb_mask = mask.index_select(0, idx);
        const algo::AggregationCounts counts = algo::aggregation_counts(mb_mask);
        if (micro < mb) prepare_objective(tokens, attention, idx, adv, g, mask, logp_proxy, Lp);
        optimizer_->zero_grad();
        for (int64_t r0 = 0; r0 < mb; r0 += micro) {
          const torch::Tensor rows = idx.slice(0, r0, std::min(mb, r0 + micro));
          const auto lp = nn::lm::token_logprobs(model_, tokens.index_select(0, rows), attention.index_select(0, rows),
                                                opts_.logprob_chunk);
          algo::PolicyLossInput in;
          in.logp = lp.logp.slice(1, Lp);
          in.logp_old = g.logp.index_select(0, rows);
          in.advantages = adv.index_select(0, rows);
          in.mask = mask.index_select(0, rows);
          in.entropy = lp.entropy.slice(1, Lp).detach();
          if (logp_proxy.defined()) in.logp_proxy = logp_proxy.index_select(0, rows);
          if (micro < mb) in.rows = torch::arange(r0, r0 + rows.size(0), torch::kInt64);
          const algo::ObjectiveOutput out = objective_->compute(in);
          torch::Tensor token_loss = out.token_loss;
          if (reference_) {
            const torch::Tensor kl = kl_fn_(in.logp, logp_ref.index_select(0, rows)) * in.mask;
            token_loss = token_loss + opts_.kl_coef * kl;
            kl_sum += kl.sum().item<double>();
          }
          if (opts_.entropy_coef > 0) token_loss = token_loss - opts_.entropy_coef * lp.entropy.slice(1, Lp) * in.mask;
          const torch::Tensor loss = algo::aggregate_loss(token_loss, in.mask, aggregation_, counts);
          loss.backward();
          loss_sum += loss.item<double>();
          means.add(out.metrics, in.mask.sum().item<double>());
        }
        grad_norm += torch::nn::utils::clip_grad_norm_(model_->parameters(), opts_.max_grad_norm);
        optimizer_->step();
        ++optimizer_steps;
      }
    }
    const auto t2 = std::chrono::steady_clock::now();

    // Group statistics: a group whose rewards are all equal gives every response A = 0 under the
    // mean-baseline estimators.
    const torch::Tensor grouped = reward.view({opts_.prompts_per_step, group_size_});
    const double zero_var = (std::get<0>(grouped.max(1)) == std::get<0>(grouped.min(1))).to(torch::kFloat32).mean().item<double>();
    const double valid = mask.sum().item<double>();
    const double nonzero_adv = ((adv.abs() > 0).to(torch::kFloat32) * mask).sum().item<double>() / std::max(valid, 1.0);
    const double train_s = std::chrono::duration<double>(t2 - t1).count();
    last_reward_ = reward.mean().item<double>();
    const double epochs_tokens = static_cast<double>(opts_.ppo_epochs) * attention.to(torch::kFloat32).sum().item<double>();
    return {
        {"rl/reward_mean", last_reward_},
        {"rl/accuracy", correct / static_cast<double>(B)},
        {"rl/response_length", g.lengths.to(torch::kFloat64).mean().item<double>()},
        {"rl/entropy", (g.entropy * mask).sum().item<double>() / std::max(valid, 1.0)},
        {"rl/zero_variance_groups", zero_var},
        {"rl/nonzero_adv_frac", nonzero_adv},
        {"rl/grad_token_frac", nonzero_adv - means.get(algo::metric::kClipFrac)},
        {"loss/policy", loss_sum / std::max<int64_t>(optimizer_steps, 1)},
        {"loss/kl", reference_ ? kl_sum / std::max(valid * static_cast<double>(opts_.ppo_epochs), 1.0) : 0.0},
        {"loss/clipfrac", means.get(algo::metric::kClipFrac)},
        {"loss/clipfrac_low", means.get(algo::metric::kClipFracLow)},
        {"loss/clipfrac_high", means.get(algo::metric::kClipFracHigh)},
        {"loss/approx_kl", means.get(algo::metric::kApproxKl)},
        {"loss/grad_norm", grad_norm / std::max<int64_t>(optimizer_steps, 1)},
        {"perf/gen_tokens_per_s", static_cast<double>(g.tokens_generated) / std::max(gen_seconds, 1e-9)},
        {"perf/train_tokens_per_s", epochs_tokens / std::max(train_s, 1e-9)},
        {"perf/step_seconds", std::chrono::duration<double>(t2 - t0).count()},
    };
  }

  // Fixes the objective's batch-level parameters (bapo's bounds, clip_cov's selection, ...) on the
  // whole mini-batch before it is split into micro-batches.
  void prepare_objective(const torch::Tensor& tokens, const torch::Tensor& attention, const torch::Tensor& idx,
                         const torch::Tensor& adv, const sample::Generation& g, const torch::Tensor& mask,
                         const torch::Tensor& logp_proxy, int64_t Lp) {
    torch::NoGradGuard no_grad;
    const auto lp = nn::lm::token_logprobs(model_, tokens.index_select(0, idx), attention.index_select(0, idx),
                                          opts_.logprob_chunk);
    algo::PolicyLossInput in;
    in.logp = lp.logp.slice(1, Lp);
    in.logp_old = g.logp.index_select(0, idx);
    in.advantages = adv.index_select(0, idx);
    in.mask = mask.index_select(0, idx);
    in.entropy = lp.entropy.slice(1, Lp);
    if (logp_proxy.defined()) in.logp_proxy = logp_proxy.index_select(0, idx);
    objective_->prepare(in);
  }

  // log π_p (B, N) of the response tokens under the min-p proxy of the current (= sampling) policy,
  // from logits computed a chunk of positions at a time. Position Lp − 1 + j predicts response token j.
  torch::Tensor proxy_logp(const torch::Tensor& tokens, const torch::Tensor& attention, const torch::Tensor& response,
                           int64_t Lp) {
    torch::NoGradGuard no_grad;
    const torch::Tensor hidden = model_->hidden_states(tokens, attention);  // (B, Lp + N, H)
    const int64_t N = response.size(1);
    torch::Tensor out = torch::empty({response.size(0), N}, torch::kFloat32);
    for (int64_t c0 = 0; c0 < N; c0 += opts_.logprob_chunk) {
      const int64_t c1 = std::min(N, c0 + opts_.logprob_chunk);
      const torch::Tensor logits = model_->logits(hidden.slice(1, Lp - 1 + c0, Lp - 1 + c1));  // (B, c, V)
      out.slice(1, c0, c1).copy_(algo::min_p_proxy_logp(logits, response.slice(1, c0, c1), opts_.lp_reg_kappa));
    }
    return out;
  }

  void evaluate_into(core::MetricRow& row) override {
    if (opts_.accuracy_examples > 0) {
      append_accuracy(row, model_, *tokenizer_, *data_, opts_.accuracy_examples, opts_.eval_batch_size,
                      sampling_.generation.max_new_tokens);
    }
  }

  int64_t eval_every() const override { return opts_.eval_every; }
  void write_own_options(toml::table* out) const override { core::write_options(opts_, out, "rl"); }
  std::optional<double> progress_value() const override { return last_reward_; }
  void save_extra(CheckpointWriter& w) const override {
    if (reference_) reference_->save(w.child("reference"));
  }
  void load_extra(CheckpointReader& r) override {
    if (reference_) reference_->load(r.child("reference"));
  }

  RlvrOptions opts_;
  sample::SamplingRecipe sampling_;
  std::string objective_name_;
  std::unique_ptr<algo::AdvantageEstimator> advantage_;
  std::unique_ptr<algo::PolicyObjective> objective_;
  algo::Aggregation aggregation_{};
  algo::KlEstimatorFn kl_fn_ = nullptr;
  int64_t group_size_ = 1;
  nn::lm::TransformerLm reference_{nullptr};
  std::unique_ptr<sample::Generator> generator_;
  double last_reward_ = 0;
};

}  // namespace

std::unique_ptr<Trainer> make_rlvr_trainer(const core::Recipe& recipe, const RunContext& ctx) {
  return std::make_unique<RlvrTrainer>(recipe, ctx);
}

}  // namespace rlpp::train::lm
