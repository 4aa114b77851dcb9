// Fuzz entry: .safetensors files (nn::lm::read_safetensors).
#include "fuzz/fuzz_targets.h"
#include "fuzz/mem_file.h"
#include "rlpp/core/error.h"
#include "rlpp/nn/lm/safetensors.h"

namespace rlpp::fuzz {

void safetensors_header(const uint8_t* data, size_t size) {
  static MemFile file;
  const std::string& path = file.write(data, size);
  try {
    const nn::lm::SafetensorsContent content = nn::lm::read_safetensors(path);
    // Accepted: every tensor's bytes lie inside the file, so together they cannot exceed it.
    int64_t bytes = 0;
    for (const auto& [name, t] : content.tensors) bytes += t.numel() * static_cast<int64_t>(t.element_size());
    if (bytes > static_cast<int64_t>(size)) throw PropertyViolation("tensors hold more bytes than the file");
  } catch (const core::UserError&) {
  }
}

}  // namespace rlpp::fuzz
