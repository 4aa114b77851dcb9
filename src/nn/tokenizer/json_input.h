// The JSON files the tokenizers read (tokenizer.json, tokenizer_config.json, rlpp's character
// tokenizer): a syntax error, or a field of a type no explicit check caught, becomes a UserError that
// names the file.
#pragma once
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "rlpp/core/error.h"

namespace rlpp::nn {

// `text` parsed, or UserError "<where>: not valid JSON (...)".
inline nlohmann::json parse_json(std::string_view text, const std::string& where) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw core::UserError(where + ": not valid JSON (" + e.what() + ")");
  }
}

// build(), with nlohmann's type errors turned into UserError "<where>: malformed (...)".
template <class Build>
auto with_json_errors(const std::string& where, Build&& build) -> decltype(build()) {
  try {
    return build();
  } catch (const nlohmann::json::exception& e) {
    throw core::UserError(where + ": malformed (" + e.what() + ")");
  }
}

}  // namespace rlpp::nn
