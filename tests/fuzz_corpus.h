// Runs the committed fuzz corpus (fuzz/corpus/<target>/) through a fuzz entry point
// (fuzz/fuzz_targets.h): every file must be accepted or rejected with the documented error.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace rlpp::test {

inline void run_fuzz_corpus(const std::string& target, void (*entry)(const uint8_t*, size_t)) {
  const std::filesystem::path dir = std::filesystem::path(RLPP_SOURCE_DIR) / "fuzz" / "corpus" / target;
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(e.path(), std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    try {
      entry(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    } catch (const std::exception& ex) {
      ADD_FAILURE() << e.path().string() << ": " << ex.what();
    }
    ++files;
  }
  EXPECT_GE(files, 3) << "the corpus of " << target << " lost its seeds";
}

}  // namespace rlpp::test
