#include "rlpp/nn/lm/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "rlpp/core/error.h"
#include "rlpp/core/fs.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes a little-endian host");

namespace rlpp::nn::lm {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using core::UserError;

struct DtypeInfo {
  const char* name;
  torch::ScalarType type;
  int64_t bytes;
};

constexpr DtypeInfo kDtypes[] = {
    {"F64", torch::kDouble, 8}, {"F32", torch::kFloat, 4}, {"F16", torch::kHalf, 2}, {"BF16", torch::kBFloat16, 2},
    {"I64", torch::kLong, 8},   {"I32", torch::kInt, 4},   {"I16", torch::kShort, 2}, {"I8", torch::kChar, 1},
    {"U8", torch::kByte, 1},    {"BOOL", torch::kBool, 1},
};

const DtypeInfo* dtype_by_name(const std::string& name) {
  for (const DtypeInfo& d : kDtypes) {
    if (name == d.name) return &d;
  }
  return nullptr;
}

const DtypeInfo& dtype_by_type(torch::ScalarType t, const std::string& where) {
  for (const DtypeInfo& d : kDtypes) {
    if (t == d.type) return d;
  }
  throw UserError(where + ": dtype " + std::string(c10::toString(t)) + " cannot be stored in safetensors");
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// A header field that must be a non-negative integer that fits int64.
int64_t header_uint(const json& v, const std::string& what) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
    throw UserError(what + " must be a non-negative integer, got " + v.dump());
  }
  const uint64_t u = v.get<uint64_t>();
  if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) throw UserError(what + " is too large");
  return static_cast<int64_t>(u);
}

json parse_header(const std::string& text, const std::string& path) {
  // nlohmann keeps the last of duplicate keys silently; the spec forbids duplicates, so the
  // top-level keys are collected while parsing.
  std::set<std::string> seen;
  std::string duplicate;
  json::parser_callback_t cb = [&](int depth, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::key && depth == 1) {
      const std::string k = parsed.get<std::string>();
      if (!seen.insert(k).second && duplicate.empty()) duplicate = k;
    }
    return true;
  };
  json j;
  try {
    j = json::parse(text, cb);
  } catch (const json::parse_error& e) {
    throw UserError(path + ": invalid JSON header: " + e.what());
  }
  if (!duplicate.empty()) throw UserError(path + ": duplicate tensor name '" + duplicate + "' in header");
  if (!j.is_object()) throw UserError(path + ": header is not a JSON object");
  return j;
}

struct Entry {
  std::string name;
  const DtypeInfo* dtype;
  std::vector<int64_t> shape;
  int64_t begin, end;
};

Entry parse_entry(const std::string& name, const json& v, int64_t buffer_bytes, const std::string& path) {
  const std::string where = path + ": tensor '" + name + "'";
  if (name.empty()) throw UserError(path + ": empty tensor name in header");
  if (!v.is_object()) throw UserError(where + ": entry must be an object, got " + v.dump());
  for (const char* k : {"dtype", "shape", "data_offsets"}) {
    if (!v.contains(k)) throw UserError(where + ": missing field '" + k + "'");
  }
  Entry e;
  e.name = name;
  const json& dt = v.at("dtype");
  if (!dt.is_string()) throw UserError(where + ": field 'dtype' must be a string, got " + dt.dump());
  e.dtype = dtype_by_name(dt.get<std::string>());
  if (e.dtype == nullptr) {
    throw UserError(where + ": unknown or unsupported dtype '" + dt.get<std::string>() +
                    "' (supported: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)");
  }
  const json& sh = v.at("shape");
  if (!sh.is_array()) throw UserError(where + ": field 'shape' must be an array, got " + sh.dump());
  int64_t numel = 1;
  for (const json& d : sh) {
    const int64_t n = header_uint(d, where + ": shape entry");
    e.shape.push_back(n);
    if (n != 0 && numel > std::numeric_limits<int64_t>::max() / 8 / n) throw UserError(where + ": shape is too large");
    numel *= n;
  }
  const json& off = v.at("data_offsets");
  if (!off.is_array() || off.size() != 2) {
    throw UserError(where + ": field 'data_offsets' must be [begin, end], got " + off.dump());
  }
  e.begin = header_uint(off[0], where + ": data_offsets begin");
  e.end = header_uint(off[1], where + ": data_offsets end");
  if (e.end < e.begin || e.end > buffer_bytes) {
    throw UserError(where + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                    "] out of range (the data buffer has " + std::to_string(buffer_bytes) + " bytes)");
  }
  const int64_t need = numel * e.dtype->bytes;
  if (e.end - e.begin != need) {
    throw UserError(where + ": data_offsets span " + std::to_string(e.end - e.begin) + " bytes but " +
                    e.dtype->name + " x " + shape_text(e.shape) + " needs " + std::to_string(need));
  }
  return e;
}

// POSIX file written in pieces, fsynced, then renamed over the target: never half-written.
class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path) : path_(path), tmp_(core::temp_path_for(path)) {
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0) throw UserError("cannot write '" + path_ + "': cannot create '" + tmp_ + "': " + std::strerror(errno));
  }
  ~AtomicFile() {
    if (fd_ >= 0) {
      ::close(fd_);
      ::unlink(tmp_.c_str());
    }
  }
  void write(const void* data, size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      const ssize_t w = ::write(fd_, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) throw UserError("cannot write '" + path_ + "': " + std::strerror(errno));
      p += w;
      n -= static_cast<size_t>(w);
    }
  }
  void commit() {
    if (::fsync(fd_) != 0) throw UserError("cannot write '" + path_ + "': fsync: " + std::strerror(errno));
    const int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) {
      ::unlink(tmp_.c_str());
      throw UserError("cannot write '" + path_ + "': close: " + std::strerror(errno));
    }
    core::rename_into_place(tmp_, path_);
  }

 private:
  std::string path_, tmp_;
  int fd_ = -1;
};

torch::Tensor prepared_for_write(const torch::Tensor& t, c10::optional<torch::ScalarType> dtype) {
  torch::Tensor c = t.detach().to(torch::kCPU);
  if (dtype && c.is_floating_point()) c = c.to(*dtype);
  return c.contiguous();
}

bool is_plain_file_name(const std::string& f) {
  return !f.empty() && f != "." && f != ".." && f.find('/') == std::string::npos && f.find('\\') == std::string::npos;
}

}  // namespace

SafetensorsContent read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError("cannot open safetensors file '" + path + "'");
  in.seekg(0, std::ios::end);
  const int64_t file_bytes = static_cast<int64_t>(in.tellg());
  in.seekg(0, std::ios::beg);
  if (file_bytes < 8) {
    throw UserError(path + ": file is too short (" + std::to_string(file_bytes) + " bytes) to be safetensors");
  }
  unsigned char size_bytes[8];
  in.read(reinterpret_cast<char*>(size_bytes), 8);
  uint64_t header_bytes = 0;
  for (int i = 7; i >= 0; --i) header_bytes = (header_bytes << 8) | size_bytes[i];  // little-endian u64
  if (header_bytes > static_cast<uint64_t>(kMaxSafetensorsHeaderBytes)) {
    throw UserError(path + ": header size " + std::to_string(header_bytes) + " is absurd (limit " +
                    std::to_string(kMaxSafetensorsHeaderBytes) + " bytes)");
  }
  const int64_t n = static_cast<int64_t>(header_bytes);
  if (n > file_bytes - 8) {
    throw UserError(path + ": header size " + std::to_string(n) + " exceeds the file (" +
                    std::to_string(file_bytes) + " bytes)");
  }
  std::string header(static_cast<size_t>(n), '\0');
  in.read(header.data(), n);
  if (!in) throw UserError(path + ": cannot read the header");
  const json j = parse_header(header, path);
  const int64_t buffer_bytes = file_bytes - 8 - n;

  SafetensorsContent out;
  std::vector<Entry> entries;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it.value().is_object()) throw UserError(path + ": '__metadata__' must be an object of strings");
      for (auto m = it.value().begin(); m != it.value().end(); ++m) {
        if (!m.value().is_string()) {
          throw UserError(path + ": '__metadata__' value of '" + m.key() + "' must be a string, got " + m.value().dump());
        }
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(it.key(), it.value(), buffer_bytes, path));
  }

  // The regions must tile [0, buffer_bytes) exactly.
  std::vector<const Entry*> order;
  for (const Entry& e : entries) order.push_back(&e);
  std::stable_sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  int64_t covered = 0;
  const Entry* prev = nullptr;
  for (const Entry* e : order) {
    if (e->begin < covered) {
      throw UserError(path + ": tensor '" + e->name + "' overlaps tensor '" + prev->name + "' (data_offsets [" +
                      std::to_string(e->begin) + ", " + std::to_string(e->end) + "])");
    }
    if (e->begin > covered) {
      throw UserError(path + ": data is not contiguous: bytes [" + std::to_string(covered) + ", " +
                      std::to_string(e->begin) + ") before tensor '" + e->name + "' belong to no tensor");
    }
    covered = e->end;
    if (e->end > e->begin) prev = e;
  }
  if (covered != buffer_bytes) {
    throw UserError(path + ": data is not contiguous: bytes [" + std::to_string(covered) + ", " +
                    std::to_string(buffer_bytes) + ") at the end belong to no tensor");
  }

  for (const Entry& e : entries) {
    torch::Tensor t = torch::empty(e.shape, torch::TensorOptions().dtype(e.dtype->type));
    in.seekg(8 + n + e.begin, std::ios::beg);
    in.read(static_cast<char*>(t.data_ptr()), e.end - e.begin);
    if (!in) throw UserError(path + ": tensor '" + e.name + "': cannot read its data");
    if (e.dtype->type == torch::kBool && t.numel() > 0 && t.view(torch::kByte).gt(1).any().item<bool>()) {
      throw UserError(path + ": tensor '" + e.name + "': BOOL data holds bytes other than 0 and 1");
    }
    out.tensors.emplace(e.name, std::move(t));
  }
  return out;
}

int64_t safetensors_nbytes(const torch::Tensor& t, c10::optional<torch::ScalarType> dtype) {
  torch::ScalarType st = t.scalar_type();
  if (dtype && t.is_floating_point()) st = *dtype;
  return t.numel() * static_cast<int64_t>(c10::elementSize(st));
}

void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata, c10::optional<torch::ScalarType> dtype) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> data;
  int64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name.empty() || name == "__metadata__") throw UserError(path + ": invalid tensor name '" + name + "'");
    if (header.contains(name)) throw UserError(path + ": duplicate tensor name '" + name + "'");
    if (!tensor.defined()) throw UserError(path + ": tensor '" + name + "' is undefined");
    torch::Tensor t = prepared_for_write(tensor, dtype);
    const DtypeInfo& d = dtype_by_type(t.scalar_type(), path + ": tensor '" + name + "'");
    const int64_t bytes = t.numel() * d.bytes;
    header[name] = {{"dtype", d.name}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(std::move(t));
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the reference writer aligns the buffer to 8 bytes
  unsigned char size_bytes[8];
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) size_bytes[i] = static_cast<unsigned char>((n >> (8 * i)) & 0xff);

  AtomicFile file(path);
  file.write(size_bytes, 8);
  file.write(text.data(), text.size());
  for (const torch::Tensor& t : data) {
    if (t.numel() > 0) file.write(t.data_ptr(), static_cast<size_t>(t.numel() * t.element_size()));
  }
  file.commit();
}

std::map<std::string, torch::Tensor> read_safetensors_checkpoint(const std::string& dir) {
  const std::string single = (fs::path(dir) / kSafetensorsFile).string();
  const std::string index_path = (fs::path(dir) / kSafetensorsIndexFile).string();
  if (fs::exists(single)) return read_safetensors(single).tensors;
  if (!fs::exists(index_path)) {
    throw UserError(dir + ": no " + std::string(kSafetensorsFile) + " or " + kSafetensorsIndexFile + " found");
  }
  json index;
  try {
    index = json::parse(core::read_file(index_path));
  } catch (const json::parse_error& e) {
    throw UserError(index_path + ": invalid JSON: " + e.what());
  }
  if (!index.is_object() || !index.contains("weight_map") || !index.at("weight_map").is_object()) {
    throw UserError(index_path + ": needs an object 'weight_map' {tensor name: shard file}");
  }
  const json& weight_map = index.at("weight_map");
  std::map<std::string, std::string> shard_of;  // tensor -> shard file
  std::set<std::string> shards;
  for (auto it = weight_map.begin(); it != weight_map.end(); ++it) {
    if (!it.value().is_string() || !is_plain_file_name(it.value().get<std::string>())) {
      throw UserError(index_path + ": weight_map entry '" + it.key() + "' must name a file in the same directory, got " +
                      it.value().dump());
    }
    shard_of[it.key()] = it.value().get<std::string>();
    shards.insert(it.value().get<std::string>());
  }
  std::map<std::string, torch::Tensor> out;
  for (const std::string& shard : shards) {
    const std::string shard_path = (fs::path(dir) / shard).string();
    for (auto& [name, tensor] : read_safetensors(shard_path).tensors) {
      auto it = shard_of.find(name);
      if (it == shard_of.end() || it->second != shard) {
        throw UserError(shard_path + ": tensor '" + name + "' is not listed for this shard in " + index_path);
      }
      out.emplace(name, std::move(tensor));
    }
  }
  for (const auto& [name, shard] : shard_of) {
    if (!out.count(name)) throw UserError(index_path + ": tensor '" + name + "' is missing from shard '" + shard + "'");
  }
  return out;
}

void write_safetensors_checkpoint(const std::string& dir, const NamedTensors& tensors, int64_t max_shard_bytes,
                                  c10::optional<torch::ScalarType> dtype) {
  const std::map<std::string, std::string> meta{{"format", "pt"}};
  int64_t total = 0;
  std::vector<std::vector<size_t>> groups(1);
  int64_t group_bytes = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const int64_t b = safetensors_nbytes(tensors[i].second, dtype);
    total += b;
    if (max_shard_bytes > 0 && !groups.back().empty() && group_bytes + b > max_shard_bytes) {
      groups.emplace_back();
      group_bytes = 0;
    }
    groups.back().push_back(i);
    group_bytes += b;
  }
  const fs::path d(dir);
  // Shard files of this writer's naming scheme; those not rewritten now are stale afterwards.
  auto existing_shards = [&] {
    std::set<std::string> found;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(d, ec)) {
      const std::string f = entry.path().filename().string();
      if (f.rfind("model-", 0) == 0 && f.find("-of-") != std::string::npos &&
          f.size() > 12 && f.compare(f.size() - 12, 12, ".safetensors") == 0) {
        found.insert(f);
      }
    }
    return found;
  };
  std::set<std::string> written;
  if (groups.size() == 1) {
    write_safetensors((d / kSafetensorsFile).string(), tensors, meta, dtype);
    std::error_code ec;
    fs::remove(d / kSafetensorsIndexFile, ec);
  } else {
    json weight_map = json::object();
    char name[64];
    for (size_t g = 0; g < groups.size(); ++g) {
      std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", g + 1, groups.size());
      NamedTensors part;
      for (size_t i : groups[g]) {
        part.push_back(tensors[i]);
        weight_map[tensors[i].first] = name;
      }
      write_safetensors((d / name).string(), part, meta, dtype);
      written.insert(name);
    }
    const json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
    core::atomic_write_file((d / kSafetensorsIndexFile).string(), index.dump(2) + "\n");
    // A leftover single file would shadow the index (readers try it first).
    std::error_code ec;
    fs::remove(d / kSafetensorsFile, ec);
  }
  for (const std::string& f : existing_shards()) {
    if (!written.count(f)) {
      std::error_code ec;
      fs::remove(d / f, ec);
    }
  }
}

}  // namespace rlpp::nn::lm
