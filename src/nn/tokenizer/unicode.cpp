#include "nn/tokenizer/unicode.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>

#include "rlpp/core/error.h"

namespace rlpp::nn {

size_t utf8_length_at(std::string_view text, size_t pos, char32_t* cp) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char b0 = byte(pos);
  size_t len;
  char32_t c, min;
  if (b0 < 0x80) {
    if (cp) *cp = b0;
    return 1;
  } else if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2, c = b0 & 0x1F, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3, c = b0 & 0x0F, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4, c = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (pos + len > text.size()) return 0;
  for (size_t i = 1; i < len; ++i) {
    if ((byte(pos + i) & 0xC0) != 0x80) return 0;
    c = (c << 6) | (byte(pos + i) & 0x3F);
  }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  if (cp) *cp = c;
  return len;
}

void append_utf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool is_unicode_whitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

std::string nfc(std::string_view text) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* norm = icu::Normalizer2::getNFCInstance(status);
  core::require(U_SUCCESS(status), std::string("NFC normaliser unavailable (ICU): ") +
                                       u_errorName(status));
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    size_t run_end = pos;  // the well-formed run [pos, run_end)
    while (run_end < text.size()) {
      size_t len = utf8_length_at(text, run_end);
      if (len == 0) break;
      run_end += len;
    }
    if (run_end > pos) {
      icu::StringPiece run(text.data() + pos, static_cast<int32_t>(run_end - pos));
      if (norm->isNormalizedUTF8(run, status) && U_SUCCESS(status)) {
        out.append(text.data() + pos, run_end - pos);
      } else {
        status = U_ZERO_ERROR;
        icu::StringByteSink<std::string> sink(&out);
        norm->normalizeUTF8(0, run, sink, nullptr, status);
        core::require(U_SUCCESS(status), std::string("NFC normalisation failed (ICU): ") +
                                             u_errorName(status));
      }
      pos = run_end;
    } else {
      out.push_back(text[pos++]);  // a byte that is not UTF-8 passes through
    }
  }
  return out;
}

}  // namespace rlpp::nn
