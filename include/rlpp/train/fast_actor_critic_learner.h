// The fused plain-C++ implementation of ActorCriticLearner: the same actor-critic, PPO loss, global
// grad-norm clip and Adam as the LibTorch reference (torch_actor_critic_learner.h), with the
// forward and the analytic backward of one minibatch written out over one flat parameter buffer
// (nn::FastMlp for the two MLPs). It removes LibTorch's per-operator overhead, which dominates a
// 128-sample update of a 64-64 network. Tests compare it with the reference step by step.
//
// Parameter layout (one float buffer, the order of nn::ActorCritic::parameters()):
//   log_std (A) | critic MLP (obs_dim -> hidden... -> 1) | actor MLP (obs_dim -> hidden... -> A)
// each Linear as W (out, in) row-major then b (out); log_std only for continuous actions.
//
// Checkpoints use the reference's archive layout: "model" = nn::ActorCritic::save, "optim" =
// torch::optim::Adam::save (per-parameter step, exp_avg, exp_avg_sq), so a checkpoint written by
// either backend loads into the other.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "rlpp/nn/actor_critic.h"
#include "rlpp/nn/fast_adam.h"
#include "rlpp/nn/fast_mlp.h"
#include "rlpp/train/actor_critic_learner.h"

namespace rlpp::train {

class FastActorCriticLearner : public ActorCriticLearner {
 public:
  // Initial weights are copied from an nn::ActorCritic constructed here, so under the same torch
  // seed both backends start from identical weights.
  explicit FastActorCriticLearner(const LearnerConfig& config);

  void act(const float* obs, int64_t n, core::Rng& rng, bool deterministic, float* actions, float* logp,
           float* value) override;
  void value(const float* obs, int64_t n, float* value) override;
  UpdateStats update(const ControlMinibatch& mb, const PpoLossOptions& opts, double lr) override;
  bool accepts_objectives() const override { return false; }
  std::vector<torch::Tensor> weights() override;
  void save(torch::serialize::OutputArchive& archive) override;
  void load(torch::serialize::InputArchive& archive) override;

  // All parameters in the layout above. (num_params)
  const nn::AlignedFloats& parameters() const { return params_; }
  // dL/dθ of the last update's loss, before the grad-norm clip. (num_params)
  const nn::AlignedFloats& gradient() const { return grads_; }
  // Adam steps taken (the bias-correction counter t).
  int64_t adam_step() const { return adam_.step(); }

 private:
  // One named LibTorch parameter and where it lives in params_.
  struct Slot {
    std::string name;  // nn::ActorCritic parameter name, e.g. "actor.2.weight"
    int64_t offset = 0;
    int64_t numel = 0;
  };
  void add_mlp_slots(const std::string& prefix, const nn::FastMlp& mlp, int64_t base);
  void copy_from_module();  // module_ -> params_
  void copy_to_module();    // params_ -> module_
  // The gradient of the policy/entropy terms w.r.t. the actor output (and log_std): fills
  // d_actor_out_ and grads_[log_std]; returns the per-minibatch statistics of those terms.
  void policy_backward(const ControlMinibatch& mb, const PpoLossOptions& opts, const float* actor_out,
                       UpdateStats* stats);
  // The value-loss gradient w.r.t. the critic output: fills d_value_; returns the value loss.
  double value_backward(const ControlMinibatch& mb, const PpoLossOptions& opts, const float* value);
  // Global 2-norm clip then one Adam step on params_ (nn::FastAdam).
  double clip_and_adam_step(double max_grad_norm, double lr);

  LearnerConfig config_;
  int64_t act_dim_ = 0;  // A

  // The LibTorch twin: source of the initial weights and the checkpoint format only.
  nn::ActorCritic module_{nullptr};
  std::unique_ptr<torch::optim::Adam> module_optim_;
  std::vector<Slot> slots_;

  nn::FastMlp critic_, actor_;
  int64_t log_std_offset_ = -1, critic_offset_ = 0, actor_offset_ = 0;  // log_std: -1 when discrete

  // Every buffer the network math touches is 64-byte aligned, so that two learners with the same
  // state compute bit-identical updates (a resumed run continues exactly).
  nn::AlignedFloats params_;  // (P)
  nn::AlignedFloats grads_;   // (P) unclipped gradient of the last update
  nn::FastAdam adam_;          // moments (P) and step counter
  double last_lr_ = 1e-3;      // the lr of the last step (stored in the optimizer archive)

  // Per-update scratch, grown to the largest minibatch.
  std::vector<float> adv_;            // (M) advantages as used by the loss (normalised if asked)
  nn::AlignedFloats d_actor_out_;     // (M, A) dL/d(logits or mean)
  nn::AlignedFloats d_value_;         // (M) dL/dV
  std::vector<double> log_std_acc_;  // (A) dL/dlog σ before rounding to float
  std::vector<double> head_scratch_; // (A) softmax row (discrete) or 1/σ (continuous)
};

}  // namespace rlpp::train
