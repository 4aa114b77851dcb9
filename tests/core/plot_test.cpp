#include "rlpp/core/plot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/test_util.h"

namespace rlpp::core {
namespace {

namespace fs = std::filesystem;
using test::expect_user_error;
using test::slurp;
using test::TempDir;
using test::write_plain;

uint32_t read_be32(const std::string& s, size_t pos) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[pos + i]);
  return v;
}

bool built_with_plplot() {
  try {
    TempDir tmp;
    plot_curves({{"a", {0, 1}, {0, 1}}}, {}, tmp / "probe.png");
    return true;
  } catch (const UserError& e) {
    return std::string(e.what()).find("without PLplot") == std::string::npos;
  }
}

TEST(MovingAverage, TrailingWindowWithPartialStart) {
  const std::vector<double> y{1, 2, 3, 4, 10};
  EXPECT_EQ(moving_average(y, 1), y);
  // Window 3: 1, (1+2)/2, (1+2+3)/3, (2+3+4)/3, (3+4+10)/3.
  const std::vector<double> want{1.0, 1.5, 2.0, 3.0, 17.0 / 3.0};
  const auto got = moving_average(y, 3);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-12);
  EXPECT_NEAR(moving_average(y, 100).back(), 4.0, 1e-12);
}

TEST(PlotCurves, WritesPngOfTheRequestedSize) {
  if (!built_with_plplot()) GTEST_SKIP() << "built without PLplot";
  TempDir tmp;
  std::vector<Curve> curves;
  for (int k = 0; k < 12; ++k) {  // more curves than palette colours
    Curve c{"run #" + std::to_string(k), {}, {}};
    for (int i = 0; i < 200; ++i) {
      c.x.push_back(i * 1000.0);
      c.y.push_back(std::sin(i * 0.05 + k) * 100.0 + k);
    }
    c.y[7] = std::nan("");  // left out
    curves.push_back(c);
  }
  curves.push_back({"single point", {5000.0}, {3.0}});
  PlotOptions opts;
  opts.title = "CartPole-v1";
  opts.ylabel = "charts/episodic_return";
  opts.smoothing = 5;
  opts.width = 640;
  opts.height = 480;
  const std::string path = tmp / "curves.png";
  plot_curves(curves, opts, path);
  const std::string png = slurp(path);
  ASSERT_GT(png.size(), 33u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  EXPECT_EQ(read_be32(png, 16), 640u);
  EXPECT_EQ(read_be32(png, 20), 480u);
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(tmp.path())) ++entries;
  EXPECT_EQ(entries, 1u);  // no temp file left
}

TEST(PlotCurves, RefusesBadInputAndUnwritablePath) {
  TempDir tmp;
  expect_user_error([&] { plot_curves({{"a", {1, 2}, {1}}}, {}, tmp / "p.png"); }, {"p.png"});
  if (!built_with_plplot()) GTEST_SKIP() << "built without PLplot";
  expect_user_error([&] { plot_curves({{"a", {1, 2}, {1}}}, {}, tmp / "p.png"); }, {"'a'", "2 x values"});
  expect_user_error([&] { plot_curves({{"a", {NAN}, {1}}}, {}, tmp / "p.png"); }, {"no finite points"});
  expect_user_error([&] { plot_curves({}, {}, tmp / "p.png"); }, {"no finite points"});
  PlotOptions bad;
  bad.smoothing = 0;
  expect_user_error([&] { plot_curves({{"a", {1}, {1}}}, bad, tmp / "p.png"); }, {"smoothing"});
  write_plain(tmp / "file", "x");
  expect_user_error([&] { plot_curves({{"a", {1, 2}, {1, 2}}}, {}, tmp / "file/p.png"); }, {tmp / "file/p.png"});
  EXPECT_FALSE(fs::exists(tmp / "p.png"));
}

TEST(LoadRunCurves, ReadsEachRunSkippingRowsWithoutTheMetric) {
  TempDir tmp;
  fs::create_directories(tmp / "runs/ppo_s1");
  fs::create_directories(tmp / "runs/ppo_s2");
  write_plain(tmp / "runs/ppo_s1/metrics.jsonl",
              "{\"step\":100,\"losses/v\":1.0}\n"
              "{\"step\":200,\"charts/episodic_return\":12.5,\"losses/v\":0.5}\n"
              "\n"
              "{\"step\":300,\"charts/episodic_return\":null}\n"
              "{\"step\":400,\"charts/episodic_return\":-3}\n");
  write_plain(tmp / "runs/ppo_s2/metrics.jsonl",
              "{\"step\":1,\"charts/episodic_return\":7.0,\"time\":0.5}\n"
              "{\"step\":2,\"charts/episodic_return\":8.0,\"time\":1.5}\n"
              "{\"step\":3,\"charts/episodic_return\":9.0,\"ti");  // torn last line of a live run
  const auto curves = load_run_curves({tmp / "runs/ppo_s1/", tmp / "runs/ppo_s2"}, "charts/episodic_return");
  ASSERT_EQ(curves.size(), 2u);
  EXPECT_EQ(curves[0].label, "ppo_s1");
  EXPECT_EQ(curves[0].x, (std::vector<double>{200, 400}));
  EXPECT_EQ(curves[0].y, (std::vector<double>{12.5, -3}));
  EXPECT_EQ(curves[1].label, "ppo_s2");
  EXPECT_EQ(curves[1].x, (std::vector<double>{1, 2}));
  const auto by_time = load_run_curves({tmp / "runs/ppo_s2"}, "charts/episodic_return", "time");
  EXPECT_EQ(by_time[0].x, (std::vector<double>{0.5, 1.5}));
  EXPECT_EQ(by_time[0].y, (std::vector<double>{7.0, 8.0}));
}

TEST(LoadRunCurves, ErrorsNameFileAndLine) {
  TempDir tmp;
  expect_user_error([&] { load_run_curves({tmp / "nope"}, "m"); }, {tmp / "nope/metrics.jsonl"});
  write_plain(tmp / "metrics.jsonl", "{\"step\":1,\"m\":1}\n{\"step\":2,\"m\":\n{\"step\":3,\"m\":1}\n");
  expect_user_error([&] { load_run_curves({tmp.path()}, "m"); }, {tmp / "metrics.jsonl:2:", "malformed"});
  write_plain(tmp / "metrics.jsonl", "{\"step\":1,\"m\":1}\n[1,2]\n");
  expect_user_error([&] { load_run_curves({tmp.path()}, "m"); }, {tmp / "metrics.jsonl:2:", "object"});
  write_plain(tmp / "metrics.jsonl", "{\"step\":1,\"m\":\"high\"}\n");
  expect_user_error([&] { load_run_curves({tmp.path()}, "m"); }, {tmp / "metrics.jsonl:1:", "'m'"});
  write_plain(tmp / "metrics.jsonl", "{\"step\":1,\"charts/episodic_return\":1}\n");
  expect_user_error([&] { load_run_curves({tmp.path()}, "charts/episodic_retrun"); },
                    {"did you mean 'charts/episodic_return'"});
}

}  // namespace
}  // namespace rlpp::core
