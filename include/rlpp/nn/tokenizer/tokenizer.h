// Tokenizer interface shared by the byte-level BPE tokenizer (Hugging Face tokenizer.json) and the
// small character tokenizer used by rlpp's generated tasks.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rlpp::nn {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Text -> ids. Special tokens written literally in `text` (e.g. "<|im_end|>") map to their ids.
  // add_special: prepend/append what the tokenizer's post-processor adds (e.g. BOS), if anything.
  virtual std::vector<int64_t> encode(std::string_view text, bool add_special = false) const = 0;
  // Ids -> text; skip_special drops special tokens. Byte-exact inverse of encode for any input.
  virtual std::string decode(const std::vector<int64_t>& ids, bool skip_special = false) const = 0;

  virtual int64_t vocab_size() const = 0;
  virtual std::optional<int64_t> token_to_id(std::string_view token) const = 0;
  virtual std::string id_to_token(int64_t id) const = 0;

  // -1 where the tokenizer has none.
  int64_t bos_id = -1;
  int64_t eos_id = -1;
  int64_t pad_id = -1;
};

// Loads `path`: a Hugging Face tokenizer.json (byte-level BPE) or an rlpp character tokenizer file
// (chosen by content). Throws core::UserError on a malformed file.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);

}  // namespace rlpp::nn
