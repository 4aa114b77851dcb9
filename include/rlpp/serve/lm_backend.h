// An rlpp language model (nn::lm::CausalLm) behind the Backend interface: one batch = one call of
// the generation engine (sample/generator.h) with per-row temperatures, the batch's top-p and seed,
// and max_new_tokens = the largest budget of the batch; rows with a smaller budget are cut to it
// afterwards, which is exact because a row's tokens never depend on what follows them.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rlpp/nn/lm/causal_lm.h"
#include "rlpp/nn/tokenizer/chat_template.h"
#include "rlpp/serve/backend.h"

namespace rlpp::serve {

class LmBackend final : public Backend {
 public:
  // stop_tokens end a row (the model's eos_token_id ends one too). `keep_alive` owns the model
  // when `model` points into it (e.g. a TransformerLm holder); may be null.
  LmBackend(nn::lm::CausalLm* model, std::shared_ptr<void> keep_alive, std::unique_ptr<nn::Tokenizer> tokenizer,
            std::vector<int64_t> stop_tokens);

  std::vector<RowOutput> generate(const BatchSpec& batch) override;
  const nn::Tokenizer& tokenizer() const override { return *tokenizer_; }
  int64_t context_length() const override;
  const std::vector<int64_t>& stop_tokens() const { return stop_tokens_; }

 private:
  nn::lm::CausalLm* model_;
  std::shared_ptr<void> keep_alive_;
  std::unique_ptr<nn::Tokenizer> tokenizer_;
  std::vector<int64_t> stop_tokens_;
};

// How messages become a prompt: a chat format, or raw (the contents of the messages concatenated,
// no role markers: for models trained on bare task prompts such as "12+34=").
struct PromptFormat {
  std::optional<nn::ChatFormat> chat;  // nullopt = raw
  bool add_bos = false;                // prepend the tokenizer's BOS token
  // Appended after every assistant turn of the history. The plain format has no end-of-turn marker:
  // a turn the model generated ended with its stop token (the tokenizer's end token), so the history
  // is rendered with that token's text after each assistant turn, as in SFT and RL rollouts
  // (env/agent/agent_task.h). chatml and llama3 close turns themselves: "".
  std::string turn_end;
};
// "raw" | "plain" | "chatml" | "llama3"; anything else -> core::UserError listing them.
PromptFormat prompt_format_from_name(const std::string& name, bool add_bos);
std::string prompt_format_name(const PromptFormat& format);

// A model found on disk, ready to serve.
struct LoadedModel {
  std::shared_ptr<LmBackend> backend;
  std::string name;      // default model id: the run (or model) directory's name
  PromptFormat format;   // the detected prompt format (see load_model)
};

// `path`: a run directory (recipe.toml + model/) or a Hugging Face model directory (config.json,
// safetensors, tokenizer.json or rlpp_tokenizer.json). chat_format "auto": the chat template of
// tokenizer_config.json when recognised, else "plain" when the tokenizer has <|user|> and
// <|assistant|> tokens, else "raw". BOS: a run's data.add_bos, else on for character tokenizers.
// Stop tokens: eos, and the turn-ending tokens of the format (<|im_end|>, <|eot_id|>, <|user|>)
// that the tokenizer has. Throws core::UserError naming the path on anything missing or malformed.
LoadedModel load_model(const std::string& path, const std::string& chat_format = "auto");

}  // namespace rlpp::serve
