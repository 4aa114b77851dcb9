#include "rlpp/serve/lm_backend.h"

#include <algorithm>
#include <filesystem>

#include "rlpp/core/config.h"
#include "rlpp/core/error.h"
#include "rlpp/nn/lm/pretrained.h"
#include "rlpp/nn/tokenizer/char_tokenizer.h"
#include "rlpp/sample/generator.h"
#include "rlpp/sample/samplers.h"
#include "rlpp/train/lm/lm_data.h"
#include "rlpp/train/lm/model_section.h"

namespace rlpp::serve {

namespace fs = std::filesystem;

namespace {

// OpenAI's order: the temperature rescales the logits, then the nucleus is taken of that
// distribution. Per-row temperatures come in through SampleContext (0 = greedy for that row).
class RowTemperature final : public sample::Sampler {
 public:
  torch::Tensor apply(const torch::Tensor& logits, const sample::SampleContext& ctx) const override {
    return sample::temperature_logits(logits, ctx.temperature);
  }
};

class FixedTopP final : public sample::Sampler {
 public:
  explicit FixedTopP(double p) : p_(p) {}
  torch::Tensor apply(const torch::Tensor& logits, const sample::SampleContext&) const override {
    return sample::top_p_logits(logits, p_);
  }

 private:
  double p_;
};

}  // namespace

LmBackend::LmBackend(nn::lm::CausalLm* model, std::shared_ptr<void> keep_alive,
                     std::unique_ptr<nn::Tokenizer> tokenizer, std::vector<int64_t> stop_tokens)
    : model_(model), keep_alive_(std::move(keep_alive)), tokenizer_(std::move(tokenizer)),
      stop_tokens_(std::move(stop_tokens)) {
  core::require(model_ != nullptr && tokenizer_ != nullptr, "LmBackend needs a model and a tokenizer");
}

int64_t LmBackend::context_length() const { return model_->lm_config().max_position_embeddings; }

std::vector<RowOutput> LmBackend::generate(const BatchSpec& batch) {
  const int64_t b_size = static_cast<int64_t>(batch.rows.size());
  if (b_size == 0) return {};
  std::vector<std::vector<int64_t>> prompts;
  std::vector<float> temps;
  int64_t budget = 1;
  for (const RowSpec& r : batch.rows) {
    prompts.push_back(r.prompt);
    temps.push_back(static_cast<float>(r.temperature));
    budget = std::max(budget, r.max_new_tokens);
  }
  sample::SamplerChain chain;
  chain.add("temperature", std::make_shared<RowTemperature>());
  if (batch.top_p < 1.0) chain.add("top_p", std::make_shared<FixedTopP>(batch.top_p));
  sample::GenerationOptions opts;
  opts.max_new_tokens = budget;
  opts.stop_tokens = stop_tokens_;
  opts.seed = static_cast<int64_t>(batch.seed & 0x7fffffffffffffffULL);
  // A fresh engine per batch: its cache is created under the same InferenceMode as the calls.
  c10::InferenceMode guard;
  sample::Generator gen(std::move(chain), opts);
  const sample::Generation g = gen.generate(*model_, prompts, torch::tensor(temps, torch::kFloat));

  const torch::Tensor tokens = g.tokens.to(torch::kCPU).contiguous();  // (B, N)
  const torch::Tensor lengths = g.lengths.to(torch::kCPU).contiguous();  // (B)
  const auto tok = tokens.accessor<int64_t, 2>();
  const auto len = lengths.accessor<int64_t, 1>();
  std::vector<RowOutput> out(b_size);
  for (int64_t b = 0; b < b_size; ++b) {
    const int64_t cap = batch.rows[b].max_new_tokens;
    const int64_t n = std::min(len[b], cap);
    for (int64_t t = 0; t < n; ++t) out[b].tokens.push_back(tok[b][t]);
    // a row cut to its own budget ran out of it, whatever the engine did after
    out[b].stopped = g.finish_reason[b] == sample::FinishReason::kStop && len[b] <= cap;
  }
  return out;
}

PromptFormat prompt_format_from_name(const std::string& name, bool add_bos) {
  PromptFormat f;
  f.add_bos = add_bos;
  if (name != "raw") {
    try {
      f.chat = nn::chat_format_from_name(name);
    } catch (const core::UserError&) {
      throw core::UserError("chat format '" + name + "' is not known (known: raw, plain, chatml, llama3)");
    }
  }
  return f;
}

std::string prompt_format_name(const PromptFormat& format) {
  return format.chat ? nn::chat_format_name(*format.chat) : "raw";
}

LoadedModel load_model(const std::string& path, const std::string& chat_format) {
  std::error_code ec;
  const fs::path given(path);
  core::require(fs::is_directory(given, ec), "--model: '" + path + "' is not a directory");
  fs::path model_dir = given;
  std::optional<bool> run_add_bos;
  if (fs::exists(given / "recipe.toml", ec)) {  // a run directory
    model_dir = given / "model";
    core::require(fs::is_directory(model_dir, ec), "'" + path + "' is a run without model/ (train it to the end)");
    const core::Recipe recipe = core::Recipe::load((given / "recipe.toml").string());
    train::lm::LmDataOptions data;
    core::Binder db = core::Binder::reader(recipe, "data");
    data.bind(db);
    run_add_bos = data.add_bos;
  }
  core::require(fs::exists(model_dir / "config.json", ec),
                "'" + model_dir.string() + "' has no config.json (name a run directory or a model directory)");

  train::lm::LmModelOptions mopts;
  mopts.from = model_dir.string();
  std::string source;
  std::unique_ptr<nn::Tokenizer> tok = train::lm::make_tokenizer({}, mopts, /*alphabet=*/"", &source);
  core::require(!source.empty(), "'" + model_dir.string() + "' has no tokenizer.json or rlpp_tokenizer.json");
  auto model = std::make_shared<nn::lm::TransformerLm>(train::lm::make_model(mopts, *tok));
  (*model)->eval();

  const bool is_char = dynamic_cast<const nn::CharTokenizer*>(tok.get()) != nullptr;
  const bool add_bos = run_add_bos.value_or(is_char) && tok->bos_id >= 0;
  LoadedModel out;
  if (chat_format == "auto") {
    const fs::path cfg = model_dir / "tokenizer_config.json";
    if (fs::exists(cfg, ec)) {
      out.format.chat = nn::chat_format_from_config(cfg.string());
    } else if (tok->token_to_id("<|user|>") && tok->token_to_id("<|assistant|>")) {
      out.format.chat = nn::ChatFormat::kPlain;
    }
    out.format.add_bos = add_bos;
  } else {
    out.format = prompt_format_from_name(chat_format, add_bos);
  }

  if (out.format.chat == nn::ChatFormat::kPlain && tok->eos_id >= 0) out.format.turn_end = tok->id_to_token(tok->eos_id);
  std::vector<int64_t> stops;
  if (tok->eos_id >= 0) stops.push_back(tok->eos_id);
  for (const char* t : {"<|im_end|>", "<|eot_id|>", "<|endoftext|>", "<|user|>"}) {
    if (auto id = tok->token_to_id(t)) {
      if (std::find(stops.begin(), stops.end(), *id) == stops.end()) stops.push_back(*id);
    }
  }
  out.name = (given.filename().empty() ? given.parent_path() : given).filename().string();
  nn::lm::CausalLm* raw = model->get();
  out.backend = std::make_shared<LmBackend>(raw, model, std::move(tok), std::move(stops));
  return out;
}

}  // namespace rlpp::serve
