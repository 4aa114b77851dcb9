#include "rlpp/core/zip_check.h"

#include <array>
#include <cstring>

namespace rlpp::core {

namespace {

std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t n = 0; n < 256; ++n) {
    uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1U) ? 0xEDB88320U ^ (c >> 1) : c >> 1;
    t[n] = c;
  }
  return t;
}

// Little-endian fields; `at` + width is checked by the caller.
uint16_t u16(std::string_view s, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(s[at]) | (static_cast<uint8_t>(s[at + 1]) << 8));
}
uint32_t u32(std::string_view s, size_t at) { return u16(s, at) | (static_cast<uint32_t>(u16(s, at + 2)) << 16); }
uint64_t u64(std::string_view s, size_t at) { return u32(s, at) | (static_cast<uint64_t>(u32(s, at + 4)) << 32); }

constexpr uint32_t kLocalHeader = 0x04034b50, kCentralHeader = 0x02014b50, kEndOfCentral = 0x06054b50,
                   kZip64EndOfCentral = 0x06064b50, kZip64Locator = 0x07064b50;

}  // namespace

uint32_t crc32(std::string_view bytes, uint32_t crc) {
  static const std::array<uint32_t, 256> table = make_crc_table();
  crc = ~crc;
  for (char ch : bytes) crc = table[(crc ^ static_cast<uint8_t>(ch)) & 0xFFU] ^ (crc >> 8);
  return ~crc;
}

std::string zip_integrity_error(std::string_view z) {
  const size_t n = z.size();
  // The end-of-central-directory record: 22 bytes plus a comment of at most 65535 bytes.
  if (n < 22) return "too short to be a zip archive (" + std::to_string(n) + " bytes)";
  size_t eocd = std::string_view::npos;
  const size_t lowest = n >= 22 + 65535 ? n - 22 - 65535 : 0;
  for (size_t i = n - 22 + 1; i-- > lowest;) {
    if (u32(z, i) == kEndOfCentral) {
      eocd = i;
      break;
    }
  }
  if (eocd == std::string_view::npos) return "no end-of-central-directory record (truncated file?)";
  uint64_t entries = u16(z, eocd + 10);
  uint64_t cd_size = u32(z, eocd + 12);
  uint64_t cd_offset = u32(z, eocd + 16);
  if (entries == 0xFFFF || cd_size == 0xFFFFFFFFULL || cd_offset == 0xFFFFFFFFULL) {  // zip64
    if (eocd < 20 || u32(z, eocd - 20) != kZip64Locator) return "zip64 locator missing";
    const uint64_t rec = u64(z, eocd - 20 + 8);
    if (rec + 56 > n || u32(z, rec) != kZip64EndOfCentral) return "zip64 end-of-central-directory record damaged";
    entries = u64(z, rec + 32);
    cd_size = u64(z, rec + 40);
    cd_offset = u64(z, rec + 48);
  }
  if (cd_offset > n || cd_size > n - cd_offset) return "central directory lies outside the file";
  size_t p = cd_offset;
  for (uint64_t e = 0; e < entries; ++e) {
    if (p + 46 > n || u32(z, p) != kCentralHeader) return "central directory entry " + std::to_string(e) + " damaged";
    const uint16_t method = u16(z, p + 10);
    const uint32_t crc = u32(z, p + 16);
    uint64_t comp = u32(z, p + 20), size = u32(z, p + 24);
    const size_t name_len = u16(z, p + 28), extra_len = u16(z, p + 30), comment_len = u16(z, p + 32);
    uint64_t local = u32(z, p + 42);
    if (p + 46 + name_len + extra_len + comment_len > n) return "central directory entry " + std::to_string(e) + " damaged";
    const std::string name(z.substr(p + 46, name_len));
    // zip64 extra field (id 1): the 64-bit values of whichever fields are saturated, in order.
    for (size_t x = p + 46 + name_len; x + 4 <= p + 46 + name_len + extra_len;) {
      const uint16_t id = u16(z, x), len = u16(z, x + 2);
      if (id == 1) {
        size_t q = x + 4;
        const size_t end = x + 4 + len;
        if (size == 0xFFFFFFFFULL && q + 8 <= end) size = u64(z, q), q += 8;
        if (comp == 0xFFFFFFFFULL && q + 8 <= end) comp = u64(z, q), q += 8;
        if (local == 0xFFFFFFFFULL && q + 8 <= end) local = u64(z, q);
      }
      x += 4 + static_cast<size_t>(len);
    }
    if (local + 30 > n || u32(z, local) != kLocalHeader) return "entry '" + name + "': local header damaged";
    const uint64_t data = local + 30 + u16(z, local + 26) + u16(z, local + 28);
    if (data > n || comp > n - data) return "entry '" + name + "': data runs past the end of the file";
    if (method == 0) {
      if (comp != size) return "entry '" + name + "': stored sizes disagree";
      if (crc32(z.substr(data, size)) != crc) return "entry '" + name + "': CRC-32 mismatch";
    }
    p += 46 + name_len + extra_len + comment_len;
  }
  return "";
}

}  // namespace rlpp::core
