// load_tokenizer: picks the tokenizer class from the file's content.
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "nn/tokenizer/json_input.h"
#include "rlpp/core/error.h"
#include "rlpp/nn/tokenizer/bpe_tokenizer.h"
#include "rlpp/nn/tokenizer/char_tokenizer.h"
#include "rlpp/nn/tokenizer/tokenizer.h"

namespace rlpp::nn {

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  core::require(static_cast<bool>(in), "tokenizer file '" + path + "' cannot be opened");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string where = "tokenizer file '" + path + "'";
  const nlohmann::json doc = parse_json(ss.str(), where);
  if (doc.is_object() && doc.contains("format")) return CharTokenizer::from_json(doc, where);
  if (doc.is_object() && doc.contains("model")) {
    auto tok = BpeTokenizer::from_json(doc, where);
    tok->read_config_next_to(path);
    return tok;
  }
  throw core::UserError(where + ": neither a Hugging Face tokenizer.json (no \"model\") nor an "
                        "rlpp character tokenizer (no \"format\")");
}

}  // namespace rlpp::nn
