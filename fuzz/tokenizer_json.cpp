// Fuzz entry: tokenizer files (nn::load_tokenizer: tokenizer.json or rlpp's character tokenizer).
#include <algorithm>

#include "fuzz/fuzz_targets.h"
#include "fuzz/mem_file.h"
#include "rlpp/core/error.h"
#include "rlpp/nn/tokenizer/tokenizer.h"

namespace rlpp::fuzz {

void tokenizer_json(const uint8_t* data, size_t size) {
  static MemFile file;
  const std::string& path = file.write(data, size);
  std::unique_ptr<nn::Tokenizer> tok;
  try {
    tok = nn::load_tokenizer(path);
  } catch (const core::UserError&) {
    return;
  }
  // A tokenizer that loaded must work: the file's own text (its tokens, its special tokens) as
  // input, and the first ids decoded one by one. Unknown characters and ids are UserErrors.
  const std::string_view text(reinterpret_cast<const char*>(data), std::min<size_t>(size, 512));
  for (bool add_special : {false, true}) {
    try {
      const std::vector<int64_t> ids = tok->encode(text, add_special);
      const std::string back = tok->decode(ids, /*skip_special=*/add_special);
      (void)back;
    } catch (const core::UserError&) {
    }
  }
  const int64_t n = std::min<int64_t>(tok->vocab_size(), 64);
  for (int64_t id = 0; id < n; ++id) {
    try {
      (void)tok->decode({id});
      (void)tok->token_to_id(tok->id_to_token(id));
    } catch (const core::UserError&) {
    }
  }
}

}  // namespace rlpp::fuzz
