#include "rlpp/train/offpolicy/fast_dqn_update.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <utility>

#include "rlpp/core/error.h"

namespace rlpp::train::offpolicy {

namespace {

constexpr double kNoClip = std::numeric_limits<double>::infinity();  // dqn.cpp clips no gradient
constexpr double kAdamEps = 1e-8;                                    // torch::optim::AdamOptions' default

void grow(nn::AlignedFloats& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.assign(static_cast<size_t>(n), 0.0f);
}

// The first index of the largest of q[0..n) (torch's argmax on ties).
int64_t argmax(const float* q, int64_t n) {
  int64_t best = 0;
  for (int64_t a = 1; a < n; ++a) {
    if (q[a] > q[best]) best = a;
  }
  return best;
}

// LibTorch's key of a parameter in Optimizer::state() (torch/optim/serialize.h).
std::string state_key(const torch::Tensor& p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); }

}  // namespace

FastDqn::FastDqn(const FastDqnConfig& config)
    : config_(config), n_(config.num_actions), net_(config.obs_dim, config.hidden, config.num_actions) {
  core::require(config.loss == "mse" || config.loss == "huber",
                "FastDqn: loss must be \"mse\" or \"huber\", got \"" + config.loss + "\"");
  const int64_t p = net_.num_params();
  for (auto* v : {&params_, &grad_, &target_}) v->assign(static_cast<size_t>(p), 0.0f);
  adam_ = nn::FastAdam(p, kAdamEps);
}

void FastDqn::copy_from(DiscreteQ& q, DiscreteQ& q_target) {
  torch::NoGradGuard no_grad;
  for (auto [m, flat] : {std::pair{&q, params_.data()}, std::pair{&q_target, target_.data()}}) {
    for (const torch::Tensor& p : (*m)->parameters()) {
      const torch::Tensor c = p.detach().contiguous();
      std::copy_n(c.data_ptr<float>(), c.numel(), flat);
      flat += c.numel();
    }
  }
}

void FastDqn::copy_to(DiscreteQ& q, DiscreteQ& q_target) const {
  torch::NoGradGuard no_grad;
  for (auto [m, flat] : {std::pair{&q, params_.data()}, std::pair{&q_target, target_.data()}}) {
    for (torch::Tensor p : (*m)->parameters()) {
      p.copy_(torch::from_blob(const_cast<float*>(flat), p.sizes(), torch::kFloat32));
      flat += p.numel();
    }
  }
}

void FastDqn::adam_to(torch::optim::Adam& opt, DiscreteQ& q) {
  auto& state = opt.state();
  const float* m = adam_.first_moment().data();
  const float* v = adam_.second_moment().data();
  for (const torch::Tensor& p : q->parameters()) {
    if (adam_.step() == 0) {  // torch's Adam has no state before its first step
      state.erase(state_key(p));
    } else {
      auto s = std::make_unique<torch::optim::AdamParamState>();
      s->step(adam_.step());
      s->exp_avg(torch::from_blob(const_cast<float*>(m), p.sizes(), torch::kFloat32).clone());
      s->exp_avg_sq(torch::from_blob(const_cast<float*>(v), p.sizes(), torch::kFloat32).clone());
      state[state_key(p)] = std::move(s);
    }
    m += p.numel();
    v += p.numel();
  }
}

void FastDqn::adam_from(torch::optim::Adam& opt, DiscreteQ& q) {
  const auto& state = opt.state();
  float* m = adam_.first_moment().data();
  float* v = adam_.second_moment().data();
  int64_t step = -1;
  for (const torch::Tensor& p : q->parameters()) {
    const auto it = state.find(state_key(p));
    const int64_t t = it == state.end() ? 0 : static_cast<const torch::optim::AdamParamState&>(*it->second).step();
    core::require(step < 0 || t == step, "FastDqn: the Adam state's parameters were stepped " + std::to_string(step) +
                                             " and " + std::to_string(t) + " times; expected one count");
    step = t;
    if (it == state.end()) {
      std::fill_n(m, p.numel(), 0.0f);
      std::fill_n(v, p.numel(), 0.0f);
    } else {
      const auto& s = static_cast<const torch::optim::AdamParamState&>(*it->second);
      const torch::Tensor em = s.exp_avg().contiguous(), ev = s.exp_avg_sq().contiguous();
      core::require(em.numel() == p.numel() && ev.numel() == p.numel(),
                    "FastDqn: the Adam state does not match the network's parameter shapes");
      std::copy_n(em.data_ptr<float>(), p.numel(), m);
      std::copy_n(ev.data_ptr<float>(), p.numel(), v);
    }
    m += p.numel();
    v += p.numel();
  }
  adam_.set_step(std::max<int64_t>(step, 0));
}

void FastDqn::greedy(const float* obs, int64_t n, int64_t* actions) {
  const float* q = net_.forward(params_.data(), obs, n);  // (n, actions)
  for (int64_t j = 0; j < n; ++j) actions[j] = argmax(q + j * n_, n_);
}

DqnStats FastDqn::train_step(const DqnBatchView& batch, float* td_abs) {
  const int64_t m = batch.size;
  grow(y_, m), grow(dout_, m * n_);
  a_star_.resize(static_cast<size_t>(m));
  // a* from the online network (Double DQN) or the target's, then y = R + discount · Q'(s', a*)
  if (config_.double_q) {
    const float* q_next = net_.forward(params_.data(), batch.next_obs, m);  // (m, n)
    for (int64_t j = 0; j < m; ++j) a_star_[j] = argmax(q_next + j * n_, n_);
  }
  const float* q_target = net_.forward(target_.data(), batch.next_obs, m);  // (m, n)
  for (int64_t j = 0; j < m; ++j) {
    const float* row = q_target + j * n_;
    const int64_t a = config_.double_q ? a_star_[j] : argmax(row, n_);
    y_[j] = batch.returns[j] + batch.discount[j] * row[a];
  }
  // the loss and dL/dQ(s, ·), nonzero only at the action taken
  const float* q = net_.forward(params_.data(), batch.obs, m);  // (m, n), kept for backward
  const bool huber = config_.loss == "huber";
  const float inv_m = 1.0f / static_cast<float>(m);
  std::fill_n(dout_.data(), m * n_, 0.0f);
  double loss = 0, values = 0;
  for (int64_t j = 0; j < m; ++j) {
    const int64_t a = static_cast<int64_t>(batch.actions[j]);
    core::require(a >= 0 && a < n_, "FastDqn: action " + std::to_string(a) + " of row " + std::to_string(j) +
                                        " is outside [0, " + std::to_string(n_) + ")");
    const float d = q[j * n_ + a] - y_[j], w = batch.weights[j], ad = std::abs(d);
    loss += static_cast<double>(w) * (huber ? (ad <= 1.0f ? 0.5 * d * d : ad - 0.5) : static_cast<double>(d) * d);
    values += q[j * n_ + a];
    dout_[j * n_ + a] = huber ? w * std::clamp(d, -1.0f, 1.0f) * inv_m : 2.0f * w * d * inv_m;
    td_abs[j] = ad;
  }
  net_.backward(params_.data(), dout_.data(), grad_.data(), nullptr);
  adam_.clip_and_step(params_.data(), grad_.data(), kNoClip, config_.learning_rate);
  return {loss / static_cast<double>(m), values / static_cast<double>(m)};
}

void FastDqn::polyak(double tau) {
  const float keep = static_cast<float>(1.0 - tau), take = static_cast<float>(tau);
  for (size_t i = 0; i < target_.size(); ++i) target_[i] = target_[i] * keep + take * params_[i];
}

}  // namespace rlpp::train::offpolicy
