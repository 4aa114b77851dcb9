// What the language-model trainers (lm, rlvr, the search trainers) share, on the one run loop
// (run_loop.h): the policy built from the [model], [tokenizer] and [data] sections, the
// evaluation cadence (an evaluation row at step 0 of a fresh run, then every eval_every steps and
// at the end), the checkpoint of model / optimizer / generator / step, the resolved recipe, and
// the export of RUN_DIR/model when the run finishes. A trainer adds its own section, one training
// step and its evaluation.
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
#include "rlpp/train/run_loop.h"

namespace rlpp::train::lm {

class LmRun : public LoopTrainer {
 protected:
  // Reads [run], [model], [tokenizer] and [data] (the trainer reads its own section before
  // calling finish_setup).
  LmRun(const core::Recipe& recipe, const RunContext& ctx);
  // Seeds every generator, builds the tokenizer, the model and the optimizer.
  void build_policy(const AdamWSettings& adamw);
  // Writes the resolved recipe (every section with every option) and restores the newest
  // checkpoint when resuming. Call last in the trainer's constructor.
  void finish_setup();

  // One training step (step_ is incremented by the loop afterwards); returns its metrics.
  virtual core::MetricRow train_step() = 0;
  // Held-out evaluation metrics, appended to `row`.
  virtual void evaluate_into(core::MetricRow& row) = 0;
  virtual int64_t eval_every() const = 0;
  // The trainer's own section, written into the resolved recipe.
  virtual void write_own_options(toml::table* out) const = 0;
  virtual void save_extra(CheckpointWriter& w) const {}
  virtual void load_extra(CheckpointReader& r) {}

  LmModelOptions model_opts_;
  TokenizerOptions tok_opts_;
  LmDataOptions data_opts_;
  std::unique_ptr<LmData> data_;
  std::unique_ptr<nn::Tokenizer> tokenizer_;
  std::string tokenizer_source_;
  nn::lm::TransformerLm model_{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  // The components' sections ([task], [advantage], [objective], [[selectors]], [kl], ...) with
  // every option, given or default, for the resolved recipe; builders write here.
  toml::table resolved_;
  core::Rng rng_;
  int64_t step_ = 0;

 private:
  LoopPosition position() const override { return {step_, run_.total_steps, step_, run_.total_steps}; }
  core::MetricRow step() override;
  int64_t checkpoint_version() const override { return kLmCheckpointVersion; }
  void save_state(CheckpointWriter& w) override;
  void load_state(CheckpointReader& r, bool full) override;
  void on_start(core::MetricsLogger& metrics) override;
  void on_finish() override;
  const char* rate_label() const override { return "steps/s"; }
  std::string replica_fingerprint() override;  // CRC-32 of the model's parameters
  // Every rank draws the same data (one generator, seeded alike): the state is shared.
  std::string why_ranks_fixed(CheckpointReader&) const override { return ""; }

  static constexpr int64_t kLmCheckpointVersion = 1;
};

}  // namespace rlpp::train::lm
