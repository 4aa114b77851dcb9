// load_run_curves (declared in plot.h): learning curves read back from runs' metrics.jsonl.
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "core/text_lines.h"
#include "rlpp/core/error.h"
#include "rlpp/core/fs.h"
#include "rlpp/core/plot.h"
#include "rlpp/core/strings.h"

namespace rlpp::core {

namespace fs = std::filesystem;

static std::string run_label(const std::string& dir) {
  fs::path p = fs::absolute(dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();  // "runs/a/" or "."
  return p.filename().string();
}

std::vector<Curve> load_run_curves(const std::vector<std::string>& run_dirs, const std::string& metric,
                                   const std::string& x_key) {
  std::vector<Curve> curves;
  for (const std::string& dir : run_dirs) {
    const std::string path = (fs::path(dir) / "metrics.jsonl").string();
    if (!fs::exists(path)) throw UserError("cannot read '" + path + "': no such file (is '" + dir + "' a run directory?)");
    const std::string data = read_file(path);
    Curve c{run_label(dir), {}, {}};
    std::set<std::string> names;
    for (const TextLine& line : split_lines(data)) {
      if (line.text.find_first_not_of(" \t") == std::string_view::npos) continue;
      const std::string at = path + ":" + std::to_string(line.number) + ": ";
      nlohmann::json row;
      try {
        row = nlohmann::json::parse(line.text);
      } catch (const nlohmann::json::parse_error& e) {
        if (!line.terminated) break;  // a live run may be writing its last line right now
        throw UserError(at + "malformed JSON line: " + e.what());
      }
      if (!row.is_object()) throw UserError(at + "expected a JSON object");
      for (const auto& item : row.items()) names.insert(item.key());
      const auto xi = row.find(x_key);
      const auto yi = row.find(metric);
      if (xi == row.end() || yi == row.end() || xi->is_null() || yi->is_null()) continue;
      if (!xi->is_number()) throw UserError(at + "'" + x_key + "' is not a number");
      if (!yi->is_number()) throw UserError(at + "'" + metric + "' is not a number");
      c.x.push_back(xi->get<double>());
      c.y.push_back(yi->get<double>());
    }
    if (c.x.empty()) {
      const std::vector<std::string> known(names.begin(), names.end());
      throw UserError(path + ": no row has both '" + metric + "' and '" + x_key + "'" + did_you_mean(metric, known) +
                      (known.empty() ? "" : "; metrics: " + join(known, ", ")));
    }
    curves.push_back(std::move(c));
  }
  return curves;
}

}  // namespace rlpp::core
