#include "rlpp/nn/tokenizer/byte_level.h"

#include <array>
#include <cstdint>

#include "nn/tokenizer/unicode.h"

namespace rlpp::nn {

namespace {
struct Alphabet {
  std::array<std::string, 256> chars;  // byte -> UTF-8 of its character
  std::array<int16_t, 0x144> bytes;    // code point -> byte, -1 outside the alphabet

  Alphabet() {
    bytes.fill(-1);
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      char32_t cp = printable ? static_cast<char32_t>(b) : next++;
      append_utf8(cp, &chars[b]);
      bytes[cp] = static_cast<int16_t>(b);
    }
  }
};
const Alphabet& alphabet() {
  static const Alphabet a;
  return a;
}
}  // namespace

const std::string& byte_level_char(unsigned char byte) { return alphabet().chars[byte]; }

std::string to_byte_level(std::string_view bytes) {
  const Alphabet& a = alphabet();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += a.chars[static_cast<unsigned char>(c)];
  return out;
}

bool from_byte_level(std::string_view text, std::string* out) {
  const Alphabet& a = alphabet();
  std::string bytes;
  bytes.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    char32_t cp = 0;
    size_t len = utf8_length_at(text, pos, &cp);
    if (len == 0 || cp >= a.bytes.size() || a.bytes[cp] < 0) return false;
    bytes.push_back(static_cast<char>(a.bytes[cp]));
    pos += len;
  }
  *out += bytes;
  return true;
}

}  // namespace rlpp::nn
