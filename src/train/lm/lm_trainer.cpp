#include "rlpp/train/lm/lm_trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <iostream>

#include "rlpp/core/error.h"
#include "rlpp/core/metrics.h"
#include "rlpp/core/progress.h"
#include "rlpp/dist/data_parallel.h"
#include "rlpp/nn/lm/pretrained.h"
#include "rlpp/train/checkpoint.h"
#include "rlpp/train/lm/adamw.h"
#include "rlpp/train/lm/lm_data.h"
#include "rlpp/train/lm/lm_eval.h"
#include "rlpp/train/lm/lr_schedule.h"
#include "rlpp/train/lm/model_section.h"
#include "rlpp/train/metric_names.h"
#include "train/lm/lm_run.h"

namespace rlpp::train::lm {

void LmTrainOptions::bind(core::Binder& b) {
  using core::Bounds;
  b.integer("batch_size", batch_size, "rows per optimizer step", Bounds::closed(1, 1 << 20));
  b.integer("micro_batch_size", micro_batch_size, "rows per forward/backward (gradient accumulation)", Bounds::closed(1, 1 << 20));
  b.integer("seq_len", seq_len, "row length (packed) or truncation length (padded)", Bounds::closed(2, 1 << 20));
  b.flag("pack", pack, "concatenate sequences into full rows (else one padded sequence per row)");
  b.flag("response_only", response_only, "loss on response tokens only (SFT)");
  b.num("learning_rate", learning_rate, "peak AdamW learning rate", Bounds::positive());
  b.num("min_lr_ratio", min_lr_ratio, "final learning rate / peak (cosine floor)", Bounds::unit());
  b.integer("warmup_steps", warmup_steps, "linear warm-up steps", Bounds::non_negative());
  b.num("weight_decay", weight_decay, "AdamW decoupled weight decay (matrices and embeddings only)", Bounds::non_negative());
  b.num("beta1", beta1, "AdamW beta1", Bounds{0.0, 1.0, false, true});
  b.num("beta2", beta2, "AdamW beta2", Bounds{0.0, 1.0, false, true});
  b.num("adam_eps", adam_eps, "AdamW epsilon", Bounds::positive());
  b.num("max_grad_norm", max_grad_norm, "global gradient-norm clip", Bounds::positive());
  b.integer("eval_every", eval_every, "optimizer steps between evaluations (0 = at the end only)", Bounds::non_negative());
  b.integer("eval_batch_size", eval_batch_size, "rows per evaluation forward", Bounds::closed(1, 1 << 20));
  b.integer("accuracy_examples", accuracy_examples, "task data: held-out prompts decoded greedily (0 = off)",
            Bounds::non_negative());
  b.integer("max_new_tokens", max_new_tokens, "longest greedy response in evaluation", Bounds::closed(1, 1 << 16));
  b.integer("logprob_chunk", logprob_chunk, "sequence positions per lm_head/log-softmax chunk", Bounds::closed(1, 1 << 20));
  b.integer("max_nonfinite_steps", max_nonfinite_steps, "skipped non-finite steps before the run stops",
            Bounds::non_negative());
}

namespace {

class LmTrainer : public LmRun {
 public:
  LmTrainer(const core::Recipe& recipe, const RunContext& ctx) : LmRun(recipe, ctx) {
    opts_ = core::read_options<LmTrainOptions>(recipe, "lm");
    recipe.check_all_used();
    core::require(opts_.batch_size % opts_.micro_batch_size == 0,
                  recipe.origin("lm.micro_batch_size") + ": lm.micro_batch_size = " + std::to_string(opts_.micro_batch_size) +
                      " must divide lm.batch_size = " + std::to_string(opts_.batch_size));
    core::require(!opts_.response_only || data_opts_.source != "text",
                  recipe.origin("lm.response_only") + ": lm.response_only needs prompts (data.source = task or jsonl)");
    build_policy(AdamWSettings{opts_.learning_rate, opts_.weight_decay, opts_.beta1, opts_.beta2, opts_.adam_eps});
    core::require(opts_.seq_len <= model_->config().max_position_embeddings,
                  recipe.origin("lm.seq_len") + ": lm.seq_len = " + std::to_string(opts_.seq_len) +
                      " exceeds the model's max_position_embeddings = " +
                      std::to_string(model_->config().max_position_embeddings));
    layout_.seq_len = opts_.seq_len;
    layout_.pack = opts_.pack;
    layout_.response_only = opts_.response_only;
    layout_.pad_id = std::max<int64_t>(0, tokenizer_->pad_id >= 0 ? tokenizer_->pad_id : tokenizer_->eos_id);
    packer_ = std::make_unique<Packer>(layout_);
    for (const auto& ex : data_->eval_set()) eval_tokens_.push_back(data_->tokenize(ex, *tokenizer_));
    schedule_.lr = opts_.learning_rate;
    schedule_.warmup_steps = opts_.warmup_steps;
    schedule_.total_steps = run_.total_steps;
    schedule_.min_lr_ratio = opts_.min_lr_ratio;
    finish_setup();
  }

  EvalResult evaluate(const EvalRequest& req) override {
    return evaluate_lm(model_, *tokenizer_, *data_, req, opts_.eval_batch_size, opts_.max_new_tokens);
  }
  bool data_parallel() const override { return true; }

 private:
  core::MetricRow train_step() override {
    const auto t0 = std::chrono::steady_clock::now();
    const double lr = schedule_.at(step_);
    set_learning_rate(*optimizer_, lr);
    // Data-parallel: every rank draws the same global batch (one generator, seeded alike) and
    // trains on its own near-equal share of the rows; the loss is divided by the global target
    // count and the gradients are summed, so N ranks take the step one process takes.
    const LmBatch batch = next_batch();
    const double targets = batch.loss_mask.sum().item<double>();
    optimizer_->zero_grad();
    double loss_sum = 0;
    const int64_t all_rows = batch.tokens.size(0);
    const int64_t first = all_rows * rank() / world_size(), rows = all_rows * (rank() + 1) / world_size();
    for (int64_t r0 = first; r0 < rows; r0 += opts_.micro_batch_size) {
      const int64_t r1 = std::min(rows, r0 + opts_.micro_batch_size);
      const auto mask = batch.loss_mask.slice(0, r0, r1);
      if (mask.sum().item<double>() == 0) continue;
      const auto lp = nn::lm::token_logprobs(model_, batch.tokens.slice(0, r0, r1), batch.attention.slice(0, r0, r1),
                                            opts_.logprob_chunk);
      // Divided by the whole step's target count: the summed gradient of the micro-batches equals
      // the gradient of the full batch's token-mean loss.
      const torch::Tensor loss = -(lp.logp * mask).sum() / std::max(targets, 1.0);
      loss.backward();
      loss_sum += loss.item<double>();
    }
    if (dist::Comm* c = comm()) {
      dist::sum_gradients(*c, model_->parameters());
      c->allreduce_sum(&loss_sum, 1);
    }
    const double grad_norm = torch::nn::utils::clip_grad_norm_(model_->parameters(), opts_.max_grad_norm);
    if (std::isfinite(loss_sum) && std::isfinite(grad_norm)) {
      optimizer_->step();
    } else {
      ++nonfinite_steps_;
      optimizer_->zero_grad();
      core::require(nonfinite_steps_ <= opts_.max_nonfinite_steps,
                    "training stopped: " + std::to_string(nonfinite_steps_) +
                        " steps had a non-finite loss or gradient (lm.max_nonfinite_steps = " +
                        std::to_string(opts_.max_nonfinite_steps) + ")");
    }
    tokens_seen_ += all_rows * batch.tokens.size(1);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return {
        {"train/loss", loss_sum},
        {metric::kLearningRate, lr},
        {metric::kGradNorm, grad_norm},
        {"train/target_tokens", targets},
        {"train/tokens_seen", static_cast<double>(tokens_seen_)},
        {"train/tokens_per_s", static_cast<double>(all_rows * batch.tokens.size(1)) / std::max(secs, 1e-9)},
        {"train/nonfinite_steps", static_cast<double>(nonfinite_steps_)},
    };
  }

  LmBatch next_batch() {
    if (opts_.pack) {
      while (packer_->rows_ready() < opts_.batch_size) packer_->push(data_->tokenize(data_->next(rng_), *tokenizer_));
      return packer_->pop(opts_.batch_size);
    }
    std::vector<LmExample> examples;
    for (int64_t i = 0; i < opts_.batch_size; ++i) examples.push_back(data_->tokenize(data_->next(rng_), *tokenizer_));
    return pad_examples(examples, layout_);
  }

  void evaluate_into(core::MetricRow& row) override {
    if (!eval_tokens_.empty()) {
      row.emplace_back("eval/loss", eval_loss(model_, eval_tokens_, layout_, opts_.eval_batch_size, opts_.logprob_chunk));
    }
    if (data_->task() != nullptr && opts_.accuracy_examples > 0) {
      append_accuracy(row, model_, *tokenizer_, *data_, opts_.accuracy_examples, opts_.eval_batch_size, opts_.max_new_tokens);
    }
  }

  int64_t eval_every() const override { return opts_.eval_every; }
  void write_own_options(toml::table* out) const override { core::write_options(opts_, out, "lm"); }

  void save_extra(CheckpointWriter& w) const override {
    w.put_int("tokens_seen", tokens_seen_);
    w.put_int("nonfinite_steps", nonfinite_steps_);
    w.put_int("packer/size", static_cast<int64_t>(packer_->pending_tokens().size()));
    w.put_ints("packer/tokens", packer_->pending_tokens());
    w.put_ints("packer/targets", std::vector<int64_t>(packer_->pending_targets().begin(), packer_->pending_targets().end()));
  }

  void load_extra(CheckpointReader& r) override {
    tokens_seen_ = r.get_int("tokens_seen");
    nonfinite_steps_ = r.get_int("nonfinite_steps");
    const auto n = static_cast<size_t>(r.get_int("packer/size"));
    const auto targets = r.get_ints("packer/targets", n);
    packer_->restore(r.get_ints("packer/tokens", n), std::vector<uint8_t>(targets.begin(), targets.end()));
  }

  LmTrainOptions opts_;
  LrSchedule schedule_;
  LayoutOptions layout_;
  std::unique_ptr<Packer> packer_;
  std::vector<LmExample> eval_tokens_;
  int64_t tokens_seen_ = 0;
  int64_t nonfinite_steps_ = 0;
};

}  // namespace

std::unique_ptr<Trainer> make_lm_trainer(const core::Recipe& recipe, const RunContext& ctx) {
  return std::make_unique<LmTrainer>(recipe, ctx);
}

}  // namespace rlpp::train::lm
