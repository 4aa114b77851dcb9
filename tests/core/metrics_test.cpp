#include "rlpp/core/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/test_util.h"

namespace rlpp::core {
namespace {

namespace fs = std::filesystem;
using test::expect_user_error;
using test::slurp;
using test::TempDir;
using test::write_plain;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    EXPECT_NE(nl, std::string::npos) << "last line not terminated";
    if (nl == std::string::npos) break;
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

// A plain RFC 4180 field splitter, written independently of the library's.
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> f(1);
  bool q = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (q && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      f.back() += '"';
      ++i;
    } else if (c == '"') {
      q = !q;
    } else if (c == ',' && !q) {
      f.emplace_back();
    } else {
      f.back() += c;
    }
  }
  return f;
}

std::vector<std::vector<std::string>> read_csv(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& l : lines_of(slurp(path))) rows.push_back(csv_fields(l));
  return rows;
}

MetricsSinks only_text() { return {/*jsonl=*/true, /*csv=*/true, /*tensorboard=*/false}; }

TEST(MetricsLogger, JsonlRowsReadBackWithNullForNonFinite) {
  TempDir tmp;
  {
    MetricsLogger log(tmp.path(), /*resume=*/false, /*resume_step=*/0);
    log.log(128, {{"charts/episodic_return", 21.5}, {"losses/policy_loss", -0.1}, {"charts/sps", 3000}});
    log.log(256, {{"charts/episodic_return", kNan}, {"losses/policy_loss", 1e-300}, {"charts/sps", -kInf}});
  }
  const auto lines = lines_of(slurp(tmp / "metrics.jsonl"));
  ASSERT_EQ(lines.size(), 2u);
  const auto r0 = nlohmann::ordered_json::parse(lines[0]);
  std::vector<std::string> keys;
  for (const auto& it : r0.items()) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"step", "charts/episodic_return", "losses/policy_loss", "charts/sps"}));
  EXPECT_EQ(r0["step"].get<int64_t>(), 128);
  EXPECT_TRUE(r0["step"].is_number_integer());
  EXPECT_EQ(r0["charts/episodic_return"].get<double>(), 21.5);
  EXPECT_EQ(r0["losses/policy_loss"].get<double>(), -0.1);  // exact round trip
  EXPECT_EQ(r0["charts/sps"].get<double>(), 3000.0);
  const auto r1 = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(r1["step"].get<int64_t>(), 256);
  EXPECT_TRUE(r1["charts/episodic_return"].is_null());
  EXPECT_TRUE(r1["charts/sps"].is_null());
  EXPECT_EQ(r1["losses/policy_loss"].get<double>(), 1e-300);
}

TEST(MetricsLogger, CsvHeaderOrderMissingCellsAndWidening) {
  TempDir tmp;
  MetricsLogger log(tmp.path(), false, 0, only_text());
  log.log(1, {{"b", 0.1}, {"a", 2.0}});
  log.log(2, {{"a", -3.25}});                       // b missing -> empty cell
  log.log(3, {{"a", kNan}, {"x,y", 1e-5}, {"b", kInf}});  // new column, needs quoting
  // Flushed after each row: readable while the logger is still open.
  const auto rows = read_csv(tmp / "metrics.csv");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"step", "b", "a", "x,y"}));
  EXPECT_EQ(rows[1][0], "1");
  EXPECT_EQ(std::strtod(rows[1][1].c_str(), nullptr), 0.1);
  EXPECT_EQ(std::strtod(rows[1][2].c_str(), nullptr), 2.0);
  EXPECT_EQ(rows[1][3], "");
  EXPECT_EQ(rows[2], (std::vector<std::string>{"2", "", "-3.25", ""}));
  EXPECT_EQ(rows[3][0], "3");
  EXPECT_EQ(rows[3][1], "inf");
  EXPECT_EQ(rows[3][2], "nan");
  EXPECT_EQ(std::strtod(rows[3][3].c_str(), nullptr), 1e-5);
  EXPECT_EQ(slurp(tmp / "metrics.csv").find("\"x,y\""), std::string("step,b,a,").size());
}

TEST(MetricsLogger, SinkSelectionAndNameChecks) {
  TempDir tmp;
  MetricsLogger log(tmp / "run", false, 0, {/*jsonl=*/false, /*csv=*/true, /*tensorboard=*/false});
  log.log(1, {{"a", 1.0}});
  EXPECT_TRUE(fs::exists(tmp / "run/metrics.csv"));
  EXPECT_FALSE(fs::exists(tmp / "run/metrics.jsonl"));
  EXPECT_THROW(log.log(2, {{"step", 1.0}}), std::invalid_argument);
  EXPECT_THROW(log.log(2, {{"a", 1.0}, {"a", 2.0}}), std::invalid_argument);
  EXPECT_THROW(log.log(2, {{"", 1.0}}), std::invalid_argument);
}

TEST(MetricsLogger, UnwritableRunDirIsUserError) {
  TempDir tmp;
  write_plain(tmp / "file", "x");
  expect_user_error([&] { MetricsLogger log(tmp / "file/run", false, 0); }, {tmp / "file/run"});
}

// The rows of a deterministic run at step s; "charts/episodic_return" first appears at step 4.
MetricRow row_at(int64_t s) {
  MetricRow r{{"losses/value_loss", 1.0 / static_cast<double>(s)}, {"charts/sps", 100.0 * static_cast<double>(s)}};
  if (s >= 4) r.insert(r.begin(), {"charts/episodic_return", 10.0 + static_cast<double>(s)});
  return r;
}

TEST(MetricsLogger, ResumeEndsWithExactlyTheUninterruptedRows) {
  TempDir tmp;
  const std::string full = tmp / "full", resumed = tmp / "resumed";
  {
    MetricsLogger log(full, false, 0, only_text());
    for (int64_t s = 1; s <= 6; ++s) log.log(s * 10, row_at(s));
  }
  {  // the interrupted attempt: checkpoint at step 20, crash after step 50 with a row half written
    MetricsLogger log(resumed, false, 0, only_text());
    for (int64_t s = 1; s <= 5; ++s) {
      MetricRow r = row_at(s);
      if (s >= 3) r.push_back({"only_in_lost_rows", 1.0});  // the lost rows need not match the redo
      log.log(s * 10, r);
    }
  }
  std::ofstream(resumed + "/metrics.jsonl", std::ios::app) << "{\"step\": 60, \"losses/val";
  std::ofstream(resumed + "/metrics.csv", std::ios::app) << "60,0.1";
  {
    MetricsLogger log(resumed, /*resume=*/true, /*resume_step=*/20, only_text());
    const auto kept = lines_of(slurp(resumed + "/metrics.jsonl"));
    ASSERT_EQ(kept.size(), 2u);  // steps 10 and 20
    for (int64_t s = 3; s <= 6; ++s) log.log(s * 10, row_at(s));
  }
  EXPECT_EQ(slurp(resumed + "/metrics.jsonl"), slurp(full + "/metrics.jsonl"));
  EXPECT_EQ(slurp(resumed + "/metrics.csv"), slurp(full + "/metrics.csv"));
  const auto rows = read_csv(full + "/metrics.csv");
  ASSERT_EQ(rows.size(), 7u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"step", "losses/value_loss", "charts/sps", "charts/episodic_return"}));
  EXPECT_EQ(rows[1][3], "");  // widened: empty before the first episode ended
  EXPECT_EQ(std::strtod(rows[4][3].c_str(), nullptr), 14.0);
}

TEST(MetricsLogger, ResumeBeforeFirstRowStartsOverAndMissingFilesAreFine) {
  TempDir tmp;
  {
    MetricsLogger log(tmp.path(), false, 0, only_text());
    log.log(10, {{"a", 1.0}});
  }
  {
    MetricsLogger log(tmp.path(), true, 5, only_text());
    log.log(10, {{"b", 2.0}});
  }
  EXPECT_EQ(slurp(tmp / "metrics.csv"), "step,b\n10,2\n");
  EXPECT_EQ(slurp(tmp / "metrics.jsonl"), "{\"step\":10,\"b\":2.0}\n");
  TempDir fresh;
  MetricsLogger log(fresh.path(), true, 100, only_text());
  log.log(101, {{"a", 1.0}});
  EXPECT_EQ(slurp(fresh / "metrics.csv"), "step,a\n101,1\n");
}

TEST(MetricsLogger, ResumeRefusesMalformedLinesWithFileAndLine) {
  TempDir tmp;
  write_plain(tmp / "metrics.jsonl", "{\"step\":1,\"a\":1}\nnot json\n{\"step\":2,\"a\":1}\n");
  expect_user_error([&] { JsonlSink s(tmp / "metrics.jsonl", true, 5); }, {tmp / "metrics.jsonl:2:", "malformed"});
  write_plain(tmp / "metrics.jsonl", "{\"a\":1}\n");
  expect_user_error([&] { JsonlSink s(tmp / "metrics.jsonl", true, 5); }, {tmp / "metrics.jsonl:1:", "step"});
  write_plain(tmp / "metrics.csv", "step,a\n1,2\nx,3\n4,5\n");
  expect_user_error([&] { CsvSink s(tmp / "metrics.csv", true, 5); }, {tmp / "metrics.csv:3:"});
  write_plain(tmp / "metrics.csv", "step,a\n1,2,3\n");
  expect_user_error([&] { CsvSink s(tmp / "metrics.csv", true, 5); }, {tmp / "metrics.csv:2:"});
  write_plain(tmp / "metrics.csv", "a,step\n1,2\n");
  expect_user_error([&] { CsvSink s(tmp / "metrics.csv", true, 5); }, {tmp / "metrics.csv:1:", "header"});
}

}  // namespace
}  // namespace rlpp::core
