// fast_token_logprobs(): the TeacherForcedPass (fast_llama_pass.h) behind a torch autograd Function
// whose inputs are the model's parameters (llama_parameters order) and whose outputs are logp and
// entropy (B, L).
#include "rlpp/nn/lm/fast_logprobs.h"

#include "nn/lm/fast_llama_pass.h"
#include "rlpp/core/error.h"
#include "rlpp/nn/lm/llama_weights.h"

namespace rlpp::nn::lm {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class FastLogprobsFunction : public torch::autograd::Function<FastLogprobsFunction> {
 public:
  // params: llama_parameters(model); pass: prepared for this batch. -> {logp (B, L), entropy (B, L)}
  static variable_list forward(AutogradContext* ctx, at::TensorList params,
                               const c10::intrusive_ptr<fast::TeacherForcedPass>& pass) {
    const std::vector<torch::Tensor> p(params.begin(), params.end());
    torch::Tensor logp = torch::empty({pass->batch(), pass->length()}, torch::kFloat);
    torch::Tensor entropy = torch::empty({pass->batch(), pass->length()}, torch::kFloat);
    pass->forward(bind_llama(pass->config(), p), logp.data_ptr<float>(), entropy.data_ptr<float>());
    // Saved so that autograd refuses a backward after an in-place change of a parameter.
    ctx->save_for_backward(p);
    ctx->saved_data["pass"] = c10::IValue::make_capsule(pass);
    return {logp, entropy};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const variable_list params = ctx->get_saved_variables();
    auto pass = c10::static_intrusive_pointer_cast<fast::TeacherForcedPass>(ctx->saved_data["pass"].toCapsule());
    const LmConfig& cfg = pass->config();
    variable_list out;
    out.reserve(params.size() + 1);
    for (const auto& t : params) out.push_back(torch::zeros_like(t));
    const torch::Tensor g_logp = grads[0].to(torch::kFloat).contiguous();     // (B, L)
    const torch::Tensor g_entropy = grads[1].to(torch::kFloat).contiguous();  // (B, L)
    // The pass frees its activations here; a second backward through the same graph is refused
    // by the pass (core::UserError) rather than recomputed.
    pass->backward(bind_llama(cfg, params), bind_llama(cfg, out), g_logp.data_ptr<float>(),
                   g_entropy.data_ptr<float>());
    out.emplace_back();  // no gradient for `pass`
    return out;
  }
};

}  // namespace

TokenLogProbs fast_token_logprobs(TransformerLm& model, const torch::Tensor& tokens, const torch::Tensor& attention,
                                  double temperature) {
  const char* where = "fast_token_logprobs";
  const std::string why = fast_path_unsupported(model);
  if (!why.empty()) throw core::UserError(std::string(where) + ": the fast path cannot run this model: " + why);
  core::require(temperature > 0, std::string(where) + ": temperature must be positive, got " + std::to_string(temperature));
  if (!tokens.defined() || tokens.dim() != 2 || tokens.scalar_type() != torch::kLong || !tokens.device().is_cpu()) {
    throw core::UserError(std::string(where) + ": tokens must be a (B, L) int64 CPU tensor");
  }
  if (attention.defined() && (attention.dim() != 2 || attention.sizes() != tokens.sizes())) {
    throw core::UserError(std::string(where) + ": attention must have the shape of tokens (B, L)");
  }
  const LmConfig& cfg = model->config();
  const int64_t B = tokens.size(0), L = tokens.size(1);
  if (tokens.numel() > 0) {
    const int64_t lo = tokens.min().item<int64_t>(), hi = tokens.max().item<int64_t>();
    if (lo < 0 || hi >= cfg.vocab_size) {
      throw core::UserError(std::string(where) + ": token ids must lie in [0, " + std::to_string(cfg.vocab_size) +
                            "), got " + std::to_string(lo < 0 ? lo : hi));
    }
  }
  if (L < 2 || B == 0) {  // nothing is scored (as token_logprobs: zeros, no graph)
    const torch::Tensor z = torch::zeros({B, L}, torch::kFloat);
    return {z, z.clone()};
  }
  const std::vector<torch::Tensor> params = llama_parameters(model);
  auto pass = c10::make_intrusive<fast::TeacherForcedPass>(cfg, tokens, attention, temperature);
  bool needs_grad = false;
  for (const auto& p : params) needs_grad = needs_grad || p.requires_grad();
  if (!torch::GradMode::is_enabled() || !needs_grad) {
    torch::Tensor logp = torch::empty({B, L}, torch::kFloat);
    torch::Tensor entropy = torch::empty({B, L}, torch::kFloat);
    pass->forward(bind_llama(cfg, params), logp.data_ptr<float>(), entropy.data_ptr<float>());
    return {logp, entropy};
  }
  const variable_list out = FastLogprobsFunction::apply(at::TensorList(params), pass);
  return {out[0], out[1]};
}

}  // namespace rlpp::nn::lm
