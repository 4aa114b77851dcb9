#include "rlpp/search/value_head.h"

#include "rlpp/core/error.h"
#include "rlpp/search/sequences.h"

namespace rlpp::search {

ValueHeadImpl::ValueHeadImpl(int64_t hidden_size) {
  core::require(hidden_size > 0, "value head: hidden_size must be > 0, got " + std::to_string(hidden_size));
  proj_ = register_module("proj", torch::nn::Linear(hidden_size, 1));
  // Zero start: an untrained head values every state 0 (no preference), as a fresh critic should.
  torch::NoGradGuard ng;
  proj_->weight.zero_();
  proj_->bias.zero_();
}

torch::Tensor ValueHeadImpl::forward(const torch::Tensor& hidden) { return proj_->forward(hidden).squeeze(-1); }

torch::Tensor last_token_values(ValueHead& head, const torch::Tensor& hidden, const torch::Tensor& attention) {
  core::require(hidden.dim() == 3, "value head: hidden must be (B, T, H)");
  const torch::Tensor v = head->forward(hidden);  // (B, T)
  if (!attention.defined()) return v.select(1, v.size(1) - 1);
  core::require(attention.sizes() == v.sizes(), "value head: attention must be (B, T) like hidden's first two dims");
  // Last real position of each row = max over t of t·[attention].
  const torch::Tensor pos = torch::arange(v.size(1), torch::TensorOptions().dtype(torch::kLong).device(v.device()));
  const torch::Tensor last = (pos.unsqueeze(0) * attention.to(torch::kLong)).amax(1);  // (B)
  return v.gather(1, last.unsqueeze(1)).squeeze(1);
}

torch::Tensor sequence_values(nn::lm::TransformerLm& model, ValueHead& head, const std::vector<const Tokens*>& sequences) {
  core::require(!sequences.empty(), "value head: no sequences");
  auto [tokens, att] = pad_rows(sequences);                      // (B, L), right-padded
  const torch::Tensor hidden = model->hidden_states(tokens, att);  // (B, L, H)
  return last_token_values(head, hidden, att);                    // (B)
}

SequenceValueFn tanh_value_fn(nn::lm::TransformerLm& model, ValueHead& head) {
  return [&model, &head](const std::vector<Tokens>& seqs) {
    torch::NoGradGuard ng;
    model->eval();
    std::vector<const Tokens*> rows;
    for (const Tokens& s : seqs) rows.push_back(&s);
    const torch::Tensor v = torch::tanh(sequence_values(model, head, rows)).to(torch::kDouble).contiguous();  // (B)
    return std::vector<double>(v.data_ptr<double>(), v.data_ptr<double>() + v.numel());
  };
}

}  // namespace rlpp::search
