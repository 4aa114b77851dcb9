#include "rlpp/core/tensorboard.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "core/test_util.h"
#include "rlpp/core/metrics.h"

#ifdef RLPP_TEST_HAVE_PROTOBUF
#include "tb_event.pb.h"
#endif

namespace rlpp::core {
namespace {

namespace fs = std::filesystem;
using test::slurp;
using test::TempDir;

// Bit-at-a-time CRC32C (reflected Castagnoli polynomial), independent of the library's table.
uint32_t crc32c_bitwise(const std::string& data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : data) {
    crc ^= byte;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return crc ^ 0xFFFFFFFFu;
}

uint32_t masked(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

uint64_t read_le(const std::string& s, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<unsigned char>(s[pos + i])} << (8 * i);
  return v;
}

// The records of a TFRecord file, every length and data CRC checked.
std::vector<std::string> read_records(const std::string& path) {
  const std::string data = slurp(path);
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < data.size()) {
    EXPECT_GE(data.size() - pos, 16u) << "truncated record at " << pos;
    if (data.size() - pos < 16) break;
    const uint64_t len = read_le(data, pos, 8);
    EXPECT_EQ(read_le(data, pos + 8, 4), masked(crc32c_bitwise(data.substr(pos, 8)))) << "length CRC at " << pos;
    EXPECT_LE(len, data.size() - pos - 16);
    if (len > data.size() - pos - 16) break;
    const std::string rec = data.substr(pos + 12, len);
    EXPECT_EQ(read_le(data, pos + 12 + len, 4), masked(crc32c_bitwise(rec))) << "data CRC at " << pos;
    out.push_back(rec);
    pos += 16 + len;
  }
  return out;
}

std::vector<std::string> event_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Crc32c, StandardCheckValues) {
  EXPECT_EQ(crc32c_bitwise("123456789"), 0xE3069283u);  // the reference checks itself first
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(""), 0u);
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);  // RFC 3720 B.4: 32 bytes of zeros
  EXPECT_EQ(crc32c(std::string(32, '\xff')), 0x62A8AB43u);  // RFC 3720 B.4: 32 bytes of ones
  const std::string text = "rlpp writes TensorBoard events";
  EXPECT_EQ(crc32c(text), crc32c_bitwise(text));
  EXPECT_EQ(crc32c(text.substr(10), crc32c(text.substr(0, 10))), crc32c_bitwise(text));  // continuation
  EXPECT_EQ(masked_crc32c(text), masked(crc32c_bitwise(text)));
}

TEST(TfRecord, FrameLayout) {
  const std::string rec = tfrecord_frame("abc");
  ASSERT_EQ(rec.size(), 3u + 16u);
  EXPECT_EQ(read_le(rec, 0, 8), 3u);
  EXPECT_EQ(read_le(rec, 8, 4), masked(crc32c_bitwise(rec.substr(0, 8))));
  EXPECT_EQ(rec.substr(12, 3), "abc");
  EXPECT_EQ(read_le(rec, 15, 4), masked(crc32c_bitwise("abc")));
}

TEST(TensorBoardWriter, FileNameFollowsTheConvention) {
  TempDir tmp;
  TensorBoardWriter a(tmp.path());
  TensorBoardWriter b(tmp.path());
  EXPECT_NE(a.path(), b.path());
  const std::string name = fs::path(a.path()).filename().string();
  const auto parts = [&] {
    std::vector<std::string> p(1);
    for (char c : name) {
      if (c == '.') {
        p.emplace_back();
      } else {
        p.back().push_back(c);
      }
    }
    return p;
  }();
  ASSERT_GE(parts.size(), 7u);  // events out tfevents <secs> <host...> <pid> <n>
  EXPECT_EQ(parts[0] + "." + parts[1] + "." + parts[2], "events.out.tfevents");
  const long long secs = std::stoll(parts[3]);
  EXPECT_NEAR(static_cast<double>(secs), static_cast<double>(std::time(nullptr)), 60.0);
  EXPECT_EQ(parts[parts.size() - 2], std::to_string(::getpid()));
}

#ifdef RLPP_TEST_HAVE_PROTOBUF

std::vector<rlpp_test::Event> read_events(const std::string& path) {
  std::vector<rlpp_test::Event> out;
  for (const auto& rec : read_records(path)) {
    rlpp_test::Event ev;
    EXPECT_TRUE(ev.ParseFromString(rec));
    out.push_back(ev);
  }
  return out;
}

TEST(TensorBoardWriter, EventsDecodeWithGeneratedProtobuf) {
  TempDir tmp;
  std::string path;
  {
    TensorBoardWriter w(tmp.path());
    path = w.path();
    w.add_scalars(5, {{"charts/episodic_return", 21.5}, {"losses/policy_loss", -0.125}}, 1700000000.25);
    w.add_scalars(-3, {{"a", 0.1}}, 1700000001.5);  // negative steps use 10-byte varints
    w.add_scalars(int64_t{1} << 40, {}, 1700000002.0);
    // Flushed: complete before the writer closes.
    EXPECT_EQ(read_records(path).size(), 4u);
  }
  const auto events = read_events(path);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].file_version(), "brain.Event:2");
  EXPECT_NEAR(events[0].wall_time(), static_cast<double>(std::time(nullptr)), 60.0);
  EXPECT_EQ(events[1].step(), 5);
  EXPECT_EQ(events[1].wall_time(), 1700000000.25);
  ASSERT_TRUE(events[1].has_summary());
  ASSERT_EQ(events[1].summary().value_size(), 2);
  EXPECT_EQ(events[1].summary().value(0).tag(), "charts/episodic_return");
  EXPECT_EQ(events[1].summary().value(0).simple_value(), 21.5f);
  EXPECT_EQ(events[1].summary().value(1).tag(), "losses/policy_loss");
  EXPECT_EQ(events[1].summary().value(1).simple_value(), -0.125f);
  EXPECT_EQ(events[2].step(), -3);
  EXPECT_EQ(events[2].summary().value(0).simple_value(), 0.1f);
  EXPECT_EQ(events[3].step(), int64_t{1} << 40);
  EXPECT_TRUE(events[3].has_summary());
  EXPECT_EQ(events[3].summary().value_size(), 0);
}

TEST(TensorBoardWriter, ResumeDropsStepsAfterTheCheckpoint) {
  TempDir tmp;
  const MetricsSinks tb_only{/*jsonl=*/false, /*csv=*/false, /*tensorboard=*/true};
  {
    MetricsLogger log(tmp.path(), false, 0, tb_only);
    for (int64_t s = 1; s <= 5; ++s) log.log(s, {{"x", static_cast<double>(s)}});
  }
  const std::string first = event_files(tmp.path()).at(0);
  {  // a torn record at the end, as a crash mid-write leaves it
    std::ofstream(first, std::ios::app | std::ios::binary) << std::string("\x30\0\0\0\0\0\0\0\x01\x02", 10);
  }
  {
    MetricsLogger log(tmp.path(), true, 3, tb_only);
    for (int64_t s = 4; s <= 6; ++s) log.log(s, {{"x", 10.0 * static_cast<double>(s)}});
  }
  const auto files = event_files(tmp.path());
  ASSERT_EQ(files.size(), 2u);
  std::vector<std::pair<int64_t, float>> points;
  for (const auto& f : files) {
    const auto events = read_events(f);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events[0].file_version(), "brain.Event:2");
    for (size_t i = 1; i < events.size(); ++i) points.push_back({events[i].step(), events[i].summary().value(0).simple_value()});
  }
  std::sort(points.begin(), points.end());
  const std::vector<std::pair<int64_t, float>> expected{{1, 1.f}, {2, 2.f}, {3, 3.f}, {4, 40.f}, {5, 50.f}, {6, 60.f}};
  EXPECT_EQ(points, expected);
}

#else

TEST(TensorBoardWriter, EventsDecodeWithGeneratedProtobuf) { GTEST_SKIP() << "built without protobuf"; }

#endif

}  // namespace
}  // namespace rlpp::core
