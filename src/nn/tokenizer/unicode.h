// UTF-8 helpers shared by the tokenizers: decoding one code point (tolerating invalid bytes),
// Unicode White_Space, and NFC normalisation (ICU).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rlpp::nn {

// Length in bytes of the well-formed UTF-8 sequence at text[pos] (1-4), or 0 if the bytes there
// are not well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
size_t utf8_length_at(std::string_view text, size_t pos, char32_t* cp = nullptr);
// Appends the UTF-8 encoding of cp.
void append_utf8(char32_t cp, std::string* out);
// Unicode White_Space (Rust's char::is_whitespace).
bool is_unicode_whitespace(char32_t cp);
// NFC of every well-formed run of `text`; bytes that are not well-formed UTF-8 are kept as they are.
std::string nfc(std::string_view text);

}  // namespace rlpp::nn
