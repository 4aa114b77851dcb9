#include "rlpp/core/progress.h"

#include <gtest/gtest.h>

#include <sstream>

namespace rlpp::core {
namespace {

int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + what.size())) ++n;
  return n;
}

// A slow loop (an RL step of a language model takes seconds) shows its rate with decimals under
// its own label, never "sps 0": 0.25 steps/s with 150 of 300 steps left = 600 s.
TEST(Progress, SlowRatesKeepDecimalsAndTheirUnit) {
  std::ostringstream out;
  Progress p(300, /*tty=*/false, 10.0, out);
  p.set_rate_label("steps/s");
  EXPECT_EQ(p.format(150, 0.25, std::nullopt, false), " 50.0%  150/300  steps/s 0.25  eta 0:10:00");
  EXPECT_EQ(p.format(150, 12.4, std::nullopt, false), " 50.0%  150/300  steps/s 12  eta 0:00:12");
}

TEST(Progress, FormatShowsPercentStepsSpsReturnAndEta) {
  std::ostringstream out;
  Progress p(100000, /*tty=*/false, 10.0, out);
  // 55000 steps left at 1000 sps = 55 s.
  EXPECT_EQ(p.format(45000, 1000.0, 123.456, /*with_bar=*/false),
            " 45.0%  45000/100000  sps 1000  return 123.46  eta 0:00:55");
  // 90000 left at 20 sps = 4500 s = 1:15:00.
  EXPECT_EQ(p.format(10000, 20.0, std::nullopt, false), " 10.0%  10000/100000  sps 20  eta 1:15:00");
  EXPECT_EQ(p.format(0, 0.0, std::nullopt, false), "  0.0%  0/100000  sps 0  eta ?");
  // 20-character bar: 50% = 10 '=' then '>'.
  EXPECT_EQ(p.format(50000, 1.0, std::nullopt, true).substr(0, 22), "[==========>         ]");
  EXPECT_EQ(p.format(100000, 1.0, std::nullopt, true).substr(0, 22), "[====================]");
  EXPECT_EQ(p.format(150000, 1.0, std::nullopt, false).substr(0, 6), "100.0%");  // clamped
}

TEST(Progress, PlainLogLinesAreThrottledAndEndWithTheFinalState) {
  std::ostringstream out;
  double now = 0.0;
  Progress p(1000, /*tty=*/false, /*log_interval_s=*/10.0, out);
  p.set_clock([&] { return now; });
  p.update(100, 50.0, std::nullopt);  // first update: printed
  now = 5.0;
  p.update(200, 50.0, 1.5);  // within 10 s: silent
  now = 10.5;
  p.update(300, 50.0, std::nullopt);  // printed, keeps the latest return
  now = 11.0;
  p.update(400, 50.0, std::nullopt);
  p.finish();  // the final state is always printed
  p.finish();
  p.update(500, 50.0, std::nullopt);  // after finish: ignored
  const std::string s = out.str();
  EXPECT_EQ(count(s, "\n"), 3) << s;
  EXPECT_EQ(count(s, "\r"), 0);
  EXPECT_NE(s.find(" 10.0%  100/1000"), std::string::npos);
  EXPECT_EQ(s.find("200/1000"), std::string::npos);
  EXPECT_NE(s.find("300/1000  sps 50  return 1.50"), std::string::npos);
  EXPECT_NE(s.find(" 40.0%  400/1000"), std::string::npos);
}

TEST(Progress, FinishDoesNotRepeatAnAlreadyPrintedLine) {
  std::ostringstream out;
  Progress p(10, false, 10.0, out);
  p.set_clock([] { return 0.0; });
  p.update(10, 5.0, std::nullopt);
  p.finish();
  EXPECT_EQ(count(out.str(), "\n"), 1);
}

TEST(Progress, TerminalRedrawsInPlaceAtMostTenTimesASecond) {
  std::ostringstream out;
  double now = 0.0;
  Progress p(1000, /*tty=*/true, 10.0, out);
  p.set_clock([&] { return now; });
  for (int i = 1; i <= 100; ++i) {  // 100 updates over 1 s
    now = i * 0.01;
    p.update(i * 10, 100.0, std::nullopt);
  }
  p.finish();
  const std::string s = out.str();
  const int draws = count(s, "\r");
  EXPECT_GE(draws, 9);
  EXPECT_LE(draws, 12);
  EXPECT_EQ(count(s, "\n"), 1);  // only finish() ends the line
  EXPECT_EQ(s.back(), '\n');
  EXPECT_NE(s.rfind("[====================]  100.0%  1000/1000"), std::string::npos);
}

TEST(Progress, TerminalLineEndsWhenDestroyedEarly) {
  std::ostringstream out;
  {
    Progress p(10, true, 10.0, out);
    p.update(3, 1.0, std::nullopt);
  }
  EXPECT_EQ(out.str().back(), '\n');
}

}  // namespace
}  // namespace rlpp::core
