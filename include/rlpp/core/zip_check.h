// Integrity of zip archives (LibTorch's checkpoint format is a zip of stored, uncompressed
// entries). LibTorch's reader does not check the CRC-32 that every entry carries, so a checkpoint
// with flipped bytes inside a tensor loads silently; this check reads the central directory and
// recomputes each entry's CRC-32 (ISO 3309 / zlib polynomial 0xEDB88320).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace rlpp::core {

// CRC-32 of `bytes` (the zip/zlib one), continuing from `crc` (0 to start).
uint32_t crc32(std::string_view bytes, uint32_t crc = 0);

// "" when `archive` is a well-formed zip whose every entry matches its recorded CRC-32 and size;
// otherwise what is wrong, naming the entry (e.g. "entry 'archive/data/3': CRC-32 mismatch").
// Compressed entries (method 8) are not inflated: only stored entries (method 0) are checked.
std::string zip_integrity_error(std::string_view archive);

}  // namespace rlpp::core
