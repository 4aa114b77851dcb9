// Event files written by rlpp, read back by TensorBoard's own Python reader (the tensorboard
// package in the .venv of scripts/setup-deps.sh, driven by tests/core/tb_read_events.py): the
// record loader that TensorBoard uses to ingest a file, and the EventAccumulator behind its
// scalar dashboard. Skipped, saying why, when the venv is missing (the C++ build does not need it).
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/test_util.h"
#include "rlpp/core/metrics.h"
#include "rlpp/core/tensorboard.h"

namespace rlpp::core {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::TempDir;

// $RLPP_PYTHON, else the project's venv; empty when neither exists.
std::string reference_python() {
  const char* env = std::getenv("RLPP_PYTHON");
  const std::string py = env && *env ? env : std::string(RLPP_SOURCE_DIR) + "/.venv/bin/python";
  return fs::exists(py) ? py : std::string();
}

#define REQUIRE_REFERENCE_PYTHON(py)                                                                    \
  const std::string py = reference_python();                                                            \
  if (py.empty()) {                                                                                     \
    GTEST_SKIP() << "no Python with TensorBoard ($RLPP_PYTHON, else " RLPP_SOURCE_DIR "/.venv/bin/python): " \
                    "run scripts/setup-deps.sh to create the venv";                                    \
  }

// tb_read_events.py's JSON for `dir`; a failed run (e.g. tensorboard not importable in an existing
// venv) is a test failure, not a skip: CI always has the venv.
json read_with_tensorboard(const std::string& py, const std::string& dir, const std::string& err_file) {
  const std::string cmd = "'" + py + "' '" RLPP_SOURCE_DIR "/tests/core/tb_read_events.py' '" + dir + "' 2>'" +
                          err_file + "'";
  std::FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed: " + cmd);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  const int status = ::pclose(pipe);
  if (status != 0) {
    ADD_FAILURE() << cmd << " exited with " << WEXITSTATUS(status) << ":\n" << test::slurp(err_file);
    return json::object();
  }
  return json::parse(out);
}

TEST(TensorBoardReader, WriterEventsLoadInTensorBoard) {
  REQUIRE_REFERENCE_PYTHON(py);
  TempDir tmp;
  const std::string dir = tmp / "run";
  fs::create_directories(dir);
  std::string name;
  {
    TensorBoardWriter w(dir);
    name = fs::path(w.path()).filename().string();
    w.add_scalars(0, {{"charts/episodic_return", 21.5}, {"losses/policy_loss", -0.125}}, 1700000000.25);
    // 0.1 and 1/3 are not floats: TensorBoard must see them rounded to float32 (simple_value)
    w.add_scalars(7, {{"charts/episodic_return", 0.1}, {"losses/policy_loss", 1.0 / 3.0}}, 1700000001.5);
    w.add_scalars(int64_t{1} << 40, {{"charts/episodic_return", 3e38}, {"losses/policy_loss", -1e-30}},
                  1700000002.0);
  }
  const json got = read_with_tensorboard(py, dir, tmp / "stderr.txt");
  ASSERT_EQ(got.at("files"), json::array({name}));
  EXPECT_EQ(got.at("truncated"), json::array());

  const json& recs = got.at("records").at(name);
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[0].at("file_version"), "brain.Event:2");
  const double walls[] = {1700000000.25, 1700000001.5, 1700000002.0};
  const int64_t steps[] = {0, 7, int64_t{1} << 40};
  const double returns[] = {21.5, 0.1, 3e38};
  const double losses[] = {-0.125, 1.0 / 3.0, -1e-30};
  for (int i = 0; i < 3; ++i) {
    const json& r = recs[i + 1];
    SCOPED_TRACE("event " + std::to_string(i + 1));
    EXPECT_EQ(r.at("step").get<int64_t>(), steps[i]);
    EXPECT_EQ(r.at("wall_time").get<double>(), walls[i]);
    ASSERT_EQ(r.at("values").size(), 2u);
    EXPECT_EQ(r.at("values")[0][0], "charts/episodic_return");
    EXPECT_EQ(r.at("values")[0][1].get<double>(), static_cast<double>(static_cast<float>(returns[i])));
    EXPECT_EQ(r.at("values")[1][0], "losses/policy_loss");
    EXPECT_EQ(r.at("values")[1][1].get<double>(), static_cast<double>(static_cast<float>(losses[i])));
  }

  const json& scalars = got.at("scalars");
  ASSERT_EQ(scalars.size(), 2u);
  const json& ret = scalars.at("charts/episodic_return");
  ASSERT_EQ(ret.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(ret[i][0].get<int64_t>(), steps[i]);
    EXPECT_EQ(ret[i][1].get<double>(), walls[i]);
    EXPECT_EQ(ret[i][2].get<double>(), static_cast<double>(static_cast<float>(returns[i])));
  }
}

// A crash leaves a torn record and steps past the checkpoint; after the resume, TensorBoard's
// loader reads every record of the first file (none torn, none after step 3) and the dashboard
// shows each step once with the resumed run's values.
TEST(TensorBoardReader, ResumedRunLoadsWithoutStaleOrTornRecords) {
  REQUIRE_REFERENCE_PYTHON(py);
  TempDir tmp;
  const std::string dir = tmp / "run";
  const MetricsSinks tb_only{/*jsonl=*/false, /*csv=*/false, /*tensorboard=*/true};
  {
    MetricsLogger log(dir, false, 0, tb_only);
    for (int64_t s = 1; s <= 5; ++s) log.log(s, {{"x", static_cast<double>(s)}});
  }
  std::string first;
  for (const auto& e : fs::directory_iterator(dir)) first = e.path().string();
  { std::ofstream(first, std::ios::app | std::ios::binary) << std::string("\x30\0\0\0\0\0\0\0\x01\x02", 10); }
  {
    MetricsLogger log(dir, true, 3, tb_only);
    for (int64_t s = 4; s <= 6; ++s) log.log(s, {{"x", 10.0 * static_cast<double>(s)}});
  }
  const json got = read_with_tensorboard(py, dir, tmp / "stderr.txt");
  const std::string first_name = fs::path(first).filename().string();
  EXPECT_EQ(got.at("truncated"), json::array());
  std::vector<int64_t> first_steps;
  for (const json& r : got.at("records").at(first_name)) {
    if (!r.at("values").is_null()) first_steps.push_back(r.at("step").get<int64_t>());
  }
  EXPECT_EQ(first_steps, (std::vector<int64_t>{1, 2, 3}));
  std::vector<std::pair<int64_t, double>> points;
  for (const json& p : got.at("scalars").at("x")) points.emplace_back(p[0].get<int64_t>(), p[2].get<double>());
  const std::vector<std::pair<int64_t, double>> expected{{1, 1.0}, {2, 2.0}, {3, 3.0}, {4, 40.0}, {5, 50.0}, {6, 60.0}};
  EXPECT_EQ(points, expected);
}

}  // namespace
}  // namespace rlpp::core
