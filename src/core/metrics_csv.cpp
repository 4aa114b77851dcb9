#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include "core/text_lines.h"
#include "rlpp/core/error.h"
#include "rlpp/core/fs.h"
#include "rlpp/core/metrics.h"

namespace rlpp::core {

// RFC 4180 quoting: a field holding a comma, quote or line break is quoted, quotes doubled.
static std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// Splits one CSV line into fields; false when a quoted field is not closed.
static bool parse_csv_line(std::string_view line, std::vector<std::string>* fields) {
  fields->assign(1, std::string());
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields->back().push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields->back().push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields->emplace_back();
    } else {
      fields->back().push_back(c);
    }
  }
  return !quoted;
}

// Shortest text that reads back as the same double ("0.1", "1e-05", "nan", "-inf").
static std::string csv_number(double v) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

static std::string csv_line(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out.push_back(',');
    out += csv_field(fields[i]);
  }
  out.push_back('\n');
  return out;
}

CsvSink::CsvSink(const std::string& path, bool resume, int64_t resume_step) : path_(path) {
  if (!resume || !std::filesystem::exists(path)) {
    file_ = std::fopen(path.c_str(), "wb");
    if (!file_) throw UserError("cannot open '" + path + "' for writing: " + std::strerror(errno));
    return;
  }
  const std::string data = read_file(path);
  const std::vector<TextLine> lines = split_lines(data);
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  for (const TextLine& line : lines) {
    std::vector<std::string> fields;
    const auto where = [&] { return path + ":" + std::to_string(line.number) + ": "; };
    const bool parsed = parse_csv_line(line.text, &fields);
    if (line.number == 1) {
      if (!line.terminated) break;  // a torn header: nothing was kept
      if (!parsed || fields.empty() || fields[0] != "step") throw UserError(where() + "expected a header starting with 'step'");
      header = fields;
      continue;
    }
    if (line.text.empty()) continue;
    int64_t step = 0;
    const std::string& s = fields[0];
    const auto res = std::from_chars(s.data(), s.data() + s.size(), step);
    const bool ok = parsed && fields.size() == header.size() && res.ec == std::errc() && res.ptr == s.data() + s.size();
    if (!ok) {
      if (!line.terminated) break;  // the row being written when the run stopped
      throw UserError(where() + "malformed row: expected " + std::to_string(header.size()) +
                      " fields with an integer step first");
    }
    if (step <= resume_step) rows.push_back(std::move(fields));
  }
  // Columns the interrupted attempt added after the checkpoint have no value in the kept rows.
  std::vector<size_t> keep;
  for (size_t c = 1; c < header.size(); ++c) {
    bool filled = false;
    for (const auto& r : rows) filled = filled || !r[c].empty();
    if (filled) keep.push_back(c);
  }
  std::string out;
  if (!rows.empty()) {
    std::vector<std::string> fields{"step"};
    for (size_t c : keep) {
      columns_.push_back(header[c]);
      index_[header[c]] = columns_.size() - 1;
      fields.push_back(header[c]);
    }
    out += csv_line(fields);
    has_header_ = true;
    for (const auto& r : rows) {
      fields.assign(1, r[0]);
      for (size_t c : keep) fields.push_back(r[c]);
      out += csv_line(fields);
    }
  }
  atomic_write_file(path, out);
  reopen_for_append();
}

CsvSink::~CsvSink() {
  if (file_) std::fclose(file_);
}

void CsvSink::reopen_for_append() {
  if (file_) std::fclose(file_);
  file_ = std::fopen(path_.c_str(), "ab");
  if (!file_) throw UserError("cannot open '" + path_ + "' for writing: " + std::strerror(errno));
}

// Appends `added` columns to the header and an empty cell for each to every written row.
void CsvSink::widen(const std::vector<std::string>& added) {
  if (std::fflush(file_) != 0) throw UserError("cannot write '" + path_ + "': " + std::strerror(errno));
  const std::string data = read_file(path_);
  const std::string cells(added.size(), ',');
  std::string out;
  for (const TextLine& line : split_lines(data)) {
    out.append(line.text);
    if (line.number == 1) {
      for (const auto& name : added) out += "," + csv_field(name);
    } else {
      out += cells;
    }
    out.push_back('\n');
  }
  atomic_write_file(path_, out);
  reopen_for_append();
}

void CsvSink::write(int64_t step, const MetricRow& row) {
  std::vector<std::string> added;
  for (const auto& kv : row) {
    if (!index_.count(kv.first)) {
      index_[kv.first] = columns_.size();
      columns_.push_back(kv.first);
      added.push_back(kv.first);
    }
  }
  std::string out;
  if (!has_header_) {  // the first row defines the header
    std::vector<std::string> header{"step"};
    header.insert(header.end(), columns_.begin(), columns_.end());
    out = csv_line(header);
    has_header_ = true;
  } else if (!added.empty()) {
    widen(added);
  }
  std::vector<std::string> fields(columns_.size() + 1);
  fields[0] = std::to_string(step);
  for (const auto& [name, value] : row) fields[1 + index_.at(name)] = csv_number(value);
  out += csv_line(fields);
  if (std::fwrite(out.data(), 1, out.size(), file_) != out.size() || std::fflush(file_) != 0) {
    throw UserError("cannot write '" + path_ + "': " + std::strerror(errno));
  }
}

}  // namespace rlpp::core
