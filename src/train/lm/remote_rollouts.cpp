#include "rlpp/train/lm/remote_rollouts.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <vector>

#include "rlpp/core/error.h"

namespace rlpp::train::lm {

RolloutLink::RolloutLink(dist::Comm* comm) : comm_(comm) {
  core::require(comm != nullptr && comm->size() == 2,
                "the rank rollout worker needs a process group of exactly 2 ranks (learner and worker)");
}

void RolloutLink::weights(torch::nn::Module* module) {
  const auto t0 = std::chrono::steady_clock::now();
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> all;
  for (const auto& p : module->parameters()) all.push_back(p);
  for (const auto& b : module->buffers()) all.push_back(b);
  // One flat buffer per dtype, in first-seen order (the same on both ranks: one architecture).
  std::vector<torch::ScalarType> order;
  std::map<torch::ScalarType, std::vector<torch::Tensor>> by_type;
  for (const auto& t : all) {
    if (by_type.find(t.scalar_type()) == by_type.end()) order.push_back(t.scalar_type());
    by_type[t.scalar_type()].push_back(t);
  }
  weight_bytes_ = 0;
  const bool learner = comm_->rank() == kLearner;
  for (torch::ScalarType type : order) {
    std::vector<torch::Tensor>& ts = by_type[type];
    int64_t n = 0;
    for (const auto& t : ts) n += t.numel();
    torch::Tensor flat = torch::empty({n}, torch::TensorOptions().dtype(type));  // (n)
    int64_t at = 0;
    if (learner) {
      for (const auto& t : ts) {
        flat.slice(0, at, at + t.numel()).copy_(t.detach().reshape({-1}));
        at += t.numel();
      }
    }
    comm_->broadcast(flat, kLearner);
    if (!learner) {
      at = 0;
      for (auto& t : ts) {
        t.copy_(flat.slice(0, at, at + t.numel()).view(t.sizes()));
        at += t.numel();
      }
    }
    weight_bytes_ += n * static_cast<int64_t>(flat.element_size());
  }
  wait_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string RolloutLink::batches(std::string message) {
  const auto t0 = std::chrono::steady_clock::now();
  comm_->broadcast_bytes(message, kWorker);
  batch_bytes_ = static_cast<int64_t>(message.size()) + 8;  // the length travels first
  wait_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return message;
}

BatchRange worker_batches(int64_t step, int64_t next, int64_t max_staleness, int64_t limit, bool before_first) {
  const int64_t end = std::min(step + max_staleness + (before_first ? 0 : 1), limit);
  return {next, std::max(next, end)};
}

}  // namespace rlpp::train::lm
