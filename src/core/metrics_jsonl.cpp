#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/text_lines.h"
#include "rlpp/core/error.h"
#include "rlpp/core/fs.h"
#include "rlpp/core/metrics.h"

namespace rlpp::core {

// Keeps the lines of an existing metrics.jsonl whose step is <= resume_step.
static std::string kept_jsonl_rows(const std::string& path, int64_t resume_step) {
  const std::string data = read_file(path);
  std::string kept;
  for (const TextLine& line : split_lines(data)) {
    if (line.text.empty()) continue;
    nlohmann::json row;
    try {
      row = nlohmann::json::parse(line.text);
    } catch (const nlohmann::json::parse_error& e) {
      if (!line.terminated) break;  // the row being written when the run stopped
      throw UserError(path + ":" + std::to_string(line.number) + ": malformed JSON line: " + e.what());
    }
    const auto it = row.is_object() ? row.find("step") : row.end();
    if (it == row.end() || !it->is_number_integer()) {
      throw UserError(path + ":" + std::to_string(line.number) + ": expected an object with an integer \"step\"");
    }
    if (it->get<int64_t>() > resume_step) continue;
    kept.append(line.text);
    kept.push_back('\n');
  }
  return kept;
}

JsonlSink::JsonlSink(const std::string& path, bool resume, int64_t resume_step) : path_(path) {
  const char* mode = "wb";
  if (resume && std::filesystem::exists(path)) {
    atomic_write_file(path, kept_jsonl_rows(path, resume_step));
    mode = "ab";
  }
  file_ = std::fopen(path.c_str(), mode);
  if (!file_) throw UserError("cannot open '" + path + "' for writing: " + std::strerror(errno));
}

JsonlSink::~JsonlSink() {
  if (file_) std::fclose(file_);
}

void JsonlSink::write(int64_t step, const MetricRow& row) {
  nlohmann::ordered_json j;
  j["step"] = step;
  for (const auto& [name, value] : row) {
    if (std::isfinite(value)) {
      j[name] = value;
    } else {
      j[name] = nullptr;
    }
  }
  const std::string line = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  // One fwrite per line: a reader (or a crash) sees whole lines plus at most one torn tail.
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
    throw UserError("cannot write '" + path_ + "': " + std::strerror(errno));
  }
}

}  // namespace rlpp::core
