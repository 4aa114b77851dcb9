#include "rlpp/core/tensorboard.h"

#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "rlpp/core/error.h"
#include "rlpp/core/fs.h"

namespace rlpp::core {

// ---- CRC32C and TFRecord framing -------------------------------------------------------------

static const std::array<uint32_t, 256>& crc32c_table() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

uint32_t crc32c(std::string_view data, uint32_t crc) {
  const auto& t = crc32c_table();
  crc = ~crc;
  for (unsigned char b : data) crc = t[(crc ^ b) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

uint32_t masked_crc32c(std::string_view data) {
  const uint32_t c = crc32c(data);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

static void put_le(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
}

static uint64_t get_le(std::string_view in, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  return v;
}

std::string tfrecord_frame(std::string_view data) {
  std::string out;
  out.reserve(data.size() + 16);
  put_le(&out, data.size(), 8);
  put_le(&out, masked_crc32c(std::string_view(out.data(), 8)), 4);
  out.append(data);
  put_le(&out, masked_crc32c(data), 4);
  return out;
}

// ---- protobuf wire format (just what Event needs) --------------------------------------------

namespace {

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

void put_varint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7Fu) | 0x80u));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void put_key(std::string* out, uint32_t field, WireType type) { put_varint(out, (uint64_t{field} << 3) | type); }

void put_bytes(std::string* out, uint32_t field, std::string_view bytes) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, bytes.size());
  out->append(bytes);
}

void put_double(std::string* out, uint32_t field, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  put_key(out, field, kFixed64);
  put_le(out, bits, 8);
}

void put_float(std::string* out, uint32_t field, float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  put_key(out, field, kFixed32);
  put_le(out, bits, 4);
}

// int64 fields are varints of the two's-complement value (negative steps take 10 bytes).
void put_int64(std::string* out, uint32_t field, int64_t v) {
  put_key(out, field, kVarint);
  put_varint(out, static_cast<uint64_t>(v));
}

bool get_varint(std::string_view in, size_t* pos, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && *pos < in.size(); shift += 7) {
    const auto b = static_cast<unsigned char>(in[(*pos)++]);
    *v |= static_cast<uint64_t>(b & 0x7Fu) << shift;
    if (!(b & 0x80u)) return true;
  }
  return false;
}

// The step of a serialized Event (field 2), if it has one and parses.
std::optional<int64_t> event_step(std::string_view event) {
  size_t pos = 0;
  std::optional<int64_t> step;
  while (pos < event.size()) {
    uint64_t key, v;
    if (!get_varint(event, &pos, &key)) return std::nullopt;
    switch (key & 7u) {
      case kVarint:
        if (!get_varint(event, &pos, &v)) return std::nullopt;
        if ((key >> 3) == 2) step = static_cast<int64_t>(v);
        break;
      case kFixed64: pos += 8; break;
      case kFixed32: pos += 4; break;
      case kLengthDelimited:
        if (!get_varint(event, &pos, &v) || v > event.size() - pos) return std::nullopt;
        pos += v;
        break;
      default: return std::nullopt;
    }
  }
  if (pos != event.size()) return std::nullopt;
  return step;
}

double now_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

}  // namespace

// ---- writer ---------------------------------------------------------------------------------

TensorBoardWriter::TensorBoardWriter(const std::string& dir) {
  static std::atomic<int> counter{0};
  const std::string prefix = (std::filesystem::path(dir) /
                              ("events.out.tfevents." +
                               std::to_string(static_cast<int64_t>(now_seconds())) + "." + hostname() +
                               "." + std::to_string(::getpid()) + "."))
                                 .string();
  for (int attempt = 0; attempt < 1000 && !file_; ++attempt) {
    path_ = prefix + std::to_string(counter++);
    file_ = std::fopen(path_.c_str(), "wbx");  // x: never append to another writer's file
    if (!file_ && errno != EEXIST) break;
  }
  if (!file_) throw UserError("cannot create TensorBoard event file '" + path_ + "': " + std::strerror(errno));
  std::string event;
  put_double(&event, 1, now_seconds());
  put_bytes(&event, 3, "brain.Event:2");
  write_record(event);
  flush();
}

TensorBoardWriter::~TensorBoardWriter() {
  if (file_) std::fclose(file_);
}

void TensorBoardWriter::write_record(std::string_view event) {
  const std::string rec = tfrecord_frame(event);
  if (std::fwrite(rec.data(), 1, rec.size(), file_) != rec.size()) {
    throw UserError("cannot write TensorBoard event file '" + path_ + "': " + std::strerror(errno));
  }
}

void TensorBoardWriter::add_scalars(int64_t step, const std::vector<std::pair<std::string, double>>& scalars,
                                    std::optional<double> wall_time) {
  std::string summary;
  for (const auto& [tag, value] : scalars) {
    std::string v;
    put_bytes(&v, 1, tag);
    put_float(&v, 2, static_cast<float>(value));
    put_bytes(&summary, 1, v);
  }
  std::string event;
  put_double(&event, 1, wall_time ? *wall_time : now_seconds());
  put_int64(&event, 2, step);
  put_bytes(&event, 5, summary);
  write_record(event);
  flush();
}

void TensorBoardWriter::flush() {
  if (std::fflush(file_) != 0) {
    throw UserError("cannot write TensorBoard event file '" + path_ + "': " + std::strerror(errno));
  }
}

// ---- resume ---------------------------------------------------------------------------------

void truncate_tensorboard_events(const std::string& dir, int64_t max_step) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("events.out.tfevents.", 0) != 0 || name.find(".tmp.") != std::string::npos) continue;
    if (!entry.is_regular_file()) continue;
    const std::string path = entry.path().string();
    const std::string data = read_file(path);
    std::string kept;
    size_t pos = 0;
    bool changed = false;
    while (pos < data.size()) {
      const std::string_view rest(data.data() + pos, data.size() - pos);
      bool ok = rest.size() >= 16;  // length, its CRC, the data's CRC
      uint64_t len = 0;
      if (ok) {
        len = get_le(rest, 8);
        ok = static_cast<uint32_t>(get_le(rest.substr(8), 4)) == masked_crc32c(rest.substr(0, 8)) &&
             len <= rest.size() - 16;
      }
      if (ok) {
        ok = static_cast<uint32_t>(get_le(rest.substr(12 + len), 4)) == masked_crc32c(rest.substr(12, len));
      }
      if (!ok) {
        std::cerr << "rlpp: warning: " << path << ": dropping a torn or corrupt tail of "
                  << rest.size() << " bytes at offset " << pos << "\n";
        changed = true;
        break;
      }
      const std::string_view event = rest.substr(12, len);
      const auto step = event_step(event);
      if (step && *step > max_step) {
        changed = true;
      } else {
        kept.append(rest.substr(0, 16 + len));
      }
      pos += 16 + len;
    }
    if (changed) atomic_write_file(path, kept);
  }
}

}  // namespace rlpp::core
