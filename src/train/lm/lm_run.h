// What the language-model trainers (lm, rlvr) share: the policy built from the [model],
// [tokenizer] and [data] sections, the run loop (metrics rows, progress, evaluation cadence,
// periodic checkpoints, stop and split), the checkpoint of model / optimizer / generator / step,
// the resolved recipe, and the export of RUN_DIR/model. A trainer adds its own section, one
// training step and its evaluation.
#pragma once
#include <torch/torch.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/core/metrics.h"
#include "rlpp/core/rng.h"
#include "rlpp/nn/lm/transformer.h"
#include "rlpp/train/checkpoint.h"
#include "rlpp/train/lm/adamw.h"
#include "rlpp/train/lm/lm_data.h"
#include "rlpp/train/lm/model_section.h"
#include "rlpp/train/trainer.h"

namespace rlpp::train::lm {

class LmRun : public Trainer {
 public:
  std::string resolved_recipe() const override { return resolved_; }
  // Evaluates once before the first step (the starting point of every curve), then trains.
  bool run(const std::atomic<bool>& stop) override;
  void load_checkpoint(const std::string& path) override { load_state(path, /*full=*/false); }

 protected:
  // Reads [run], [model], [tokenizer] and [data] (the trainer reads its own section before
  // calling finish_setup).
  LmRun(const core::Recipe& recipe, const RunContext& ctx);
  // Seeds every generator, builds the tokenizer, the model and the optimizer.
  void build_policy(const AdamWSettings& adamw);
  // Keeps the `verbatim` sections as written for the resolved recipe and restores the newest
  // checkpoint when resuming. Call last in the trainer's constructor.
  void finish_setup(const core::Recipe& recipe, const std::vector<std::string>& verbatim);

  // One training step (step_ is incremented by the loop afterwards); returns its metrics.
  virtual core::MetricRow train_step() = 0;
  // Held-out evaluation metrics, appended to `row`.
  virtual void evaluate_into(core::MetricRow& row) = 0;
  virtual int64_t eval_every() const = 0;
  // The trainer's own section, written into the resolved recipe.
  virtual void write_own_options(toml::table* out) const = 0;
  virtual void save_extra(CheckpointWriter& w) const {}
  virtual void load_extra(CheckpointReader& r) {}
  // A value shown in the progress line (e.g. the mean reward).
  virtual std::optional<double> progress_value() const { return std::nullopt; }

  RunContext ctx_;
  RunOptions run_;
  LmModelOptions model_opts_;
  TokenizerOptions tok_opts_;
  LmDataOptions data_opts_;
  std::unique_ptr<LmData> data_;
  std::unique_ptr<nn::Tokenizer> tokenizer_;
  std::string tokenizer_source_;
  nn::lm::TransformerLm model_{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  core::Rng rng_;
  int64_t step_ = 0;

 private:
  void save_checkpoint() const;
  void load_state(const std::string& path, bool full);
  void export_model();

  std::map<std::string, toml::table> verbatim_;
  std::string resolved_;
};

}  // namespace rlpp::train::lm
