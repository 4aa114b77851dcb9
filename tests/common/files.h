// Whole-file I/O for tests.
#pragma once
#include <fstream>
#include <sstream>
#include <string>

namespace rlpp::testing {

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_plain(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

}  // namespace rlpp::testing
