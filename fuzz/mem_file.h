// An in-memory file with a path, for readers that only take a path (read_safetensors,
// load_tokenizer): a memfd, reachable as /proc/self/fd/<n>, rewritten for every input so that
// fuzzing does not touch the disk.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace rlpp::fuzz {

class MemFile {
 public:
  MemFile();
  ~MemFile();
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;

  // Replaces the content with `data`; returns the path to open.
  const std::string& write(const uint8_t* data, size_t size);

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace rlpp::fuzz
