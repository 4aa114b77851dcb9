// GPT-2's byte-level alphabet (bytes_to_unicode in openai/gpt-2 encoder.py): every byte gets a
// printable character so that BPE vocabularies never contain raw control bytes or spaces. Printable
// Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') map to themselves, the other 68 bytes to U+0100,
// U+0101, ... in byte order (so ' ' -> 'Ġ' U+0120, '\n' -> 'Ċ' U+010A).
#pragma once
#include <string>
#include <string_view>

namespace rlpp::nn {

// UTF-8 of the character that stands for `byte`.
const std::string& byte_level_char(unsigned char byte);
// Each byte of `bytes` replaced by its byte-level character.
std::string to_byte_level(std::string_view bytes);
// Inverse of to_byte_level; false (out untouched) when `text` has a character outside the alphabet.
bool from_byte_level(std::string_view text, std::string* out);

}  // namespace rlpp::nn
