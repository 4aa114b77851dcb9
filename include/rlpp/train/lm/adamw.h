// AdamW for language models: decoupled weight decay on matrices and embeddings (dim >= 2), none on
// norms and biases — the usual split (GPT-2/3, Llama recipes).
#pragma once
#include <torch/torch.h>

#include <memory>

namespace rlpp::train::lm {

struct AdamWSettings {
  double lr = 1e-3;
  double weight_decay = 0.0;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
};

std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<torch::Tensor>& params, const AdamWSettings& s);

// Sets the learning rate of every parameter group.
void set_learning_rate(torch::optim::AdamW& opt, double lr);

}  // namespace rlpp::train::lm
