// TensorBoard event files written without TensorFlow.
//
// An event file is a sequence of TFRecords:
//   uint64 length (little endian) | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)
// with masked(c) = ((c >> 15) | (c << 17)) + 0xa282ead8 and CRC32C the Castagnoli CRC (reflected
// polynomial 0x82F63B78). Each record is a serialized tensorflow.Event protobuf, encoded here by
// hand (the only fields used):
//   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
//   Summary { repeated Value value = 1; }
//   Value   { string tag = 1; float simple_value = 2; }
// The first record carries file_version "brain.Event:2"; then one Event per logged row, holding one
// Value per scalar.
#pragma once
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rlpp::core {

// CRC32C (Castagnoli) of `data`, continuing from `crc` (0 for a fresh checksum).
uint32_t crc32c(std::string_view data, uint32_t crc = 0);
// TFRecord's masked CRC: rotate right by 15, add 0xa282ead8 (a stored CRC of data that itself
// contains CRCs is then not trivially zero).
uint32_t masked_crc32c(std::string_view data);

// `data` framed as one TFRecord.
std::string tfrecord_frame(std::string_view data);

class TensorBoardWriter {
 public:
  // Creates a new events.out.tfevents.<unix_seconds>.<hostname>.<pid>.<n> file in `dir` (which
  // must exist) and writes the file_version record. UserError when the file cannot be created.
  explicit TensorBoardWriter(const std::string& dir);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  // One Event at `step` holding every (tag, value) as a float simple_value. `wall_time` is in
  // seconds since the epoch (default: now). Flushed to the OS before returning.
  void add_scalars(int64_t step, const std::vector<std::pair<std::string, double>>& scalars,
                   std::optional<double> wall_time = std::nullopt);
  void flush();

  const std::string& path() const { return path_; }

 private:
  void write_record(std::string_view event);

  std::string path_;
  std::FILE* file_ = nullptr;
};

// Rewrites (atomically) every events.out.tfevents.* file in `dir` keeping only the records whose
// Event step is <= `max_step` (records without a step, like file_version, are kept), so that a run
// resumed from a checkpoint at `max_step` shows no stale points from the interrupted attempt. A
// torn or corrupt tail (bad length or CRC) is dropped with a warning on stderr.
void truncate_tensorboard_events(const std::string& dir, int64_t max_step);

}  // namespace rlpp::core
