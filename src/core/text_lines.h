// Line splitting shared by the readers of line-oriented run files (metrics.jsonl, metrics.csv).
#pragma once
#include <string_view>
#include <vector>

namespace rlpp::core {

struct TextLine {
  std::string_view text;  // without the '\n' (and without a trailing '\r')
  int number;             // 1-based
  bool terminated;        // false only for a last line without '\n': possibly torn by a crash
};

inline std::vector<TextLine> split_lines(std::string_view data) {
  std::vector<TextLine> lines;
  size_t pos = 0;
  int number = 1;
  while (pos < data.size()) {
    const size_t nl = data.find('\n', pos);
    const bool terminated = nl != std::string_view::npos;
    std::string_view text = data.substr(pos, (terminated ? nl : data.size()) - pos);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    lines.push_back({text, number++, terminated});
    pos = terminated ? nl + 1 : data.size();
  }
  return lines;
}

}  // namespace rlpp::core
